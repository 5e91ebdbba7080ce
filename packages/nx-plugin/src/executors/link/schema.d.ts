import type { LinkSettings } from '@bpf-linker/core';
import type { CommonExecutorOptions } from '../run-steps';

/** Options of @bpf-linker/nx:link. */
export type LinkExecutorSchema = CommonExecutorOptions & LinkSettings;
