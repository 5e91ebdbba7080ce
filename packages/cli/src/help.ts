/**
 * The `--help` and `--version` texts. Both are printed to stdout by the CLI main, which adds the
 * final newline. Every option `parseArgs` accepts appears here (the tests check it), except the
 * hidden `--debug`, which is only mentioned in the compatibility note.
 */

/** Column where option descriptions start, and the width descriptions are wrapped to. */
const DESCRIPTION_COLUMN = 32;
const WIDTH = 100;

type OptionRow = readonly [flags: string, description: string];

interface OptionGroup {
  readonly title: string;
  readonly rows: readonly OptionRow[];
  /** Text printed after the rows, already laid out. */
  readonly note?: string;
}

const GROUPS: readonly OptionGroup[] = [
  {
    title: 'Inputs',
    rows: [
      ['    --max-input-size <BYTES>', 'Refuse an input (or --export-symbols file) larger than BYTES; K, M and G suffixes are powers of 1024 [default: 512M]'],
      ['    --whole-archive', 'Link every member of every archive [default: only the members the link needs]'],
      ['    --allow-undefined', 'Write the object although a symbol it refers to is defined by no input [default: an error]'],
    ],
    note: [
      'Inputs must be regular files: pipes, devices and directories are refused without being read.',
      'An archive member (a .a, an rlib) is linked only if it defines a symbol still undefined, an exported',
      'name, a memory builtin, or (default and --internalize modes) a program, map or other libbpf-visible',
      'definition, as ld does; archives may depend on each other in any order. A link of only archives',
      'links all their members. --report lists the members left out.',
      'A reference to a function or variable that no input defines is an error naming it and the inputs',
      'that refer to it, except kernel externs (__ksym, __kconfig) and weak references, which libbpf',
      'resolves when loading. --allow-undefined leaves them to a later link with libbpf\'s static linker',
      '(bpftool gen object). IR and bitcode outputs (--emit llvm-ir, llvm-bc) are not checked.',
    ].join('\n'),
  },
  {
    title: 'Output',
    rows: [
      ['-o, --output <OUTPUT>', 'Write the result to OUTPUT (required)'],
      ['    --emit <TYPE>', 'obj, asm, llvm-ir or llvm-bc; the first --emit wins [default: obj]'],
    ],
    note: [
      'OUTPUT is written atomically (a temporary file, then a rename). Before linking, a run is refused',
      'if an output (-o, --report, --log-file, the --dump-module files) is one of the inputs, is an',
      'existing pipe, device or directory, or is the same file as another output.',
    ].join('\n'),
  },
  {
    title: 'Optimization and code generation',
    rows: [
      ['-O <LEVEL>', '0, 1, 2, 3, s or z (-O2, -O=2, -O 2); the last -O wins [default: 2]'],
      ['    --target <TRIPLE>', "Triple for codegen [default: the inputs' bpf* triple, else bpf]"],
      ['    --cpu <CPU>', 'generic, probe (ask the kernel), v1, v2, v3, v4 [default: see below]'],
      ['    --cpu-features <FEATURES>', "LLVM features, e.g. +alu32,-dwarfris or -alu32 [default: the inputs']"],
      ['    --unroll-loops', 'Unroll loops hard, for kernels without bounded loops [default: off]'],
      ['    --ignore-inline-never', 'Drop noinline, for kernels without BPF-to-BPF calls [default: off]'],
      ['    --disable-expand-memcpy-in-order', "Never expand memcpy in order [default: when memset/memmove are defined]"],
      ['    --allow-bpf-trap', 'Let LLVM emit __bpf_trap calls for unreachable code [default: off]'],
      ['    --llvm-args <ARGS>', 'Comma-separated options for LLVM; repeatable [default: none]'],
    ],
    note: [
      'Without --cpu, code is generated for the CPU the inputs were compiled for: clang -mcpu=X, or',
      "without -mcpu the compiling LLVM's default (v3 since LLVM 20, v1 before). Inputs compiled for",
      'different CPUs get the lowest (generic = v1 < v2 < v3 < v4), with a warning. --log-level=info',
      'and --report say which CPU was used and why.',
    ].join('\n'),
  },
  {
    title: 'CO-RE for Rust',
    rows: [
      ['    --core-btf <FILE>', 'Kernel BTF (/sys/kernel/btf/vmlinux, or a vmlinux with .BTF) whose structs and unions are relocatable [default: none]'],
      ['    --core-types <TYPES>', 'Comma-separated struct/union names that are relocatable too; repeatable [default: none]'],
      ['    --core <MODE>', 'off, or auto: --core-btf /sys/kernel/btf/vmlinux when it exists and the inputs are Rust [default: off]'],
      ['    --core-strict', 'Fail when an access to a relocatable type cannot be made relocatable [default: report it]'],
    ],
    note: [
      'rustc bakes in the field offsets of the kernel its bindings came from. With --core-btf (and',
      '--btf), every field access in Rust code through a pointer to a struct or union that the BTF also',
      'has (by name and kind) becomes a CO-RE relocation, as clang emits for preserve_access_index types,',
      'and libbpf, Aya or cilium/ebpf fix the offset for the running kernel at load time. An access is',
      'rewritten only when its member path exists in that BTF (by name, with a compatible kind); one that',
      'does not, or that cannot be mapped from the debug info, is left as it is and reported',
      '(--log-level=info, --report). Stack, global and map memory is never relocated; C is untouched.',
    ].join('\n'),
  },
  {
    title: 'Exports',
    rows: [
      ['    --export <SYMBOLS>', 'Comma-separated symbols to keep external; repeatable [default: none]'],
      ['    --export-symbols <PATH>', 'File of symbols to keep external, one per line [default: none]'],
      ['    --internalize', 'Internalize all but the libbpf interface and the list [default: off]'],
      ['    --disable-memory-builtins', "Don't export memcpy memmove memset memcmp bcmp [default: exported]"],
    ],
    note: [
      'Export modes decide which symbols stay external; internal symbols that nothing uses are removed:',
      '  explicit       --export and/or --export-symbols given (what rustc does): those symbols plus the',
      '                 memory builtins stay external, everything else is internalized.',
      '  default        no list and no --internalize: every symbol keeps the linkage it has in its source.',
      '  --internalize  keep programs, maps, license, version, globals in .data/.rodata/.bss/.kconfig and',
      '                 the listed symbols; internalize the rest.',
    ].join('\n'),
  },
  {
    title: 'Debug info and BTF',
    rows: [
      ['    --btf', 'Keep debug info, sanitized, so LLVM emits .BTF [default: stripped]'],
      ['    --dump-module <DIR>', 'Write pre-opt.ll and post-opt.ll into DIR [default: off]'],
      ['    --source-root <DIR>', 'Read the source lines for BTF line info relative to DIR [default: the working directory]'],
    ],
  },
  {
    title: 'Reports',
    rows: [
      ['    --report <PATH>', 'Write a JSON link report to PATH: the input (file or archive member) that defined each symbol, and which symbols stayed exported, were internalized or were removed by optimization, the CPU the code was generated for and why, plus stage times [default: off]'],
      ['    --timings', 'Print how long each stage took to stderr, on one line: stage times (ms): read …, choose-llvm …, link …, debug-info …, internalize …, core … (CO-RE), optimize …, partition …, codegen …, merge …, write …, total …; a partitioned link adds a line with each partition\'s code generation time [default: off]'],
    ],
  },
  {
    title: 'Partitioned code generation',
    rows: [
      ['    --partitions <off|auto|N>', 'Generate code for a big module as partitions (each program with the static helpers it reaches; the non-static variables in the first), in parallel, merged by libbpf\'s linker (libbpf1). Programs sharing no static helper are split before optimization and optimized in parallel too. auto splits modules from 500 basic blocks into 2-16 partitions; N forces N; off keeps one module. Small links are unchanged [default: auto]'],
      ['-j, --jobs <N>', 'Worker threads for partitioned optimization and code generation; the output is the same bytes for any N [default: the available cores]'],
    ],
  },
  {
    title: 'LLVM selection',
    rows: [
      ['    --llvm-path <PATH>', 'libLLVM to use: a library file or an install prefix [default: auto]'],
      ['    --print-llvm', 'List candidate libLLVMs and the one that would be chosen, then exit'],
    ],
    note: [
      'By default the libLLVM is chosen to match the LLVM version that produced the inputs. The',
      'environment variable BPF_LINKER_LLVM names one like --llvm-path does; --llvm-path wins.',
    ].join('\n'),
  },
  {
    title: 'Logging and diagnostics',
    rows: [
      ['    --log-level <LEVEL>', 'error, warn, info, debug or trace, in any case [default: warn]'],
      ['    --log-file <PATH>', 'Append the log to PATH and print it on stdout [default: stderr]'],
      ['    --fatal-errors <BOOL>', 'true or false: fail if LLVM reported an error [default: true]'],
    ],
  },
  {
    title: 'rustc compatibility',
    rows: [['-L <DIR>', 'Library search path: accepted because rustc passes it, and ignored']],
    note: [
      'Inputs are never looked up on a search path. --debug, which rustc always passes, is ignored',
      'too; -flavor (wasm-ld) is rejected.',
    ].join('\n'),
  },
  {
    title: 'Other',
    rows: [
      ['-h, --help', 'Print this help'],
      ['-V, --version', 'Print the version'],
    ],
  },
];

