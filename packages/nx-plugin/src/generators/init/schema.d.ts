/** Options of @bpf-linker/nx:init. */
export interface InitGeneratorSchema {
  skipFormat?: boolean;
}
