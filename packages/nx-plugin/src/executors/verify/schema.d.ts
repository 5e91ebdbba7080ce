import type { CommonExecutorOptions } from '../run-steps';

/** Options of @bpf-linker/nx:verify: `bpf-linker verify`'s. */
export interface VerifyExecutorSchema extends CommonExecutorOptions {
  json?: boolean;
  logs?: boolean;
  logSize?: number;
  libbpf?: string;
}
