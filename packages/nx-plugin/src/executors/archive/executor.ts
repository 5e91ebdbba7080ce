/** @bpf-linker/nx:archive — Archives a library project's bitcode into lib<name>.a (a GNU ar archive, written by the core). */
import type { ExecutorContext } from '@nx/devkit';
import { runStepsOfKind, type ExecutorResult } from '../run-steps';
import type { ArchiveExecutorSchema } from './schema';

export default async function archiveExecutor(options: ArchiveExecutorSchema, context: ExecutorContext): Promise<ExecutorResult> {
  return runStepsOfKind('archive', options, context);
}
