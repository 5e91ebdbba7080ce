/**
 * The JSON schema of `bpf.config.json`. It is the single description of the file: editors use it
 * (the Nx plugin ships it as bpf.config.schema.json), and parseBpfConfig validates with it, so
 * the two cannot disagree. Only the keywords validate.ts understands are used.
 */
import { BPF_CPUS, OPT_LEVELS, OUTPUT_KINDS } from '../options';

const stringList = (description: string) => ({ type: 'array', items: { type: 'string' }, description });

/** Project-relative path segments: no absolute paths, no `..` escaping into other projects' outputs. */
const NAME_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.-]*$';

const linkSettings = {
  type: 'object',
  additionalProperties: false,
  description: 'bpf-linker options. Every flag of the linker; the same names as LinkOptions.',
  properties: {
    emit: { enum: [...OUTPUT_KINDS], description: '--emit: obj (default), asm, llvm-ir or llvm-bc' },
    optLevel: { enum: [...OPT_LEVELS], description: '-O: 0, 1, 2 (default), 3, s or z' },
    target: { type: 'string', description: '--target: LLVM target triple (bpf, bpfel, bpfeb); taken from the bitcode when absent' },
    cpu: { enum: [...BPF_CPUS], description: '--cpu (default: the CPU the inputs were compiled for)' },
    cpuFeatures: { type: 'string', description: '--cpu-features, e.g. "+alu32"' },
    btf: { type: 'boolean', description: '--btf: emit .BTF/.BTF.ext from debug info. Default true here (false on the command line)' },
    allowBpfTrap: { type: 'boolean', description: '--allow-bpf-trap' },
    exports: stringList('--export: symbols to keep (everything else is internalized)'),
    internalize: { type: 'boolean', description: '--internalize: keep only the libbpf-visible interface' },
    disableMemoryBuiltins: { type: 'boolean', description: '--disable-memory-builtins' },
    wholeArchive: { type: 'boolean', description: '--whole-archive: link every member of every archive' },
    allowUndefined: { type: 'boolean', description: '--allow-undefined: write the object although a symbol it refers to is undefined' },
    disableExpandMemcpyInOrder: { type: 'boolean', description: '--disable-expand-memcpy-in-order' },
    unrollLoops: { type: 'boolean', description: '--unroll-loops' },
    ignoreInlineNever: { type: 'boolean', description: '--ignore-inline-never' },
    llvmArgs: stringList('--llvm-args: options for LLVM, e.g. "-bpf-stack-size=1024"'),
    dumpModule: { type: 'string', description: '--dump-module: directory (project-relative) for pre-opt.ll and post-opt.ll' },
    report: { type: 'boolean', description: '--report: write <outDir>/<name>.report.json (which input defined each symbol, and what became of it)' },
    fatalErrors: { type: 'boolean', description: '--fatal-errors (default true)' },
    libraryPaths: stringList('-L: accepted for rustc compatibility; not used'),
    llvmPath: { type: 'string', description: '--llvm-path: a libLLVM file or install prefix; otherwise chosen from the bitcode producers' },
  },
} as const;

const defines = {
  type: 'object',
  additionalProperties: { type: ['string', 'number', 'boolean'] },
  description: 'Preprocessor definitions: "NAME": value (-DNAME=value), true (-DNAME) or false (-UNAME)',
} as const;

const compileSettings = {
  type: 'object',
  additionalProperties: false,
  description: 'clang settings for every C source of this project',
  properties: {
    clang: { type: 'string', description: 'clang to use (a path or a command). Default: $BPF_CLANG, the newest /usr/lib/llvm-NN/bin/clang, then clang on PATH' },
    target: { enum: ['bpf', 'bpfel', 'bpfeb'], description: 'clang -target (default bpf: host byte order)' },
    includeDirs: stringList('-I directories, relative to the project'),
    defines,
    flags: stringList('More clang flags, after the defaults (-g -O2)'),
  },
} as const;

const sourceFields = {
  sources: { ...stringList('C sources: globs relative to the project, e.g. "src/**/*.c"'), minItems: 1 },
  exclude: stringList('Globs removed from sources'),
  includeDirs: stringList('-I directories, relative to the project'),
  defines,
  flags: stringList('More clang flags for these sources'),
  libraries: stringList('Libraries to link: names of BPF library projects (or their roots), or paths to .a archives'),
} as const;

