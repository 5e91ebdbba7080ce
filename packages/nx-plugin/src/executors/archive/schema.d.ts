import type { CommonExecutorOptions } from '../run-steps';

/** Options of @bpf-linker/nx:archive. */
export type ArchiveExecutorSchema = CommonExecutorOptions;
