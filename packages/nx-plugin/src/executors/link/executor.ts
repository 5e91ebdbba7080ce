/** @bpf-linker/nx:link — Links each C program of bpf.config.json with bpf-linker (core linkSync): its bitcode, the libraries' archives; writes <name>.o and <name>.manifest.json. */
import type { ExecutorContext } from '@nx/devkit';
import { runStepsOfKind, type ExecutorResult } from '../run-steps';
import type { LinkExecutorSchema } from './schema';

export default async function linkExecutor(options: LinkExecutorSchema, context: ExecutorContext): Promise<ExecutorResult> {
  return runStepsOfKind('link', options, context);
}