const cProgram = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'sources'],
  description: 'A program built from C sources: each is compiled to bitcode, then linked with its libraries',
  properties: {
    name: { type: 'string', pattern: NAME_PATTERN, description: 'Program name; the object is <outDir>/<name>.o' },
    output: { type: 'string', pattern: NAME_PATTERN, description: 'File name of the object (default <name>.o)' },
    ...sourceFields,
    link: { $ref: '#/definitions/linkSettings' },
  },
} as const;

const rustProgram = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'cargo'],
  description: 'A program built from a Rust crate by cargo, with bpf-linker as the linker',
  properties: {
    name: { type: 'string', pattern: NAME_PATTERN, description: 'Program name; the object is <outDir>/<name>.o' },
    output: { type: 'string', pattern: NAME_PATTERN, description: 'File name of the object (default <name>.o)' },
    cargo: {
      type: 'object',
      additionalProperties: false,
      description: 'The crate',
      properties: {
        manifest: { type: 'string', description: 'Cargo.toml, relative to the project (default Cargo.toml)' },
        package: { type: 'string', description: 'cargo -p, for a manifest with several packages' },
        bin: { type: 'string', description: 'The binary target (default: the program name with - replaced by _)' },
        profile: { type: 'string', description: 'Cargo profile (default release)' },
        target: { enum: ['bpfel-unknown-none', 'bpfeb-unknown-none'], description: 'Rust target (default bpfel-unknown-none)' },
        features: stringList('cargo --features'),
        noDefaultFeatures: { type: 'boolean', description: 'cargo --no-default-features' },
        args: stringList('More arguments for cargo rustc, before --'),
        rustcArgs: stringList('More arguments for rustc (after --)'),
        toolchain: {
          type: 'string',
          pattern: '^[A-Za-z0-9][A-Za-z0-9_.+-]*$',
          description: 'rustup toolchain to build with (RUSTUP_TOOLCHAIN), e.g. nightly or 1.86; it must have a core for the BPF target (a prebuilt one, or buildStd with rust-src)',
        },
        rustc: { type: 'string', description: 'The rustc to build with (RUSTC), e.g. /usr/bin/rustc: Debian\'s, with the prebuilt BPF core of libstd-rust-web-dev-bpf' },
        cargo: { type: 'string', description: 'The cargo to run (default: CARGO, else cargo on PATH)' },
        buildStd: { type: 'boolean', description: 'Build core from source (-Z build-std=core): a nightly toolchain with rust-src' },
        env: { type: 'object', additionalProperties: { type: 'string' }, description: 'More environment variables for cargo (e.g. RUSTFLAGS); part of the cache key' },
      },
    },
    link: { $ref: '#/definitions/linkSettings' },
  },
} as const;

const library = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'sources'],
  description: 'A static library of bitcode: the sources are compiled and archived into lib<name>.a',
  properties: {
    name: { type: 'string', pattern: NAME_PATTERN, description: 'Library name; the archive is <outDir>/lib<name>.a' },
    output: { type: 'string', pattern: NAME_PATTERN, description: 'File name of the archive (default lib<name>.a)' },
    ...sourceFields,
    publicIncludeDirs: stringList('Include directories (relative to this project) added to the programs that link this library'),
  },
} as const;

export const BPF_CONFIG_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'bpf.config.json',
  description: 'BPF programs and libraries of one project, built with clang (or cargo) and bpf-linker',
  type: 'object',
  additionalProperties: false,
  anyOf: [{ required: ['programs'] }, { required: ['library'] }],
  properties: {
    $schema: { type: 'string' },
    outDir: { type: 'string', description: 'Output directory, relative to the project (default dist/bpf)' },
    compile: { $ref: '#/definitions/compileSettings' },
    link: { $ref: '#/definitions/linkSettings' },
    programs: { type: 'array', items: { oneOf: [{ $ref: '#/definitions/cProgram' }, { $ref: '#/definitions/rustProgram' }] } },
    library: { $ref: '#/definitions/library' },
  },
  definitions: { linkSettings, compileSettings, cProgram, rustProgram, library },
} as const;

/** The schema as the text of a .json file. */
export function bpfConfigSchemaJson(): string {
  return `${JSON.stringify(BPF_CONFIG_SCHEMA, null, 2)}\n`;
}
