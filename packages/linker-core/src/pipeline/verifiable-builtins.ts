/**
 * Stage (part of link): memory builtins the kernel's verifier can follow.
 *
 * Rust's compiler_builtins defines memcpy, memmove, memset, memcmp and bcmp (weak), and LLVM's
 * BPF backend calls them for copies and fills it does not expand inline (memmove and memset
 * always with --bpf-expand-memcpy-in-order, large memcpy too). Their loops end by comparing
 * pointers (`while dst < end`), which the verifier cannot decide, so it follows them past the
 * buffer and rejects the program (`invalid access to map value, off=-1`); on a stack buffer it
 * stops earlier (`R2 subtraction from stack pointer prohibited`). No loader can load such a
 * program, whatever its BTF.
 *
 * Those weak definitions are replaced by byte loops counted by an index, which the verifier
 * follows for a length it knows (the usual case: a copy of a struct or an array) in the
 * caller's context, on stack, map value and packet pointers alike. They carry `no-builtins`, so
 * the optimizer cannot turn a loop back into a call to itself. A definition that is not weak (a
 * user's own memcpy in C or Rust) is left alone.
 *
 * memcpy, memmove and memset return their destination, but the verifier refuses a function that
 * returns a stack pointer (`cannot return stack pointer to the caller`). The calls the backend
 * emits never use the result, so the replacement returns null; calls in the IR that use the result
 * are pointed at an internal variant that returns the destination, as the C functions do (and
 * if the function's address is taken, it returns the destination itself).
 */
import type { Logger } from '../log';
import type { LlvmContext } from '../llvm/context';
import { LinkError } from '../errors';
import { parseIrText } from '../llvm/module';
import { Linkage, type ModuleRef, type ValueRef } from '../llvm/types';

const REPLACEABLE_LINKAGES: ReadonlySet<number> = new Set([Linkage.WeakAny, Linkage.WeakODR, Linkage.LinkOnceAny, Linkage.LinkOnceODR]);
const RETURNS_DESTINATION = new Set(['memcpy', 'memmove', 'memset']);

/** Replaces the weak memory builtins the module defines; returns their names. */
export function useVerifiableBuiltins(ctx: LlvmContext, m: ModuleRef, logger: Logger): string[] {
  const { api } = ctx.lib;
  const replace: Replacement[] = [];
  for (const name of Object.keys(BODIES)) {
    const f = api.LLVMGetNamedFunction(m, name);
    if (f === null || api.LLVMIsDeclaration(f) || !REPLACEABLE_LINKAGES.has(api.LLVMGetLinkage(f))) continue;
    // Its address taken (stored, passed on): a call through it may use the result.
    replace.push({ name, returnsDestination: RETURNS_DESTINATION.has(name) && usedOtherThanCalled(ctx, f) });
  }
  if (replace.length === 0) return [];
  // Calls that use the result go to a variant that returns the destination: declared here and
  // the calls pointed at it before linking (the linker copies only what the module refers to),
  // made internal afterwards (deleted with the other dead functions when unused).
  const variants: string[] = [];
  for (const r of replace) {
    if (!RETURNS_DESTINATION.has(r.name) || r.returnsDestination) continue;
    const f = api.LLVMGetNamedFunction(m, r.name)!;
    const calls = callsUsingResult(ctx, f);
    if (calls.length === 0) continue;
    const variant = api.LLVMAddFunction(m, returningName(r.name), api.LLVMGlobalGetValueType(f));
    for (const call of calls) api.LLVMSetOperand(call, api.LLVMGetNumOperands(call) - 1, variant);
    r.variant = true;
    variants.push(returningName(r.name));
  }
  const layout = { dataLayout: api.LLVMGetDataLayoutStr(m), triple: api.LLVMGetTarget(m) };
  const src = parseIrText(ctx, Buffer.from(builtinsIr(replace, layout)), 'in_memory::verifiable-builtins.ll');
  // A strong definition replaces a weak one; LLVMLinkModules2 consumes src.
  const mark = ctx.diagnostics.length;
  if (api.LLVMLinkModules2(m, src) !== 0) {
    const said = ctx.since(mark).filter((d) => d.level === 'error').map((d) => d.message.trimEnd());
    throw new LinkError('LINK_FAILED', `replacing the memory builtins (${replace.map((r) => r.name).join(', ')}) failed: ${said.join('; ') || 'unknown error'}`, {
      hint: '--disable-memory-builtins keeps the definitions the inputs have',
    });
  }
  for (const name of variants) {
    const v = api.LLVMGetNamedFunction(m, name);
    if (v !== null) api.LLVMSetLinkage(v, Linkage.Internal);
  }
  const names = replace.map((r) => r.name);
  logger.debug(`memory builtins replaced by loops the verifier can follow: ${names.join(', ')}`);
  return names;
}

