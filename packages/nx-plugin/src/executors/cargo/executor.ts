/** @bpf-linker/nx:cargo — Builds each Rust program of bpf.config.json with cargo, bpf-linker as the linker, in a per-project target dir; copies the object out. */
import type { ExecutorContext } from '@nx/devkit';
import { runStepsOfKind, type ExecutorResult } from '../run-steps';
import type { CargoExecutorSchema } from './schema';

export default async function cargoExecutor(options: CargoExecutorSchema, context: ExecutorContext): Promise<ExecutorResult> {
  return runStepsOfKind('cargo', options, context);
}
