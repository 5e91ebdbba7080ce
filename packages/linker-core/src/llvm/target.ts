/** The BPF target machine, the optimization pipeline and code generation. */
import { copyBytes, decodeCString, decodeString } from './api';
import type { LlvmLibrary } from './library';
import { LlvmCallError } from './module';
import {
  CodeGenFileType,
  CodeGenOptLevel,
  CodeModel,
  RelocMode,
  type CStringRef,
  type MemoryBufferRef,
  type ModuleRef,
  type TargetMachineRef,
  type TargetRef,
  type ValueRef,
} from './types';

/** LLVMAttributeFunctionIndex (`~0U`): the function's own attributes, as opposed to its return value or parameters. */
export const ATTRIBUTE_FUNCTION_INDEX = 0xffffffff;

/**
 * A string attribute of a function, such as `"target-cpu"` (clang's `-mcpu`) or
 * `"target-features"` (`-mattr`, `-Xclang -target-feature`); undefined when it has none.
 */
export function functionStringAttribute(lib: LlvmLibrary, f: ValueRef, key: string): string | undefined {
  const { api } = lib;
  const attr = api.LLVMGetStringAttributeAtIndex(f, ATTRIBUTE_FUNCTION_INDEX, key, Buffer.byteLength(key));
  if (attr === null) return undefined;
  const len: [number | null] = [0];
  const p = api.LLVMGetStringAttributeValue(attr, len);
  return decodeString(p, len[0] ?? 0);
}

export interface TargetMachine {
  ref: TargetMachineRef;
  triple: string;
  dispose(): void;
}

/** Codegen always runs at the aggressive level, whatever -O says (as bpf-linker does). */
export function createTargetMachine(lib: LlvmLibrary, triple: string, cpu: string, features: string): TargetMachine {
  const { api } = lib;
  const target: [TargetRef | null] = [null];
  const err: [CStringRef | null] = [null];
  if (api.LLVMGetTargetFromTriple(triple, target, err) !== 0 || target[0] === null) {
    const why = err[0] !== null ? decodeCString(err[0]) : 'unknown target';
    if (err[0] !== null) api.LLVMDisposeMessage(err[0]);
    throw new LlvmCallError(why);
  }
  const tm = api.LLVMCreateTargetMachine(target[0], triple, cpu, features, CodeGenOptLevel.Aggressive, RelocMode.Default, CodeModel.Default);
  if (tm === null) throw new LlvmCallError('LLVMCreateTargetMachine returned NULL');
  return { ref: tm, triple, dispose: () => api.LLVMDisposeTargetMachine(tm) };
}

/** Runs a new-pass-manager pipeline string such as `default<O2>,dce`. */
export function runPasses(lib: LlvmLibrary, m: ModuleRef, pipeline: string, tm: TargetMachine): void {
  const { api } = lib;
  const opts = api.LLVMCreatePassBuilderOptions();
  try {
    const err = api.LLVMRunPasses(m, pipeline, tm.ref, opts);
    if (err !== null) {
      const p = api.LLVMGetErrorMessage(err); // consumes the error
      const why = decodeCString(p);
      api.LLVMDisposeErrorMessage(p);
      throw new LlvmCallError(why);
    }
  } finally {
    api.LLVMDisposePassBuilderOptions(opts);
  }
}

export function emitToMemory(lib: LlvmLibrary, tm: TargetMachine, m: ModuleRef, kind: 'obj' | 'asm'): Uint8Array {
  const { api } = lib;
  const err: [CStringRef | null] = [null];
  const out: [MemoryBufferRef | null] = [null];
  const fileType = kind === 'obj' ? CodeGenFileType.Object : CodeGenFileType.Assembly;
  if (api.LLVMTargetMachineEmitToMemoryBuffer(tm.ref, m, fileType, err, out) !== 0 || out[0] === null) {
    const why = err[0] !== null ? decodeCString(err[0]) : 'code generation failed';
    if (err[0] !== null) api.LLVMDisposeMessage(err[0]);
    throw new LlvmCallError(why);
  }
  try {
    return copyBytes(api.LLVMGetBufferStart(out[0]), api.LLVMGetBufferSize(out[0]));
  } finally {
    api.LLVMDisposeMemoryBuffer(out[0]);
  }
}
