/**
 * Stage (Rust): accesses to kernel structs become CO-RE accesses, so one object reads the right
 * fields on every kernel.
 *
 * clang marks kernel types `preserve_access_index`, and every member access on them becomes an
 * `llvm.preserve.{struct,union,array}.access.index` call that LLVM's BPF backend turns into a
 * `.BTF.ext` relocation. rustc has no such attribute: it emits `getelementptr i8, ptr %task,
 * i64 1264`, the byte offset of the field in the kernel its bindings came from. This stage finds
 * what those pointers point to in the debug info (the variables and parameters they are bound
 * to), maps each constant byte offset to a member path through the struct's DICompositeType
 * layout, and replaces the address computation by the calls clang would have emitted for the
 * same path. The optimizer's pipeline-start BPF passes then handle them exactly as for C.
 *
 * Which types: structs and unions whose name (and kind) exist in the target kernel BTF, and
 * those named with --core-types. An access whose member path the target BTF cannot satisfy is
 * left as it is (a relocation libbpf cannot resolve would make the program fail to load), and so
 * is one that cannot be mapped unambiguously; both are reported, and --core-strict makes them
 * errors. Memory the program owns (its stack, its globals and maps) is never relocated. Only
 * functions of Rust compile units are touched: C objects stay byte-identical.
 */
import { LinkError } from '../errors';
import { existsSync } from 'node:fs';
import type { AccessShape, AccessStep } from '../btf/kernel-btf';
import { essentialName, missingCoreBtf, readKernelBtf } from '../btf/kernel-btf';
import { CORE_AUTO_BTF, type LinkOptions } from '../options';
import type { Logger } from '../log';
import type { LlvmContext } from '../llvm/context';
import { DebugInfo, liveDefinitions, rustCompileUnits } from '../llvm/debug-info';
import { debugVariables } from '../llvm/debug-variables';
import { DiTypes, type DiArray, type DiComposite, type DiMember, type DiType } from '../llvm/di-types';
import { basicBlocks, functions, instructions, isDeclaration, valueName } from '../llvm/module';
import type { BuilderRef, ModuleRef, TypeRef, ValueRef } from '../llvm/types';

export interface CoreSettings {
  /** The kernel BTF that decides which types are relocatable and which accesses can be relocated; read only when the inputs are Rust. */
  btfPath?: string;
  /** Types relocatable by name (--core-types), checked against `btf` where it has them. */
  types: readonly string[];
  /** An access that cannot be rewritten is an error (--core-strict). */
  strict: boolean;
}

/** One access made relocatable. */
export interface CoreAccess {
  function: string;
  line?: number;
  /** `task_struct.pid`, `pid.numbers[0].nr` */
  path: string;
  /** The access string .BTF.ext will carry, e.g. `0:1:0:0`. */
  access: string;
}

/** One access to a relocatable type left as it was, and why. */
export interface CoreSkippedAccess {
  function: string;
  line?: number;
  type: string;
  /** Byte offset from the start of `type`. */
  offset: number;
  reason: string;
}

export interface CoreReport {
  /** The target BTF used (--core-btf, or the running kernel's with --core=auto). */
  btf?: string;
  types: string[];
  rewritten: CoreAccess[];
  skipped: CoreSkippedAccess[];
}

/** bpf_probe_read (4), bpf_probe_read_str (45), bpf_probe_read_kernel (113) and its _str (115): reads of kernel memory by address. */
const KERNEL_READ_HELPERS: ReadonlySet<number> = new Set([4, 45, 113, 115]);
/** LLVMOpcode IntToPtr (llvm-c/Core.h). */
const OPCODE_INT_TO_PTR = 40;
/** LLVMTypeKind (llvm-c/Core.h). */
const TypeKind = { Half: 1, Float: 2, Double: 3, Integer: 8, Pointer: 12 } as const;
const BINDGEN_ANON_MEMBER = /^__bindgen_anon_\d+$/;

/** What the use of an address says about the member it addresses. */
interface AccessHint {
  /** Types the debug info gives the pointer (`src: *const T`). */
  types: DiType[];
  /** Bytes read or written through it. */
  bytes?: number;
}

type Step = { kind: 'struct'; type: DiComposite; member: DiMember } | { kind: 'union'; type: DiComposite; member: DiMember } | { kind: 'array'; type: DiArray; index: number };