interface Replacement {
  name: string;
  /** Return the destination from the function itself (else null). */
  returnsDestination: boolean;
  /** Also define the variant that returns the destination, for the calls that use it. */
  variant?: boolean;
}

/** An identifier: BTF names (and so the kernel) allow no dots. */
const returningName = (name: string) => `bpf_linker_${name}_returning`;

function* uses(ctx: LlvmContext, v: ValueRef): Generator<ValueRef> {
  const { api } = ctx.lib;
  for (let use = api.LLVMGetFirstUse(v); use !== null; use = api.LLVMGetNextUse(use)) yield api.LLVMGetUser(use);
}

/** A direct call to `f`: a call instruction whose callee (its last operand) is `f`. */
function isCallOf(ctx: LlvmContext, user: ValueRef, f: ValueRef): boolean {
  const { api } = ctx.lib;
  return api.LLVMIsACallInst(user) !== null && api.LLVMGetOperand(user, api.LLVMGetNumOperands(user) - 1) === f;
}

function usedOtherThanCalled(ctx: LlvmContext, f: ValueRef): boolean {
  for (const user of uses(ctx, f)) if (!isCallOf(ctx, user, f)) return true;
  return false;
}

function callsUsingResult(ctx: LlvmContext, f: ValueRef): ValueRef[] {
  return [...uses(ctx, f)].filter((user) => isCallOf(ctx, user, f) && ctx.lib.api.LLVMGetFirstUse(user) !== null);
}

/**
 * The forward byte copy, `d[i] = s[i]` for i from 0 to n - 1, as block `label` entered from
 * `from` with n > 0; it branches to %done.
 */
function copyUp(label: string, from: string): string {
  return `${label}:
  %i = phi i64 [ 0, %${from} ], [ %next, %${label} ]
  %sp = getelementptr inbounds i8, ptr %s, i64 %i
  %b = load i8, ptr %sp, align 1
  %dp = getelementptr inbounds i8, ptr %d, i64 %i
  store i8 %b, ptr %dp, align 1
  %next = add nuw i64 %i, 1
  %more = icmp ult i64 %next, %n
  br i1 %more, label %${label}, label %done`;
}

/** Each body as IR, `%ret` being what memcpy/memmove/memset return (the destination or null). */
const BODIES: Record<string, { signature: string; body: string }> = {
  memcpy: {
    signature: 'ptr @memcpy(ptr %d, ptr %s, i64 %n)',
    body: `entry:
  %empty = icmp eq i64 %n, 0
  br i1 %empty, label %done, label %loop
${copyUp('loop', 'entry')}
done:
  ret ptr %ret`,
  },
  memmove: {
    signature: 'ptr @memmove(ptr %d, ptr %s, i64 %n)',
    // Upwards when the destination is below the source, else downwards, so no byte is
    // overwritten before it is read.
    body: `entry:
  %empty = icmp eq i64 %n, 0
  br i1 %empty, label %done, label %direction
direction:
  %forward = icmp ule ptr %d, %s
  br i1 %forward, label %up, label %down
${copyUp('up', 'direction')}
down:
  %j = phi i64 [ %n, %direction ], [ %jnext, %down ]
  %jnext = add i64 %j, -1
  %sq = getelementptr inbounds i8, ptr %s, i64 %jnext
  %c = load i8, ptr %sq, align 1
  %dq = getelementptr inbounds i8, ptr %d, i64 %jnext
  store i8 %c, ptr %dq, align 1
  %dmore = icmp ne i64 %jnext, 0
  br i1 %dmore, label %down, label %done
done:
  ret ptr %ret`,
  },
  memset: {
    signature: 'ptr @memset(ptr %d, i32 %c, i64 %n)',
    body: `entry:
  %byte = trunc i32 %c to i8
  %empty = icmp eq i64 %n, 0
  br i1 %empty, label %done, label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %next, %loop ]
  %dp = getelementptr inbounds i8, ptr %d, i64 %i
  store i8 %byte, ptr %dp, align 1
  %next = add nuw i64 %i, 1
  %more = icmp ult i64 %next, %n
  br i1 %more, label %loop, label %done
done:
  ret ptr %ret`,
  },
  memcmp: { signature: 'i32 @memcmp(ptr %a, ptr %b, i64 %n)', body: compareBody() },
  bcmp: { signature: 'i32 @bcmp(ptr %a, ptr %b, i64 %n)', body: compareBody() },
};

