import type { CommonExecutorOptions } from '../run-steps';

/** Options of @bpf-linker/nx:compile. */
export interface CompileExecutorSchema extends Pick<CommonExecutorOptions, 'config'> {
  /** clang to use instead of the config's (a path or a command). */
  clang?: string;
}