const PREAMBLE = [
  'Links LLVM bitcode into a BPF object. rustc runs it as the linker for bpfel-unknown-none and',
  'bpfeb-unknown-none; it can also link bitcode from clang.',
  '',
  'Usage: bpf-linker [OPTIONS] --output <OUTPUT> <INPUTS>...',
  '       bpf-linker --print-llvm [--llvm-path <PATH>]',
  '       bpf-linker verify <OBJECT>... [--json] [--logs]',
  '       bpf-linker inspect <OBJECT> [--json] [--btf]',
  '',
  'Commands (the first argument, when it is exactly the word and no file of that name exists here):',
  "  verify   Load every program of each object into the running kernel's verifier (through libbpf)",
  "           and print each program's verdict, with the verifier's log for rejected ones; nothing",
  '           stays loaded. Needs root or CAP_BPF. Exit status: 0 all accepted, 1 a program was',
  '           rejected, 2 verification could not run. More: bpf-linker verify --help',
  '  inspect  Show what an object contains: programs (section, instructions, calls, back-edges), maps',
  '           (type, key/value sizes), globals and BTF data sections, license, BTF, section sizes.',
  '           More: bpf-linker inspect --help',
  '',
  'Arguments:',
  '  <INPUTS>...  Files to link, in order: LLVM bitcode or IR text, ELF objects with a .llvmbc section,',
  '               ar archives (rlibs, .a; every member is linked). Detected by content, not by name.',
  "               ELF files without bitcode (rustc's symbols.o, lib.rmeta) are skipped.",
].join('\n');

