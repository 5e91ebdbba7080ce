import type { LinkSettings } from '@bpf-linker/core';
import type { CommonExecutorOptions } from '../run-steps';

/** Options of @bpf-linker/nx:cargo. */
export type CargoExecutorSchema = CommonExecutorOptions & LinkSettings;
