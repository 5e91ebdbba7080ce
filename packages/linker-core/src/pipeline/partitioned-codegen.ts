/**
 * Stage: code generation of a big module as partitions (pipeline/partition.ts), generated in
 * parallel on worker threads (llvm/codegen-workers.ts) and merged by libbpf's linker
 * (pipeline/merge-objects.ts). The merge order is the partition order, whatever `jobs` is, so the
 * output is the same bytes for any number of jobs.
 */
import { availableParallelism } from 'node:os';
import { generateObjectsInWorkers, type CodegenTarget } from '../llvm/codegen-workers';
import type { LlvmContext, LlvmDiagnostic } from '../llvm/context';
import { writeBitcode } from '../llvm/module';
import type { ModuleRef } from '../llvm/types';
import { mergeObjects } from './merge-objects';
import { partitionBitcode, type PartitionPlan, type PartitionSummary } from './partition';
import type { StageTimer } from './timings';

/** How the link was partitioned, for --report and --timings. */
export interface Partitioning {
  /** Why it was (or was not) split. */
  reason: string;
  /** Worker threads used for code generation. */
  jobs: number;
  partitions: (PartitionSummary & { codegenMs: number; objectBytes: number })[];
  /** Static helpers copied into more than one partition. */
  duplicated: string[];
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
): { bytes: Uint8Array; partitioning: Partitioning; diagnostics: LlvmDiagnostic[] } {
  const lib = ctx.lib;
  // Partitions are built here while the workers generate code for the ones already built:
  // `partition` is the time spent building them, `codegen` the rest of the wait for the objects.
  const results = timer.run('codegen', () => {
    const whole = timer.run('partition', () => writeBitcode(lib, m));
    return generateObjectsInWorkers(
      lib,
      target,
      plan.partitions.length,
      (i) => timer.run('partition', () => ({ name: `partition-${i}`, bitcode: partitionBitcode(ctx, whole, plan, i) })),
      jobs,
    );
  });
  const bytes = timer.run('merge', () => mergeObjects(results.map((r) => r.object)));
  return {
    bytes,
    diagnostics: results.flatMap((r) => r.diagnostics),
    partitioning: {
      reason,
      jobs: Math.min(jobs, plan.partitions.length),
      partitions: plan.partitions.map((p, i) => ({ ...p, codegenMs: Math.round(results[i].ms * 10) / 10, objectBytes: results[i].object.length })),
      duplicated: plan.duplicated,
    },
  };
}
