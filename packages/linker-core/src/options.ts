/**
 * LinkOptions: the single source of truth for every linker flag. The CLI, the Nx executor,
 * the Turborepo adapter and the bundler plugin all map their input onto this one type.
 */

export type OutputKind = 'obj' | 'asm' | 'llvm-ir' | 'llvm-bc';
export const OUTPUT_KINDS: readonly OutputKind[] = ['obj', 'asm', 'llvm-ir', 'llvm-bc'];

export type OptLevel = '0' | '1' | '2' | '3' | 's' | 'z';
export const OPT_LEVELS: readonly OptLevel[] = ['0', '1', '2', '3', 's', 'z'];

/** CPUs accepted by `--cpu`. bpf-linker rejects v4; LLVM >= 18 supports it, so we accept it. */
export type BpfCpu = 'generic' | 'probe' | 'v1' | 'v2' | 'v3' | 'v4';
export const BPF_CPUS: readonly BpfCpu[] = ['generic', 'probe', 'v1', 'v2', 'v3', 'v4'];

export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug', 'trace'];

/** An input given as bytes instead of a path (library use; errors name it `in_memory::<name>`). */
export interface InMemoryInput {
  name: string;
  bytes: Uint8Array;
}

export type LinkInput = string | InMemoryInput;

export interface LinkOptions {
  /** Input files (bitcode, ELF with .llvmbc, IR text, ar archives), in link order. */
  inputs: LinkInput[];
  /** Output path. When absent, the result carries the bytes only. */
  output?: string;
  emit: OutputKind;
  optLevel: OptLevel;
  /** Target triple for the target machine; inferred from the module when absent. */
  target?: string;
  /** `--cpu`. Absent: the CPU the inputs were compiled for (pipeline/target-cpu.ts). */
  cpu?: BpfCpu;
  /** `--cpu-features`. Absent: the inputs' target-features. */
  cpuFeatures?: string;
  /** Keep debug info (sanitized) so the backend emits .BTF/.BTF.ext. */
  btf: boolean;
  allowBpfTrap: boolean;
  /** Explicit export list (from --export and --export-symbols). Empty + !internalize = default mode. */
  exports: string[];
  /** Keep the object's libbpf-visible interface and internalize the rest. */
  internalize: boolean;
  disableMemoryBuiltins: boolean;
  disableExpandMemcpyInOrder: boolean;
  /**
   * `--whole-archive`: link every member of every archive. Otherwise a member is linked only when
   * it defines something the link needs (pipeline/select-members.ts).
   */
  wholeArchive?: boolean;
  /**
   * `--allow-undefined`: write the object although something it refers to is defined by no input
   * (to be linked later with libbpf's static linker). Otherwise that is an error.
   */
  allowUndefined?: boolean;
  unrollLoops: boolean;
  ignoreInlineNever: boolean;
  llvmArgs: string[];
  /** Directory for pre-opt.ll and post-opt.ll. */
  dumpModule?: string;
  /**
   * `--source-root`: the directory that relative source paths of the debug info are read from
   * when the BPF backend puts each source line's text into BTF line info (`.BTF.ext`). Absent: the
   * working directory, as LLVM does. Nothing of it is recorded, so an object built with the
   * directory its compiler ran in is the same from any working directory and any checkout.
   */
  sourceRoot?: string;
  /** After writing, fail if LLVM reported an (unfiltered) error diagnostic. */
  fatalErrors: boolean;
  /** Library search paths; accepted for rustc compatibility, not used (see README). */
  libraryPaths: string[];
  /** Force a libLLVM: a file or an install prefix. Otherwise chosen from the inputs' producers. */
  llvmPath?: string;
  /** Largest input file accepted, in bytes (`--max-input-size`); DEFAULT_MAX_INPUT_SIZE when absent. */
  maxInputSize?: number;
  /**
   * CO-RE for Rust (pipeline/core-access.ts): `auto` uses the running kernel's BTF
   * (CORE_AUTO_BTF) when the inputs are Rust and it exists; `off` (the default) rewrites
   * nothing unless `coreBtf` or `coreTypes` say what to relocate.
   */
  core?: CoreMode;
  /** `--core-btf`: the kernel BTF (raw, or a vmlinux ELF) whose structs and unions are relocatable. */
  coreBtf?: string;
  /** `--core-types`: more relocatable struct/union names. */
  coreTypes?: string[];
  /** `--core-strict`: an access to a relocatable type that cannot be rewritten is an error. */
  coreStrict?: boolean;
  /**
   * `--partitions off|auto|N`: generate code for a big module as N partitions merged by libbpf's
   * linker (pipeline/partition.ts). `auto` (the default) splits only above a size threshold.
   */
  partitions?: 'off' | 'auto' | number;
  /** `--jobs N`: worker threads for partitioned code generation; default: the available cores. */
  jobs?: number;
}

export type CoreMode = 'off' | 'auto';
export const CORE_MODES: readonly CoreMode[] = ['off', 'auto'];
/** The running kernel's BTF, which `--core=auto` uses. */
export const CORE_AUTO_BTF = '/sys/kernel/btf/vmlinux';

/**
 * 512 MiB. Real inputs are far smaller: a BPF program is at most 1M instructions (8 MB) for the
 * verifier, and the largest inputs seen, rustc rlibs, carry their metadata (Debian's BPF libcore
 * .rmeta is 40 MB). An input is held in memory whole and LLVM needs about three times the size of
 * IR text to parse it, so a file beyond this (a device, a stray disk image, a runaway generator)
 * would exhaust memory long before it could be a program; it is refused up front instead.
 */
export const DEFAULT_MAX_INPUT_SIZE = 512 * 1024 * 1024;

export function defaultLinkOptions(overrides: Partial<LinkOptions> = {}): LinkOptions {
  return {
    inputs: [],
    emit: 'obj',
    optLevel: '2',
    btf: false,
    allowBpfTrap: false,
    exports: [],
    internalize: false,
    disableMemoryBuiltins: false,
    disableExpandMemcpyInOrder: false,
    wholeArchive: false,
    allowUndefined: false,
    unrollLoops: false,
    ignoreInlineNever: false,
    llvmArgs: [],
    fatalErrors: true,
    libraryPaths: [],
    ...overrides,
  };
}

/** The memory builtins LLVM may lower intrinsics to; exported unless --disable-memory-builtins. */
export const MEMORY_BUILTINS: readonly string[] = ['memcpy', 'memmove', 'memset', 'memcmp', 'bcmp'];