export function rewriteCoreAccesses(ctx: LlvmContext, m: ModuleRef, settings: CoreSettings, logger: Logger): CoreReport {
  const report: CoreReport = { btf: settings.btfPath, types: [...settings.types], rewritten: [], skipped: [] };
  const lib = ctx.lib;
  const { api } = lib;
  const rust = rustCompileUnits(lib, m);
  if (rust.size === 0) {
    logger.debug('CO-RE: no Rust compile unit, nothing to rewrite');
    return report;
  }
  const btf = settings.btfPath !== undefined ? readKernelBtf(settings.btfPath) : undefined;

  const di = new DebugInfo(lib, ctx);
  const types = new DiTypes(di);
  const named = new Set(settings.types.map(essentialName));
  const relocatable = (t: DiComposite) => t.name !== '' && (named.has(essentialName(t.name)) || btf?.has(t.kind, t.name) === true);
  const live = liveDefinitions(lib, m, new Set());
  const variables = debugVariables(lib, di, m);
  const rewriter = new AccessRewriter(ctx, m);
  try {
    for (const f of functions(lib, m)) {
      if (isDeclaration(lib, f) || !live.has(f as bigint)) continue;
      const sp = api.LLVMGetSubprogram(f);
      if (sp === null || !rust.has(di.operands(di.asValue(sp))[di.layout.subprogram.unit])) continue;
      const fname = di.stringOperand(di.asValue(sp), di.layout.subprogram.name) || valueName(lib, f);
      rewriteFunction(f, fname);
    }
  } finally {
    variables.close();
    rewriter.dispose();
  }

  function rewriteFunction(f: ValueRef, fname: string): void {
    // What each pointer points to, from the variables bound to it.
    const claimed = new Map<bigint, DiType[]>();
    for (const loc of variables.of(f)) {
      if (loc.declare || !loc.plain) continue;
      const t = types.variableType(loc.variable);
      if (t?.kind !== 'pointer') continue;
      const p = t.pointee();
      if (!p) continue;
      const list = claimed.get(loc.value as bigint);
      if (list) {
        if (!list.some((x) => x.md === p.md)) list.push(p);
      } else claimed.set(loc.value as bigint, [p]);
    }
    const pointee = new Map<bigint, DiComposite>();
    for (const [v, list] of claimed) {
      const composites = list.filter((t): t is DiComposite => t.kind === 'struct' || t.kind === 'union');
      if (composites.length === 1) pointee.set(v, composites[0]);
    }
    /** Member types of the addresses rewritten here: a pointer loaded from one points to its pointee. */
    const memberType = new Map<bigint, DiType>();

    const skip = (inst: ValueRef, type: DiComposite, offset: number, reason: string) => {
      const s: CoreSkippedAccess = { function: fname, line: lineOf(inst), type: type.name, offset, reason };
      report.skipped.push(s);
      logger.info(`CO-RE: ${where(s)}: ${type.kind} ${type.name} + ${offset} left as it is: ${reason}`);
    };

    /** Rewrites `base + offset` used by `inst`; returns the new address, or undefined when left alone. */
    const relocate = (inst: ValueRef, base: ValueRef, type: DiComposite, offset: number, hint: AccessHint): { address: ValueRef; member: DiType } | undefined => {
      if (isLocalMemory(base)) return undefined;
      const mapped = mapAccess(type, offset, hint);
      if ('reason' in mapped) {
        skip(inst, type, offset, mapped.reason);
        return undefined;
      }
      const steps = mapped.steps;
      const path = describePath(type, steps);
      const why = btf?.whyNot(type.kind, type.name, targetSteps(steps));
      // A type named with --core-types that the BTF does not have is relocated unchecked.
      if (why !== undefined && btf?.has(type.kind, type.name)) {
        skip(inst, type, offset, `not in ${btf.path}: ${why}`);
        return undefined;
      }
      for (const s of steps) if (s.kind !== 'array' && BINDGEN_ANON_MEMBER.test(s.member.name)) rewriter.makeAnonymous(di, s.member);
      const address = rewriter.build(inst, base, steps);
      if (address === undefined) {
        skip(inst, type, offset, `${path}: the struct's layout has overlapping members`);
        return undefined;
      }
      const access = ['0', ...steps.map((s) => (s.kind === 'array' ? s.index : s.member.index))].join(':');
      report.rewritten.push({ function: fname, line: lineOf(inst), path, access });
      logger.debug(`CO-RE: ${fname}: ${path} (${access})`);
      const last = steps[steps.length - 1];
      return { address, member: last.kind === 'array' ? last.type.element() : last.member.type() };
    };

    const typedBase = (v: ValueRef | null): DiComposite | undefined => {
      if (v === null) return undefined;
      const t = pointee.get(v as bigint);
      return t && relocatable(t) ? t : undefined;
    };

    const gone: ValueRef[] = [];
    for (const b of basicBlocks(lib, f)) {
      for (const inst of instructions(lib, b)) {
        if (api.LLVMIsAGetElementPtrInst(inst) !== null) {
          const base = api.LLVMGetOperand(inst, 0);
          const type = typedBase(base);
          if (!type || base === null) continue;
          const offset = constantByteOffset(inst);
          if (offset === undefined) {
            skip(inst, type, -1, 'the address is not a constant offset from the struct (a variable index or a typed getelementptr)');
            continue;
          }
          const done = relocate(inst, base, type, offset, hintFor(inst, claimed));
          if (!done) continue;
          api.LLVMReplaceAllUsesWith(inst, done.address);
          gone.push(inst);
          note(done.address, done.member);
        } else if (api.LLVMIsALoadInst(inst) !== null) {
          const ptr = api.LLVMGetOperand(inst, 0);
          const loaded = ptr !== null ? memberType.get(ptr as bigint) : undefined;
          if (loaded?.kind === 'pointer') {
            const p = loaded.pointee();
            if (p && (p.kind === 'struct' || p.kind === 'union')) pointee.set(inst as bigint, p);
          }
          offsetZero(inst, 0, { types: [], bytes: storeSize(api.LLVMTypeOf(inst)) });
        } else if (api.LLVMIsAStoreInst(inst) !== null) {
          const value = api.LLVMGetOperand(inst, 0);
          offsetZero(inst, 1, { types: [], bytes: value ? storeSize(api.LLVMTypeOf(value)) : undefined });
        } else if (api.LLVMIsACallInst(inst) !== null && kernelReadHelper(inst)) {
          const size = api.LLVMGetOperand(inst, 1);
          const bytes = size !== null && api.LLVMIsAConstantInt(size) !== null ? Number(api.LLVMConstIntGetSExtValue(size)) : undefined;
          offsetZero(inst, 2, { types: [], bytes });
        }
      }
    }
    for (const g of gone) api.LLVMInstructionEraseFromParent(g);

    function note(address: ValueRef, member: DiType): void {
      memberType.set(address as bigint, member);
      if (member.kind === 'struct' || member.kind === 'union') pointee.set(address as bigint, member);
    }

    /** An access at offset 0 has no getelementptr: the struct pointer itself is the member's address. */
    function offsetZero(inst: ValueRef, operand: number, hint: AccessHint): void {
      const base = api.LLVMGetOperand(inst, operand);
      const type = typedBase(base);
      if (!type || base === null || hint.bytes === undefined || hint.bytes * 8 >= type.bits) return;
      const done = relocate(inst, base, type, 0, hint);
      if (done) api.LLVMSetOperand(inst, operand, done.address);
    }
  }

  /** The source line, in the function the user wrote (code inlined into it reports the call's line). */
  function lineOf(inst: ValueRef): number | undefined {
    let loc = api.LLVMInstructionGetDebugLoc(inst);
    if (loc === null) return undefined;
    for (let outer = api.LLVMDILocationGetInlinedAt(loc); outer !== null; outer = api.LLVMDILocationGetInlinedAt(outer)) loc = outer;
    return api.LLVMDILocationGetLine(loc);
  }

  /** A stack slot or a global (and addresses computed from them): the program's own memory. */
  function isLocalMemory(v: ValueRef): boolean {
    for (let n = 0; n < 64; n++) {
      if (api.LLVMIsAAllocaInst(v) !== null || api.LLVMIsAGlobalValue(v) !== null) return true;
      if (api.LLVMIsAGetElementPtrInst(v) === null) return false;
      const base = api.LLVMGetOperand(v, 0);
      if (base === null) return false;
      v = base;
    }
    return false;
  }

  /** `getelementptr i8, ptr %p, i64 C` (rustc's form): C. */
  function constantByteOffset(gep: ValueRef): number | undefined {
    if (api.LLVMGetNumOperands(gep) !== 2) return undefined;
    const source = api.LLVMGetGEPSourceElementType(gep);
    if (api.LLVMGetTypeKind(source) !== TypeKind.Integer || api.LLVMGetIntTypeWidth(source) !== 8) return undefined;
    const index = api.LLVMGetOperand(gep, 1);
    if (index === null || api.LLVMIsAConstantInt(index) === null) return undefined;
    const offset = Number(api.LLVMConstIntGetSExtValue(index));
    return offset >= 0 ? offset : undefined;
  }

  function hintFor(address: ValueRef, claimed: ReadonlyMap<bigint, DiType[]>): AccessHint {
    const hint: AccessHint = { types: claimed.get(address as bigint) ?? [] };
    for (let u = api.LLVMGetFirstUse(address); u !== null; u = api.LLVMGetNextUse(u)) {
      const user = api.LLVMGetUser(u);
      let bytes: number | undefined;
      if (api.LLVMIsALoadInst(user) !== null) bytes = storeSize(api.LLVMTypeOf(user));
      else if (api.LLVMIsAStoreInst(user) !== null && api.LLVMGetOperand(user, 1) === address) {
        const value = api.LLVMGetOperand(user, 0);
        bytes = value ? storeSize(api.LLVMTypeOf(value)) : undefined;
      } else if (api.LLVMIsACallInst(user) !== null && kernelReadHelper(user) && api.LLVMGetOperand(user, 2) === address) {
        const size = api.LLVMGetOperand(user, 1);
        if (size !== null && api.LLVMIsAConstantInt(size) !== null) bytes = Number(api.LLVMConstIntGetSExtValue(size));
      }
      if (bytes === undefined) continue;
      // Two different sizes: no size tells which member is meant.
      if (hint.bytes !== undefined && hint.bytes !== bytes) return { types: hint.types };
      hint.bytes = bytes;
    }
    return hint;
  }

  function kernelReadHelper(call: ValueRef): boolean {
    const callee = api.LLVMGetCalledValue(call);
    if (callee === null || api.LLVMIsAConstantExpr(callee) === null || api.LLVMGetConstOpcode(callee) !== OPCODE_INT_TO_PTR) return false;
    const id = api.LLVMGetOperand(callee, 0);
    return id !== null && api.LLVMIsAConstantInt(id) !== null && KERNEL_READ_HELPERS.has(Number(api.LLVMConstIntGetSExtValue(id)));
  }

  function storeSize(t: TypeRef): number | undefined {
    switch (api.LLVMGetTypeKind(t)) {
      case TypeKind.Integer: {
        const bits = api.LLVMGetIntTypeWidth(t);
        return bits % 8 === 0 ? bits / 8 : undefined;
      }
      case TypeKind.Pointer:
        return 8;
      case TypeKind.Half:
        return 2;
      case TypeKind.Float:
        return 4;
      case TypeKind.Double:
        return 8;
      default:
        return undefined;
    }
  }

  if (settings.strict && report.skipped.length > 0) {
    const list = report.skipped.slice(0, 10).map((s) => `  ${where(s)}: ${s.type} + ${s.offset}: ${s.reason}`);
    if (report.skipped.length > 10) list.push(`  and ${report.skipped.length - 10} more`);
    throw new LinkError('CORE_ACCESS_UNRELOCATED', `${report.skipped.length} access${report.skipped.length === 1 ? '' : 'es'} to kernel types could not be made CO-RE relocatable (--core-strict):\n${list.join('\n')}`, {
      hint: 'read the field through a variable of the struct pointer type (so the debug info says what it points to), or drop --core-strict to keep such accesses as they are',
    });
  }
  return report;
}

