/** Options of @bpf-linker/nx:library. */
export interface LibraryGeneratorSchema {
  name: string;
  /** Project root (default: the name, in kebab-case). */
  directory?: string;
  /** Comma-separated tags besides "bpf". */
  tags?: string;
  skipFormat?: boolean;
}
