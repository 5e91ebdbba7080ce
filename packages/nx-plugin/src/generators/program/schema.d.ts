import type { ProgramType } from '@bpf-linker/core';

/** Options of @bpf-linker/nx:program. */
export interface ProgramGeneratorSchema {
  name: string;
  /** Project root (default: the name, in kebab-case). */
  directory?: string;
  language?: 'c' | 'rust';
  type?: ProgramType;
  /** The attach point, for types that take one (kprobe function, tracepoint category/name, …). */
  attach?: string;
  /** Library projects to link (C programs), comma-separated or a list. */
  libraries?: string | string[];
  /** Comma-separated tags besides "bpf". */
  tags?: string;
  skipFormat?: boolean;
}
