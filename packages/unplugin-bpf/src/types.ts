/**
 * The plugin's options and the shapes its imports and events have. `unplugin-bpf/types` exports
 * these for configuration files and for code that reads a `?manifest` import.
 */
import type { LinkSettings, ObjectSummary } from '@bpf-linker/core';

/** What a `?manifest` import gives: programs, maps, sections, BTF present (from the core's inspect). */
export type BpfObjectManifest = ObjectSummary;

/** Every bpf-linker option (bpf.config.json's `link`): BTF is on unless `btf: false`. */
export type BpfLinkOptions = LinkSettings;

export interface BpfCargoOptions {
  /** cargo to run (default: $CARGO, else `cargo` on PATH). */
  cargo?: string;
  /** rustc cargo runs (default: $RUSTC). Debian's /usr/bin/rustc has the prebuilt BPF core. */
  rustc?: string;
  /** Cargo profile (default `release`). */
  profile?: string;
  target?: 'bpfel-unknown-none' | 'bpfeb-unknown-none';
  /** The binary target (default: the crate's first `[[bin]]`, else its package name). */
  bin?: string;
  package?: string;
  features?: string[];
  noDefaultFeatures?: boolean;
  /** More `cargo rustc` arguments (before `--`). */
  args?: string[];
  /** More rustc arguments (after `--`). */
  rustcArgs?: string[];
}

export interface BuildEvent {
  /** Absolute path of the C source or Cargo.toml. */
  source: string;
  /** The import's mode. */
  mode: 'bytes' | 'url' | 'path' | 'manifest';
  /** Program name (file name without `.bpf.c`, or the crate's binary). */
  name: string;
  /** True when nothing ran: the object came from the cache. */
  cached: boolean;
  /** True when another import of the same object built it meanwhile (its event counts the steps). */
  shared: boolean;
  /** Compile steps (clang) that this import ran: 0 on a hit or when shared. */
  compiled: number;
  /** Link steps (bpf-linker) that ran: 0 on a hit. */
  linked: number;
  /** Cargo builds that ran: 0 on a hit. */
  cargo: number;
  /** The steps this import ran, with their durations (empty on a hit or when shared). */
  steps: { kind: 'compile' | 'archive' | 'link' | 'cargo'; durationMs: number }[];
  /** Store key of the object. */
  key: string;
  /** Files the object depends on besides the source (headers, crate files). */
  dependencies: string[];
  durationMs: number;
}

export interface Options {
  /** clang for C sources (default: $BPF_CLANG, else the newest /usr/lib/llvm-NN/bin/clang). */
  clang?: string;
  /** `-target` for clang: `bpf` (host endianness, the default), `bpfel` or `bpfeb`. */
  target?: 'bpf' | 'bpfel' | 'bpfeb';
  /** `-I` directories, relative to the project root (or absolute). */
  includeDirs?: string[];
  /** `-D` macros: `true` → `-DNAME`, `false` → `-UNAME`, else `-DNAME=value`. */
  defines?: Record<string, string | number | boolean>;
  /** More clang arguments. */
  flags?: string[];
  /** bpf-linker options (every flag of the linker); BTF is on by default. */
  link?: BpfLinkOptions;
  /** Rust eBPF crates (`./crate/Cargo.toml?bpf`). */
  cargo?: BpfCargoOptions;
  /** The bpf-linker CLI that cargo runs as rustc's linker (default: the installed @bpf-linker/cli). */
  linker?: string;
  /** Where objects are cached (default: `<root>/node_modules/.cache/bpf`). */
  cacheDir?: string;
  /** `?url` imports of objects up to this many bytes become `data:` URLs instead of files (default 0: always a file). */
  inlineLimit?: number;
  /** Directory of emitted objects in the output (default `bpf`): `bpf/<name>-<hash>.o`. */
  assetsDir?: string;
  /** Builds that may run at once, each in its own process (default: the number of CPUs). */
  workers?: number;
  /** Called after every import's object is ready: built or taken from the cache. */
  onBuild?: (event: BuildEvent) => void;
  /** `info` prints a line per build, `debug` also each step (default: silent). */
  logLevel?: 'silent' | 'info' | 'debug';
}
