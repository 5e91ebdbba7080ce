/**
 * @bpf-linker/nx:verify — Loads every program of the project's objects into the running kernel's
 * verifier with `bpf-linker verify` (run without a shell); fails when one is rejected or
 * verification cannot run.
 */
import type { ExecutorContext } from '@nx/devkit';
import { runCliOnObjects } from '../run-cli';
import type { ExecutorResult } from '../run-steps';
import type { VerifyExecutorSchema } from './schema';

export default async function verifyExecutor(options: VerifyExecutorSchema, context: ExecutorContext): Promise<ExecutorResult> {
  const flags = [
    ...(options.json ? ['--json'] : []),
    ...(options.logs ? ['--logs'] : []),
    ...(options.logSize !== undefined ? [`--log-size=${options.logSize}`] : []),
    ...(options.libbpf !== undefined ? [`--libbpf=${options.libbpf}`] : []),
  ];
  return runCliOnObjects('verify', flags, options, context);
}
