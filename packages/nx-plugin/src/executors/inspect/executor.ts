/**
 * @bpf-linker/nx:inspect — Shows the programs, maps, BTF and sections of each of the project's
 * objects with `bpf-linker inspect` (run without a shell).
 */
import type { ExecutorContext } from '@nx/devkit';
import { runCliOnObjects } from '../run-cli';
import type { ExecutorResult } from '../run-steps';
import type { InspectExecutorSchema } from './schema';

export default async function inspectExecutor(options: InspectExecutorSchema, context: ExecutorContext): Promise<ExecutorResult> {
  const flags = [...(options.json ? ['--json'] : []), ...(options.btf ? ['--btf'] : [])];
  return runCliOnObjects('inspect', flags, options, context);
}