/**
 * What the options ask the CO-RE stage to do, checked before any work; undefined when it is off.
 * `--core=auto` takes the running kernel's BTF when there is one.
 */
export function coreSettings(options: LinkOptions, logger: Logger, autoBtf = CORE_AUTO_BTF): CoreSettings | undefined {
  const types = options.coreTypes ?? [];
  if (options.core === 'off' && (options.coreBtf !== undefined || types.length > 0)) {
    throw new LinkError('INVALID_ARGUMENT', `--core=off contradicts ${options.coreBtf !== undefined ? '--core-btf' : '--core-types'}`, {
      hint: 'drop --core=off to relocate kernel-struct accesses, or drop the CO-RE options',
    });
  }
  let btfPath = options.coreBtf;
  if (btfPath === undefined && options.core === 'auto') {
    if (existsSync(autoBtf)) btfPath = autoBtf;
    else logger.info(`CO-RE: --core=auto and no ${autoBtf}: no type is relocatable unless --core-types names it`);
  }
  if (btfPath === undefined && types.length === 0) return undefined;
  if (!options.btf) {
    throw new LinkError('INVALID_ARGUMENT', `CO-RE relocations (${options.coreBtf !== undefined ? '--core-btf' : options.core === 'auto' ? '--core=auto' : '--core-types'}) are written into .BTF.ext, which needs --btf`, {
      hint: 'add --btf (rustc: -C link-arg=--btf) and build with debug info (-C debuginfo=2)',
    });
  }
  if (options.coreBtf !== undefined && !existsSync(options.coreBtf)) throw missingCoreBtf(options.coreBtf);
  return { btfPath, types, strict: options.coreStrict === true };
}

