/**
 * Types of BPF program imports. Add `"types": ["unplugin-bpf/client"]` to tsconfig.json's
 * compilerOptions, or `/// <reference types="unplugin-bpf/client" />` to a declaration file.
 *
 * Import attributes (`with { type: 'bytes' }`, `with { bpf: 'url' }`) cannot change a type, so
 * an import typed by its path alone is typed as bytes: use a query for the other modes.
 */

/** The object's bytes: an ELF BPF object with BTF, ready for a loader (libbpf, Aya, cilium/ebpf). */
declare module '*.bpf.c' {
  const bytes: Uint8Array;
  export default bytes;
}
declare module '*.bpf.c?bytes' {
  const bytes: Uint8Array;
  export default bytes;
}
/** URL of the emitted object (`bpf/<name>-<hash>.o`); resolve it with `new URL(url, import.meta.url)`. */
declare module '*.bpf.c?url' {
  const url: string;
  export default url;
}
/** Absolute path of the object in the build cache (Node only: development and tests). */
declare module '*.bpf.c?path' {
  const path: string;
  export default path;
}
/** Programs, maps, sections and whether BTF is present. */
declare module '*.bpf.c?manifest' {
  const manifest: import('unplugin-bpf/types').BpfObjectManifest;
  export default manifest;
}

/** A Rust eBPF crate, built by cargo with bpf-linker as rustc's linker. */
declare module '*Cargo.toml?bpf' {
  const bytes: Uint8Array;
  export default bytes;
}
declare module '*Cargo.toml?bpf&bytes' {
  const bytes: Uint8Array;
  export default bytes;
}
declare module '*Cargo.toml?bpf&url' {
  const url: string;
  export default url;
}
declare module '*Cargo.toml?bpf&path' {
  const path: string;
  export default path;
}
declare module '*Cargo.toml?bpf&manifest' {
  const manifest: import('unplugin-bpf/types').BpfObjectManifest;
  export default manifest;
}
