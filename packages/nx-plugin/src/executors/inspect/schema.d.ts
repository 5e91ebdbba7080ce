import type { CommonExecutorOptions } from '../run-steps';

/** Options of @bpf-linker/nx:inspect: `bpf-linker inspect`'s. */
export interface InspectExecutorSchema extends CommonExecutorOptions {
  json?: boolean;
  btf?: boolean;
}