function where(s: { function: string; line?: number }): string {
  return s.line ? `${s.function} (line ${s.line})` : s.function;
}

/**
 * The member path at `offset` bytes into `root`. At each level the member containing the offset
 * is entered; at a member's start the path stops where the access's own type says (a variable
 * of type `*const kuid_t` stops at `uid`, not `uid.val`), else at the innermost member. A union
 * member is chosen by the access's type or size when several contain the offset.
 */
export function mapAccess(root: DiComposite, offset: number, hint: AccessHint): { steps: Step[] } | { reason: string } {
  const steps: Step[] = [];
  let cur: DiType = root;
  let off = offset;
  for (let depth = 0; depth < 64; depth++) {
    if (off === 0 && steps.length > 0 && stopsHere(cur, hint)) return { steps };
    if (cur.kind === 'struct') {
      const inside: DiMember[] = cur.members().filter((m) => containsOffset(m, off));
      const member: DiMember | undefined = inside.find((m) => m.bits > 0) ?? inside[0];
      if (!member) return { reason: `no member of ${cur.name || 'an anonymous struct'} contains offset ${off}` };
      if (member.bitField) return { reason: `${member.name} is a bitfield (not relocated)` };
      steps.push({ kind: 'struct', type: cur, member });
      off -= member.offsetBits / 8;
      cur = member.type();
    } else if (cur.kind === 'union') {
      const inside: DiMember[] = cur.members().filter((m) => !m.bitField && containsOffset(m, off));
      let member: DiMember | undefined;
      if (inside.length === 1) member = inside[0];
      else if (off === 0 && steps.length > 0 && hint.types.length === 0 && hint.bytes === undefined) return { steps };
      else member = chooseUnionMember(inside, off, hint);
      if (!member) return { reason: `ambiguous: ${inside.length} members of union ${cur.name || '(anonymous)'} contain offset ${off} and the access's type does not tell which` };
      steps.push({ kind: 'union', type: cur, member });
      cur = member.type();
    } else if (cur.kind === 'array') {
      const element: DiType = cur.element();
      const size = element.bits / 8;
      if (size <= 0 || !Number.isInteger(size)) return { reason: 'an array of elements without a whole size' };
      const index = Math.floor(off / size);
      const count = cur.count();
      if (count > 0 && index >= count) return { reason: `index ${index} is outside the array of ${count}` };
      steps.push({ kind: 'array', type: cur, index });
      off -= index * size;
      cur = element;
    } else {
      if (off === 0) return steps.length > 0 ? { steps } : { reason: 'not a member access' };
      return { reason: `offset ${off} is inside a member that is not a struct, union or array` };
    }
  }
  return { reason: 'nested too deeply' };
}

