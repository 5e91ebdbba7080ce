/** Stage: the optimization pipeline, as bpf-linker runs it. */
import type { OptLevel } from '../options';
import type { LlvmLibrary } from '../llvm/library';
import { runPasses, type TargetMachine } from '../llvm/target';
import type { ModuleRef } from '../llvm/types';

/**
 * `-O0` runs as O1: almost nothing compiles for BPF without optimization. `dce` is not in every
 * default pipeline. `globaldce` first deletes the internalized definitions nothing refers to:
 * the default pipeline runs its early function passes over every function before its own
 * dead-global removal, so a Rust link would otherwise simplify all of libcore to delete it.
 */
export function passPipeline(level: OptLevel): string {
  const o = level === '0' ? '1' : level;
  return `globaldce,default<O${o}>,dce`;
}

export function optimize(lib: LlvmLibrary, m: ModuleRef, tm: TargetMachine, level: OptLevel): string {
  const pipeline = passPipeline(level);
  runPasses(lib, m, pipeline, tm);
  return pipeline;
}