const EPILOGUE = [
  'Every option also accepts the --option=value form; use -- before inputs whose names start with -.',
  '',
  'Environment:',
  '  BPF_LINKER_LLVM  libLLVM to load: a library file or an install prefix (see LLVM selection)',
  '  BPF_LINKER_READ_TIMEOUT=<s>     stop reading one input after <s> + 2 per MB (default 20)',
  '  BPF_LINKER_CODEGEN_TIMEOUT=<s>  stop optimizing or generating code after <s> + 60 per MB',
  '                                  of input (default 300): LLVM loops forever on some modules',
  '  BPF_LINKER_CRASH_GUARD=0        no watcher: a crash inside libLLVM is not attributed',
].join('\n');

export const HELP_TEXT: string = [
  PREAMBLE,
  ...GROUPS.map(formatGroup),
  EPILOGUE,
].join('\n\n');

/** What `--version` prints (without the final newline). */
export function versionText(version: string): string {
  return `bpf-linker ${version}`;
}

function formatGroup(group: OptionGroup): string {
  const lines = [`${group.title}:`, ...group.rows.map(formatRow)];
  if (group.note !== undefined) lines.push('', group.note);
  return lines.join('\n');
}

/** `  flags   description`, wrapped at WIDTH with a hanging indent; long flags get their own line. */
function formatRow([flags, description]: OptionRow): string {
  const head = `  ${flags}`;
  const indent = ' '.repeat(DESCRIPTION_COLUMN);
  const lines: string[] = [];
  let line = head.length + 2 <= DESCRIPTION_COLUMN ? head.padEnd(DESCRIPTION_COLUMN) : (lines.push(head), indent);
  let lineHasWords = false;
  for (const word of description.split(' ')) {
    if (lineHasWords && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = indent;
      lineHasWords = false;
    }
    line += lineHasWords ? ` ${word}` : word;
    lineHasWords = true;
  }
  lines.push(line);
  return lines.join('\n');
}