function containsOffset(m: DiMember, off: number): boolean {
  const start = m.offsetBits / 8;
  return off >= start && (off < start + m.bits / 8 || (m.bits === 0 && off === start));
}

/** At a member's start: stop here, or go into the member's own first member? */
function stopsHere(t: DiType, hint: AccessHint): boolean {
  if (hint.types.some((h) => h.md === t.md)) return true;
  // A type named deeper down: keep going. Otherwise the innermost member.
  return t.kind !== 'struct' && t.kind !== 'union' && t.kind !== 'array';
}

function chooseUnionMember(inside: DiMember[], off: number, hint: AccessHint): DiMember | undefined {
  const byType = inside.filter((m) => hint.types.some((h) => h.md === m.type().md || reaches(m.type(), off - m.offsetBits / 8, h)));
  if (byType.length === 1) return byType[0];
  if (hint.bytes !== undefined && off === 0) {
    const bySize = inside.filter((m) => m.offsetBits === 0 && m.bits === hint.bytes! * 8 && m.type().kind !== 'struct' && m.type().kind !== 'union');
    if (bySize.length === 1) return bySize[0];
  }
  return undefined;
}

/** Is `target` the type of something at `off` inside `t` (following first members)? */
function reaches(t: DiType, off: number, target: DiType, depth = 0): boolean {
  if (off === 0 && t.md === target.md) return true;
  if (depth > 16) return false;
  if (t.kind === 'struct' || t.kind === 'union') return t.members().some((m) => containsOffset(m, off) && reaches(m.type(), off - m.offsetBits / 8, target, depth + 1));
  if (t.kind === 'array') {
    const e = t.element();
    return e.bits > 0 && reaches(e, off % (e.bits / 8), target, depth + 1);
  }
  return false;
}

