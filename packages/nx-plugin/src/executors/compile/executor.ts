/** @bpf-linker/nx:compile — Compiles the C sources of bpf.config.json to LLVM bitcode with clang (one .bc per source). */
import type { ExecutorContext } from '@nx/devkit';
import { runStepsOfKind, type ExecutorResult } from '../run-steps';
import type { CompileExecutorSchema } from './schema';

export default async function compileExecutor(options: CompileExecutorSchema, context: ExecutorContext): Promise<ExecutorResult> {
  return runStepsOfKind('compile', options, context);
}
