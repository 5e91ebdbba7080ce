/**
 * Typed helpers over modules and values: parsing, iteration, names, linkage, output. They take
 * the library explicitly; no state lives here.
 */
import { copyBytes, decodeCString, decodeString } from './api';
import type { LlvmContext } from './context';
import type { LlvmLibrary } from './library';
import type { BasicBlockRef, CStringRef, MemoryBufferRef, ModuleRef, ValueRef } from './types';

export class LlvmCallError extends Error {}

function withBuffer<T>(lib: LlvmLibrary, bytes: Uint8Array, name: string, fn: (b: MemoryBufferRef) => T): T {
  const buf = lib.api.LLVMCreateMemoryBufferWithMemoryRangeCopy(bytes, bytes.length, name);
  try {
    return fn(buf);
  } finally {
    lib.api.LLVMDisposeMemoryBuffer(buf);
  }
}

/** Parses bitcode; failure messages come from the context's diagnostics. */
export function parseBitcode(ctx: LlvmContext, bytes: Uint8Array, name: string): ModuleRef {
  const { api } = ctx.lib;
  const mark = ctx.diagnostics.length;
  return withBuffer(ctx.lib, bytes, name, (buf) => {
    const out: [ModuleRef | null] = [null];
    if (api.LLVMParseBitcodeInContext2(ctx.ref, buf, out) !== 0 || out[0] === null) {
      const why = ctx.since(mark).map((d) => d.message).join('; ') || 'unknown error';
      throw new LlvmCallError(why);
    }
    return out[0];
  });
}

/**
 * Reads bitcode lazily: globals now, function bodies only when something materializes them
 * (linking the module into another does, for what it moves). Much cheaper than parsing when most
 * functions are deleted first.
 */
export function parseBitcodeLazily(ctx: LlvmContext, bytes: Uint8Array, name: string): ModuleRef {
  const { api } = ctx.lib;
  const mark = ctx.diagnostics.length;
  // The module takes ownership of the buffer, also on failure it is not ours to free.
  const buf = api.LLVMCreateMemoryBufferWithMemoryRangeCopy(bytes, bytes.length, name);
  const out: [ModuleRef | null] = [null];
  if (api.LLVMGetBitcodeModuleInContext2(ctx.ref, buf, out) !== 0 || out[0] === null) {
    throw new LlvmCallError(ctx.since(mark).map((d) => d.message).join('; ') || 'unknown error');
  }
  return out[0];
}

/** Parses LLVM IR text (it needs a NUL terminator, so one is appended). */
export function parseIrText(ctx: LlvmContext, bytes: Uint8Array, name: string): ModuleRef {
  const { api } = ctx.lib;
  const text = new Uint8Array(bytes.length + 1);
  text.set(bytes);
  const buf = api.LLVMCreateMemoryBufferWithMemoryRangeCopy(text, bytes.length, name);
  const out: [ModuleRef | null] = [null];
  const msg: [CStringRef | null] = [null];
  let failed: number;
  if (api.LLVMParseIRInContext2) {
    // LLVM >= 22: the caller keeps ownership of the buffer.
    failed = api.LLVMParseIRInContext2(ctx.ref, buf, out, msg);
    api.LLVMDisposeMemoryBuffer(buf);
  } else {
    failed = api.LLVMParseIRInContext(ctx.ref, buf, out, msg); // takes ownership
  }
  if (failed !== 0 || out[0] === null) {
    const why = msg[0] !== null ? decodeCString(msg[0]) : 'unknown error';
    if (msg[0] !== null) api.LLVMDisposeMessage(msg[0]);
    throw new LlvmCallError(why);
  }
  if (msg[0] !== null) api.LLVMDisposeMessage(msg[0]);
  return out[0];
}

export function* functions(lib: LlvmLibrary, m: ModuleRef): Generator<ValueRef> {
  for (let f = lib.api.LLVMGetFirstFunction(m); f !== null; f = lib.api.LLVMGetNextFunction(f)) yield f;
}

export function* globalVariables(lib: LlvmLibrary, m: ModuleRef): Generator<ValueRef> {
  for (let g = lib.api.LLVMGetFirstGlobal(m); g !== null; g = lib.api.LLVMGetNextGlobal(g)) yield g;
}

export function* globalAliases(lib: LlvmLibrary, m: ModuleRef): Generator<ValueRef> {
  for (let a = lib.api.LLVMGetFirstGlobalAlias(m); a !== null; a = lib.api.LLVMGetNextGlobalAlias(a)) yield a;
}

export function* basicBlocks(lib: LlvmLibrary, f: ValueRef): Generator<BasicBlockRef> {
  for (let b = lib.api.LLVMGetFirstBasicBlock(f); b !== null; b = lib.api.LLVMGetNextBasicBlock(b)) yield b;
}

export function* instructions(lib: LlvmLibrary, b: BasicBlockRef): Generator<ValueRef> {
  for (let i = lib.api.LLVMGetFirstInstruction(b); i !== null; i = lib.api.LLVMGetNextInstruction(i)) yield i;
}

export function valueName(lib: LlvmLibrary, v: ValueRef): string {
  const len: [number | null] = [0];
  const p = lib.api.LLVMGetValueName2(v, len);
  return decodeString(p, len[0] ?? 0);
}

export function isDeclaration(lib: LlvmLibrary, v: ValueRef): boolean {
  return lib.api.LLVMIsDeclaration(v) !== 0;
}

export function sectionOf(lib: LlvmLibrary, v: ValueRef): string | undefined {
  return lib.api.LLVMGetSection(v) || undefined;
}

export function moduleTriple(lib: LlvmLibrary, m: ModuleRef): string {
  return lib.api.LLVMGetTarget(m) ?? '';
}

export function moduleInlineAsm(lib: LlvmLibrary, m: ModuleRef): string {
  const len: [number | null] = [0];
  const p = lib.api.LLVMGetModuleInlineAsm(m, len);
  return decodeString(p, len[0] ?? 0);
}

export function printModule(lib: LlvmLibrary, m: ModuleRef): string {
  const p = lib.api.LLVMPrintModuleToString(m);
  try {
    return decodeCString(p);
  } finally {
    lib.api.LLVMDisposeMessage(p);
  }
}

export function writeBitcode(lib: LlvmLibrary, m: ModuleRef): Uint8Array {
  const buf = lib.api.LLVMWriteBitcodeToMemoryBuffer(m);
  try {
    return copyBytes(lib.api.LLVMGetBufferStart(buf), lib.api.LLVMGetBufferSize(buf));
  } finally {
    lib.api.LLVMDisposeMemoryBuffer(buf);
  }
}

/** `LLVMVerifyModule` with the return-status action: the verifier's message, or undefined when valid. */
export function verifyModule(lib: LlvmLibrary, m: ModuleRef): string | undefined {
  const msg: [CStringRef | null] = [null];
  const broken = lib.api.LLVMVerifyModule(m, 2, msg);
  const text = msg[0] !== null ? decodeCString(msg[0]) : '';
  if (msg[0] !== null) lib.api.LLVMDisposeMessage(msg[0]);
  return broken ? text || 'invalid module' : undefined;
}