/** memcmp and bcmp: the difference of the first unequal bytes (as unsigned), else 0. */
function compareBody(): string {
  return `entry:
  %empty = icmp eq i64 %n, 0
  br i1 %empty, label %equal, label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %next, %same ]
  %ap = getelementptr inbounds i8, ptr %a, i64 %i
  %x = load i8, ptr %ap, align 1
  %bp = getelementptr inbounds i8, ptr %b, i64 %i
  %y = load i8, ptr %bp, align 1
  %eq = icmp eq i8 %x, %y
  br i1 %eq, label %same, label %differ
same:
  %next = add nuw i64 %i, 1
  %more = icmp ult i64 %next, %n
  br i1 %more, label %loop, label %equal
differ:
  %xw = zext i8 %x to i32
  %yw = zext i8 %y to i32
  %diff = sub nsw i32 %xw, %yw
  ret i32 %diff
equal:
  ret i32 0`;
}

/**
 * A module with the requested bodies, each with a subprogram (so BTF has a FUNC for it, which
 * libbpf needs for every function of a program), in a compile unit of its own.
 */
function builtinsIr(replace: Replacement[], layout: { dataLayout: string; triple: string }): string {
  const lines: string[] = [
    "; ModuleID = 'bpf-linker verifiable memory builtins'",
    `target datalayout = "${layout.dataLayout}"`,
    ...(layout.triple ? [`target triple = "${layout.triple}"`] : []),
    '',
  ];
  const metadata: string[] = [
    '!llvm.dbg.cu = !{!0}',
    '!llvm.module.flags = !{!2}',
    '!0 = distinct !DICompileUnit(language: DW_LANG_C99, file: !1, producer: "bpf-linker", isOptimized: true, runtimeVersion: 0, emissionKind: FullDebug)',
    '!1 = !DIFile(filename: "memory-builtins.c", directory: "/bpf-linker")',
    '!2 = !{i32 2, !"Debug Info Version", i32 3}',
    // Rust's names: BTF names from Rust links are identifiers (no `unsigned long`).
    '!3 = !DIBasicType(name: "usize", size: 64, encoding: DW_ATE_unsigned)',
    '!4 = !DIDerivedType(tag: DW_TAG_pointer_type, baseType: null, size: 64)',
    '!5 = !DIBasicType(name: "i32", size: 32, encoding: DW_ATE_signed)',
    '!6 = !DISubroutineType(types: !{!4, !4, !4, !3})',
    '!7 = !DISubroutineType(types: !{!4, !4, !5, !3})',
    '!8 = !DISubroutineType(types: !{!5, !4, !4, !3})',
  ];
  const functions = replace.flatMap((r) => [
    { name: r.name, symbol: r.name, returnsDestination: r.returnsDestination },
    ...(r.variant ? [{ name: r.name, symbol: returningName(r.name), returnsDestination: true }] : []),
  ]);
  functions.forEach(({ name, symbol, returnsDestination }, i) => {
    const { body } = BODIES[name];
    const signature = BODIES[name].signature.replace(`@${name}(`, `@${symbol}(`);
    // Five nodes each: the subprogram, its parameter list and its three parameters (the kernel
    // wants every parameter of a FUNC named, and BTF takes the names from them).
    const id = 10 + i * 5;
    const line = i + 1;
    const type = name === 'memset' ? '!7' : RETURNS_DESTINATION.has(name) ? '!6' : '!8';
    const params = [...signature.matchAll(/(ptr|i32|i64) %(\w+)/g)].map((p) => [p[2], p[1] === 'ptr' ? '!4' : p[1] === 'i32' ? '!5' : '!3']);
    lines.push(`define ${signature} #0 !dbg !${id} {`, body.replaceAll('%ret', returnsDestination ? '%d' : 'null'), '}', '');
    metadata.push(
      `!${id} = distinct !DISubprogram(name: "${symbol}", scope: !1, file: !1, line: ${line}, type: ${type}, scopeLine: ${line}, flags: DIFlagPrototyped, spFlags: ${symbol === name ? '' : 'DISPFlagLocalToUnit | '}DISPFlagDefinition | DISPFlagOptimized, unit: !0, retainedNodes: !${id + 1})`,
      `!${id + 1} = !{${params.map((_, k) => `!${id + 2 + k}`).join(', ')}}`,
      ...params.map(([pname, ptype], k) => `!${id + 2 + k} = !DILocalVariable(name: "${pname}", arg: ${k + 1}, scope: !${id}, file: !1, line: ${line}, type: ${ptype})`),
    );
  });
  lines.push('attributes #0 = { nounwind "no-builtins" }', '', ...metadata, '');
  return lines.join('\n');
}