function shapeOf(t: DiType): AccessShape {
  return t.kind === 'other' ? 'other' : t.kind;
}

function targetSteps(steps: Step[]): AccessStep[] {
  return steps.map((s) =>
    s.kind === 'array'
      ? { index: s.index, shape: shapeOf(s.type.element()) }
      : { member: BINDGEN_ANON_MEMBER.test(s.member.name) ? '' : s.member.name, shape: shapeOf(s.member.type()) },
  );
}

function describePath(root: DiComposite, steps: Step[]): string {
  let out = root.name;
  for (const s of steps) {
    if (s.kind === 'array') out += `[${s.index}]`;
    else out += `.${s.member.name && !BINDGEN_ANON_MEMBER.test(s.member.name) ? s.member.name : '<anon>'}`;
  }
  return out;
}

/** Builds the preserve.*.access.index calls (and the LLVM types their `elementtype` needs). */
class AccessRewriter {
  private builder: BuilderRef;
  private ptr: TypeRef;
  private i32: TypeRef;
  private i8: TypeRef;
  private intrinsics = new Map<string, ValueRef>();
  private llvmTypes = new Map<bigint, { type: TypeRef; elementOf?: Map<number, number> } | null>();
  private mdKind: number;
  private elementTypeKind: number;

  constructor(
    private ctx: LlvmContext,
    private m: ModuleRef,
  ) {
    const { api } = ctx.lib;
    this.builder = api.LLVMCreateBuilderInContext(ctx.ref);
    this.ptr = api.LLVMPointerTypeInContext(ctx.ref, 0);
    this.i32 = api.LLVMIntTypeInContext(ctx.ref, 32);
    this.i8 = api.LLVMIntTypeInContext(ctx.ref, 8);
    this.mdKind = api.LLVMGetMDKindIDInContext(ctx.ref, 'llvm.preserve.access.index', 'llvm.preserve.access.index'.length);
    this.elementTypeKind = api.LLVMGetEnumAttributeKindForName('elementtype', 'elementtype'.length);
  }

  dispose(): void {
    this.ctx.lib.api.LLVMDisposeBuilder(this.builder);
  }

  /** bindgen names anonymous members `__bindgen_anon_N`; libbpf finds only anonymous ones by looking through them. */
  makeAnonymous(di: DebugInfo, member: DiMember): void {
    di.setOperand(di.asValue(member.md), di.layout.typeName, null);
    member.name = '';
  }

