/**
 * Stage: code generation of a big module as partitions (pipeline/partition.ts), generated in
 * parallel on worker threads (llvm/codegen-workers.ts) and merged by libbpf's linker
 * (pipeline/merge-objects.ts). The merge order is the partition order, whatever `jobs` is, so the
 * output is the same bytes for any number of jobs. A plan made before optimization has each
 * partition optimized in its worker too, with the link's own pipeline.
 */
import { availableParallelism } from 'node:os';
import { generateObjectsInWorkers, type CodegenTarget, type ModuleSymbol } from '../llvm/codegen-workers';
import type { LlvmContext, LlvmDiagnostic } from '../llvm/context';
import { writeBitcode } from '../llvm/module';
import type { ModuleRef } from '../llvm/types';
import { canonicalForwardOrder } from '../object/btf-forward-order';
import type { OptLevel } from '../options';
import { mergeObjects } from './merge-objects';
import { passPipeline } from './optimize';
import { partitionBitcode, type PartitionPlan, type PartitionSummary } from './partition';
import type { StageTimer } from './timings';

/** How the link was partitioned, for --report and --timings. */
export interface Partitioning {
  /** Why it was (or was not) split. */
  reason: string;
  /** Worker threads used for code generation. */
  jobs: number;
  partitions: (PartitionSummary & { codegenMs: number; optimizeMs?: number; objectBytes: number })[];
  /** Static helpers copied into more than one partition. */
  duplicated: string[];
  /** Split before optimization: each partition was optimized on its own (`optimizeMs`). */
  optimizedInPartitions: boolean;
}

/** `--jobs` default: every core the process may use. */
export function defaultJobs(): number {
  return Math.max(1, availableParallelism());
}

export function generatePartitioned(
  ctx: LlvmContext,
  m: ModuleRef,
  target: CodegenTarget,
  plan: PartitionPlan,
  reason: string,
  jobs: number,
  timer: StageTimer,
  /** The link's optimization level: a plan made before optimization has each worker run its pipeline. */
  optLevel: OptLevel,
  /** Called with the module as bitcode, from which the partitions are built: the module is not read after that. */
  release?: (moduleBitcode: Uint8Array) => void,
): { bytes: Uint8Array; partitioning: Partitioning; diagnostics: LlvmDiagnostic[]; symbols?: ModuleSymbol[] } {
  const lib = ctx.lib;
  const optimizing = plan.stage === 'before-optimization';
  const passes = optimizing ? passPipeline(optLevel) : undefined;
  // Partitions are built here while the workers generate code for the ones already built:
  // `partition` is the time spent building them, `codegen` the rest of the wait for the objects
  // (their optimization included, before optimization).
  const results = timer.run('codegen', () => {
    const whole = timer.run('partition', () => writeBitcode(lib, m));
    release?.(whole);
    return generateObjectsInWorkers(
      lib,
      target,
      plan.partitions.length,
      (i) => timer.run('partition', () => ({ name: `partition-${i}`, bitcode: partitionBitcode(lib, whole, plan, i), ...(passes !== undefined && { passes }) })),
      jobs,
    );
  });
  // LLVM orders a module's trailing BTF forward declarations by memory address: put them in one
  // order, so the merged bytes do not depend on which thread generated what.
  const bytes = timer.run('merge', () => mergeObjects(results.map((r) => canonicalForwardOrder(r.object))));
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    bytes,
    diagnostics: results.flatMap((r) => r.diagnostics),
    ...(optimizing && { symbols: results.flatMap((r) => r.symbols ?? []) }),
    partitioning: {
      reason,
      jobs: Math.min(jobs, plan.partitions.length),
      partitions: plan.partitions.map((p, i) => ({
        ...p,
        ...(optimizing && { optimizeMs: round(results[i].optimizeMs) }),
        codegenMs: round(results[i].ms - results[i].optimizeMs),
        objectBytes: results[i].object.length,
      })),
      duplicated: plan.duplicated,
      optimizedInPartitions: optimizing,
    },
  };
}