  /** The address of the member path, computed by calls placed before `inst`; undefined when a struct cannot be laid out. */
  build(inst: ValueRef, base: ValueRef, steps: Step[]): ValueRef | undefined {
    const { api } = this.ctx.lib;
    // Everything the calls need, before the first one is built.
    const planned: { name: string; args: ValueRef[]; elementType?: TypeRef; md: bigint }[] = [];
    for (const s of steps) {
      if (s.kind === 'struct') {
        const layout = this.llvmType(s.type);
        const gepIndex = layout?.elementOf?.get(s.member.index);
        if (!layout || gepIndex === undefined) return undefined;
        planned.push({ name: 'llvm.preserve.struct.access.index', args: [this.const32(gepIndex), this.const32(s.member.index)], elementType: layout.type, md: s.type.md as bigint });
      } else if (s.kind === 'union') {
        planned.push({ name: 'llvm.preserve.union.access.index', args: [this.const32(s.member.index)], md: s.type.md as bigint });
      } else {
        const layout = this.llvmType(s.type);
        if (!layout) return undefined;
        // clang passes dimension 1 for the (only) dimension of each array level.
        planned.push({ name: 'llvm.preserve.array.access.index', args: [this.const32(1), this.const32(s.index)], elementType: layout.type, md: s.type.md as bigint });
      }
    }
    api.LLVMPositionBuilderBefore(this.builder, inst);
    const loc = api.LLVMInstructionGetDebugLoc(inst);
    let cur = base;
    for (const p of planned) {
      const fn = this.intrinsic(p.name);
      const call = api.LLVMBuildCall2(this.builder, api.LLVMGlobalGetValueType(fn), fn, [cur, ...p.args], p.args.length + 1, '');
      if (p.elementType) api.LLVMAddCallSiteAttribute(call, 1, api.LLVMCreateTypeAttribute(this.ctx.ref, this.elementTypeKind, p.elementType));
      api.LLVMSetMetadata(call, this.mdKind, api.LLVMMetadataAsValue(this.ctx.ref, p.md as never));
      if (loc !== null) api.LLVMInstructionSetDebugLoc(call, loc);
      cur = call;
    }
    return cur;
  }

  private const32(n: number): ValueRef {
    return this.ctx.lib.api.LLVMConstInt(this.i32, n, 0);
  }

  private intrinsic(name: string): ValueRef {
    let fn = this.intrinsics.get(name);
    if (!fn) {
      const { api } = this.ctx.lib;
      const id = api.LLVMLookupIntrinsicID(name, name.length);
      if (id === 0) throw new LinkError('PASSES_FAILED', `this libLLVM has no ${name} intrinsic`);
      fn = api.LLVMGetIntrinsicDeclaration(this.m, id, [this.ptr, this.ptr], 2);
      this.intrinsics.set(name, fn);
    }
    return fn;
  }

  /**
   * An LLVM type with the debug info's layout: a packed struct with each member at its offset
   * (padding as byte arrays) and `elementOf` mapping member indexes to element indexes. Null when
   * members overlap (then no access into it is rewritten).
   */
  private llvmType(t: DiType): { type: TypeRef; elementOf?: Map<number, number> } | null {
    const key = t.md as bigint;
    if (this.llvmTypes.has(key)) return this.llvmTypes.get(key)!;
    const { api } = this.ctx.lib;
    const bytes = (n: number) => api.LLVMArrayType2(this.i8, n);
    let out: { type: TypeRef; elementOf?: Map<number, number> } | null;
    if (t.kind === 'scalar' && [8, 16, 32, 64, 128].includes(t.bits)) out = { type: api.LLVMIntTypeInContext(this.ctx.ref, t.bits) };
    else if (t.kind === 'pointer') out = { type: this.ptr };
    else if (t.kind === 'array') {
      const e = t.element();
      const inner = e.bits > 0 && t.count() * e.bits === t.bits ? this.llvmType(e) : null;
      out = { type: inner ? api.LLVMArrayType2(inner.type, t.count()) : bytes(Math.ceil(t.bits / 8)) };
    } else if (t.kind === 'struct') {
      const elements: TypeRef[] = [];
      const elementOf = new Map<number, number>();
      let at = 0;
      out = { type: this.i8, elementOf };
      for (const m of [...t.members()].sort((a, b) => a.offsetBits - b.offsetBits)) {
        if (m.bitField) continue;
        const start = m.offsetBits / 8;
        if (!Number.isInteger(start) || start < at) {
          out = null;
          break;
        }
        if (start > at) elements.push(bytes(start - at));
        const inner = this.llvmType(m.type());
        const size = Math.ceil(m.bits / 8);
        elementOf.set(m.index, elements.length);
        elements.push(inner && m.type().bits === m.bits ? inner.type : bytes(size));
        at = start + size;
      }
      if (out) {
        const total = Math.ceil(t.bits / 8);
        if (total > at) elements.push(bytes(total - at));
        out.type = api.LLVMStructTypeInContext(this.ctx.ref, elements, elements.length, 1);
      }
    } else out = { type: bytes(Math.max(0, Math.ceil(t.bits / 8))) };
    this.llvmTypes.set(key, out);
    return out;
  }
}
