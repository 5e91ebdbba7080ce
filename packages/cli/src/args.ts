/**
 * The `bpf-linker` command line, parsed the way upstream's clap parser does it, into plain data.
 *
 * Pure: no file system, no environment, no process state. The export-symbols file is only named
 * here; the CLI main reads it and merges `readExportSymbolsFile(text)` into `options.exports`.
 *
 * Compatibility notes (aya-rs/bpf-linker, clap 4):
 * - `-flavor` is rewritten to `--flavor`, which is an unknown option (the wasm-ld flags are gone).
 * - `--emit`: the first occurrence wins (compiletest appends its own `--emit` after the test's).
 * - `-O`: the last occurrence wins (rustc sends `-O0`..`-O3`, `-Os`, `-Oz`).
 * - `--export` and `--llvm-args` are repeatable comma-separated lists; a positional argument after
 *   `--export foo` is an input, never another export (upstream issue #27).
 * - A separate value that starts with `-` is taken only by `--cpu-features` (rustc passes
 *   `--cpu-features -alu32`) and `--llvm-args` (LLVM options start with `-`); any other option
 *   reports the value as missing, as clap does. `--opt=-value` always works.
 * - `-L` and `--debug` are accepted for rustc and ignored.
 * Deliberate differences: `--cpu v4` is accepted; repeating a single-value option (other than
 * `--output`) keeps the last value instead of failing, so a user's `-C link-arg=--cpu=v3` can
 * override the `--cpu` rustc passes first; bare `--fatal-errors` means `true`.
 */
import { BPF_CPUS, CORE_MODES, LOG_LEVELS, OPT_LEVELS, OUTPUT_KINDS, defaultLinkOptions } from '@bpf-linker/core';
import type { BpfCpu, CoreMode, LinkOptions, LogLevel, OptLevel, OutputKind } from '@bpf-linker/core';
import { LinkError } from '@bpf-linker/core';

export type ParsedCommand =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'print-llvm'; llvmPath?: string }
  | {
      kind: 'link';
      options: LinkOptions;
      log: { level?: LogLevel; file?: string };
      /** Path given with `--export-symbols`; read it and merge `readExportSymbolsFile` into `options.exports`. */
      exportSymbolsFile?: string;
      /** `--report PATH`: link with `report: true` in the LinkEnvironment and write LinkResult.report there as JSON. */
      reportFile?: string;
      /** `--timings`: print the time of each stage to stderr. */
      timings?: true;
    };

type OptionId =
  | 'output'
  | 'emit'
  | 'opt-level'
  | 'target'
  | 'cpu'
  | 'cpu-features'
  | 'btf'
  | 'allow-bpf-trap'
  | 'export'
  | 'export-symbols'
  | 'internalize'
  | 'library-path'
  | 'llvm-args'
  | 'unroll-loops'
  | 'ignore-inline-never'
  | 'disable-expand-memcpy-in-order'
  | 'disable-memory-builtins'
  | 'whole-archive'
  | 'allow-undefined'
  | 'core'
  | 'core-btf'
  | 'core-types'
  | 'core-strict'
  | 'dump-module'
  | 'source-root'
  | 'log-level'
  | 'log-file'
  | 'fatal-errors'
  | 'debug'
  | 'llvm-path'
  | 'print-llvm'
  | 'report'
  | 'timings'
  | 'max-input-size'
  | 'partitions'
  | 'jobs'
  | 'help'
  | 'version';

/** One command-line option. Exported so the help text can be checked against the parser. */
export interface CliOption {
  readonly id: OptionId;
  /** Long name without the leading `--`. */
  readonly long?: string;
  /** Short name without the leading `-`. */
  readonly short?: string;
  /** Value placeholder; absent for flags. */
  readonly value?: string;
  /** `--fatal-errors`: the value may be left out (then it is `true`). */
  readonly optionalValue?: boolean;
  /**
   * Whether a separate value may start with `-`: `'single'` accepts `-x` but not `--x`
   * (CPU feature strings), `'any'` accepts everything (LLVM options).
   */
  readonly hyphenValues?: 'single' | 'any';
  /** The value may be the empty string (`--cpu-features=`). */
  readonly allowEmpty?: boolean;
  /** Accepted but not shown in --help. */
  readonly hidden?: boolean;
}

export const CLI_OPTIONS: readonly CliOption[] = [
  { id: 'output', long: 'output', short: 'o', value: 'OUTPUT' },
  { id: 'emit', long: 'emit', value: 'TYPE' },
  { id: 'opt-level', short: 'O', value: 'LEVEL' },
  { id: 'target', long: 'target', value: 'TRIPLE' },
  { id: 'cpu', long: 'cpu', value: 'CPU' },
  { id: 'cpu-features', long: 'cpu-features', value: 'FEATURES', hyphenValues: 'single', allowEmpty: true },
  { id: 'btf', long: 'btf' },
  { id: 'allow-bpf-trap', long: 'allow-bpf-trap' },
  { id: 'export', long: 'export', value: 'SYMBOLS', allowEmpty: true },
  { id: 'export-symbols', long: 'export-symbols', value: 'PATH' },
  { id: 'internalize', long: 'internalize' },
  { id: 'library-path', short: 'L', value: 'DIR' },
  { id: 'llvm-args', long: 'llvm-args', value: 'ARGS', hyphenValues: 'any', allowEmpty: true },
  { id: 'unroll-loops', long: 'unroll-loops' },
  { id: 'ignore-inline-never', long: 'ignore-inline-never' },
  { id: 'disable-expand-memcpy-in-order', long: 'disable-expand-memcpy-in-order' },
  { id: 'disable-memory-builtins', long: 'disable-memory-builtins' },
  { id: 'whole-archive', long: 'whole-archive' },
  { id: 'allow-undefined', long: 'allow-undefined' },
  { id: 'core', long: 'core', value: 'MODE' },
  { id: 'core-btf', long: 'core-btf', value: 'FILE' },
  { id: 'core-types', long: 'core-types', value: 'TYPES' },
  { id: 'core-strict', long: 'core-strict' },
  { id: 'dump-module', long: 'dump-module', value: 'DIR' },
  { id: 'source-root', long: 'source-root', value: 'DIR' },
  { id: 'log-level', long: 'log-level', value: 'LEVEL' },
  { id: 'log-file', long: 'log-file', value: 'PATH' },
  { id: 'fatal-errors', long: 'fatal-errors', value: 'BOOL', optionalValue: true },
  { id: 'debug', long: 'debug', hidden: true },
  { id: 'llvm-path', long: 'llvm-path', value: 'PATH' },
  { id: 'print-llvm', long: 'print-llvm' },
  { id: 'report', long: 'report', value: 'PATH' },
  { id: 'timings', long: 'timings' },
  { id: 'max-input-size', long: 'max-input-size', value: 'BYTES' },
  { id: 'partitions', long: 'partitions', value: 'off|auto|N' },
  { id: 'jobs', long: 'jobs', short: 'j', value: 'N' },
  { id: 'help', long: 'help', short: 'h' },
  { id: 'version', long: 'version', short: 'V' },
];

const BY_LONG = new Map(CLI_OPTIONS.filter((o) => o.long).map((o) => [o.long as string, o]));
const BY_SHORT = new Map(CLI_OPTIONS.filter((o) => o.short).map((o) => [o.short as string, o]));

const MORE_INFO = "for more information, try '--help'";

/** Split the contents of an `--export-symbols` file into symbol names: one per line, LF or CRLF. */
export function readExportSymbolsFile(text: string | Uint8Array): string[] {
  let content: string;
  if (typeof text === 'string') {
    content = text;
  } else {
    try {
      content = new TextDecoder('utf-8', { fatal: true }).decode(text);
    } catch (cause) {
      throw new LinkError('INVALID_ARGUMENT', 'export symbols file is not valid UTF-8', {
        hint: 'the file given to --export-symbols must list one symbol name per line, in UTF-8',
        cause,
      });
    }
  }
  if (content.startsWith('\uFEFF')) content = content.slice(1);
  // Empty lines (a trailing newline, blank lines) name no symbol and are dropped.
  return content.split(/\r?\n/).filter((line) => line.length > 0);
}

/** Parse `argv` (without the program name). Throws LinkError('INVALID_ARGUMENT') on bad input. */
export function parseArgs(argv: readonly string[]): ParsedCommand {
  const args = argv.map((arg) => (arg === '-flavor' ? '--flavor' : arg));
  const state = new ParseState();
  let index = 0;
  let positionalOnly = false;

  /** The value of `option` when it was not written inline: the next argument, if it can be one. */
  const takeSeparateValue = (option: CliOption): string => {
    const next = args[index];
    if (next === undefined || !canBeSeparateValue(option, next)) {
      throw missingValue(option, next);
    }
    index++;
    return next;
  };

  while (index < args.length) {
    const arg = args[index++];

    if (positionalOnly || arg === '-' || !arg.startsWith('-')) {
      state.inputs.push(arg);
      continue;
    }
    if (arg === '--') {
      positionalOnly = true;
      continue;
    }

    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const inline = eq < 0 ? undefined : arg.slice(eq + 1);
      const option = BY_LONG.get(name);
      if (option === undefined) throw unknownArgument(`--${name}`);

      let value: string | undefined;
      if (option.value === undefined) {
        if (inline !== undefined) {
          throw invalid(`unexpected value '${inline}' for '--${name}' found; no more were expected`, `'--${name}' is a flag and takes no value; ${MORE_INFO}`);
        }
      } else if (inline !== undefined) {
        value = inline;
      } else if (option.optionalValue) {
        // `--fatal-errors` alone means true; `--fatal-errors false` (or no, 0, off, ...) takes the
        // next argument: a file named like a boolean needs `--` before it.
        const next = args[index];
        if (next !== undefined && BOOL_WORDS.has(next.toLowerCase())) {
          value = next;
          index++;
        }
      } else {
        value = takeSeparateValue(option);
      }
      const stop = state.apply(option, value);
      if (stop !== undefined) return stop;
      continue;
    }

    // A cluster of short options: `-hV`, `-O2`, `-O=2`, `-ofile`, `-L.`.
    let at = 1;
    while (at < arg.length) {
      const letter = arg[at++];
      const option = BY_SHORT.get(letter);
      if (option === undefined) throw unknownArgument(`-${letter}`, arg);
      let value: string | undefined;
      if (option.value !== undefined) {
        const rest = arg.slice(at);
        value = rest.length > 0 ? (rest.startsWith('=') ? rest.slice(1) : rest) : takeSeparateValue(option);
        at = arg.length; // the value used up the rest of the cluster
      }
      const stop = state.apply(option, value);
      if (stop !== undefined) return stop;
    }
  }

  return state.finish();
}

/**
 * The accumulated command line. `apply` validates one occurrence of an option as it is seen and
 * returns a command when that option ends parsing (`--help`, `--version`), as clap does.
 */
class ParseState {
  readonly inputs: string[] = [];
  readonly options: LinkOptions = defaultLinkOptions();
  readonly log: { level?: LogLevel; file?: string } = {};
  exportSymbolsFile?: string;
  reportFile?: string;
  timings = false;
  private emitSeen = false;
  private outputSeen = false;
  private printLlvm = false;

  apply(option: CliOption, value: string | undefined): ParsedCommand | undefined {
    if (value === '' && option.value !== undefined && !option.allowEmpty) {
      throw missingValue(option, undefined);
    }
    const v = value as string;
    const o = this.options;
    switch (option.id) {
      case 'help':
        return { kind: 'help' };
      case 'version':
        return { kind: 'version' };
      case 'output':
        if (this.outputSeen && o.output !== v) {
          throw invalid(`the argument '--output <OUTPUT>' cannot be used multiple times`, `give exactly one -o/--output; ${MORE_INFO}`);
        }
        this.outputSeen = true;
        o.output = v;
        break;
      case 'emit': {
        // Validated even when an earlier --emit already decided the output type.
        const kind = parseOutputKind(v);
        if (!this.emitSeen) o.emit = kind;
        this.emitSeen = true;
        break;
      }
      case 'opt-level':
        o.optLevel = parseOptLevel(v);
        break;
      case 'target':
        o.target = v;
        break;
      case 'cpu':
        o.cpu = parseCpu(v);
        break;
      case 'cpu-features':
        o.cpuFeatures = v;
        break;
      case 'btf':
        o.btf = true;
        break;
      case 'allow-bpf-trap':
        o.allowBpfTrap = true;
        break;
      case 'export':
        o.exports.push(...splitList(v));
        break;
      case 'export-symbols':
        this.exportSymbolsFile = v;
        break;
      case 'internalize':
        o.internalize = true;
        break;
      case 'library-path':
        o.libraryPaths.push(v);
        break;
      case 'llvm-args':
        o.llvmArgs.push(...splitList(v));
        break;
      case 'unroll-loops':
        o.unrollLoops = true;
        break;
      case 'ignore-inline-never':
        o.ignoreInlineNever = true;
        break;
      case 'disable-expand-memcpy-in-order':
        o.disableExpandMemcpyInOrder = true;
        break;
      case 'disable-memory-builtins':
        o.disableMemoryBuiltins = true;
        break;
      case 'whole-archive':
        o.wholeArchive = true;
        break;
      case 'allow-undefined':
        o.allowUndefined = true;
        break;
      case 'core':
        o.core = parseCoreMode(v);
        break;
      case 'core-btf':
        o.coreBtf = v;
        break;
      case 'core-types':
        o.coreTypes = [...(o.coreTypes ?? []), ...splitList(v)];
        break;
      case 'core-strict':
        o.coreStrict = true;
        break;
      case 'dump-module':
        o.dumpModule = v;
        break;
      case 'source-root':
        o.sourceRoot = v;
        break;
      case 'log-level':
        this.log.level = parseLogLevel(v);
        break;
      case 'log-file':
        this.log.file = parseLogFile(v);
        break;
      case 'fatal-errors':
        o.fatalErrors = value === undefined ? true : parseBool(v, option);
        break;
      case 'debug':
        break; // rustc always passes it (wasm-ld heritage); it means nothing here.
      case 'llvm-path':
        o.llvmPath = v;
        break;
      case 'print-llvm':
        this.printLlvm = true;
        break;
      case 'report':
        this.reportFile = v;
        break;
      case 'timings':
        this.timings = true;
        break;
      case 'partitions':
        o.partitions = parsePartitions(v, option);
        break;
      case 'jobs':
        o.jobs = parseCount(v, option, 1, 256);
        break;
      case 'max-input-size':
        o.maxInputSize = parseByteSize(v, option);
        break;
    }
    return undefined;
  }

  finish(): ParsedCommand {
    if (this.printLlvm) {
      return this.options.llvmPath === undefined ? { kind: 'print-llvm' } : { kind: 'print-llvm', llvmPath: this.options.llvmPath };
    }
    const missing: string[] = [];
    if (this.options.output === undefined) missing.push('--output <OUTPUT>');
    if (this.inputs.length === 0) missing.push('<INPUTS>...');
    if (missing.length > 0) {
      throw invalid(
        `the following required arguments were not provided:\n${missing.map((m) => `  ${m}`).join('\n')}`,
        `usage: bpf-linker [OPTIONS] --output <OUTPUT> <INPUTS>...; ${MORE_INFO}`,
      );
    }
    this.options.inputs = this.inputs;
    const command: ParsedCommand = { kind: 'link', options: this.options, log: this.log };
    if (this.exportSymbolsFile !== undefined) command.exportSymbolsFile = this.exportSymbolsFile;
    if (this.reportFile !== undefined) command.reportFile = this.reportFile;
    if (this.timings) command.timings = true;
    return command;
  }
}

function parseOutputKind(value: string): OutputKind {
  if ((OUTPUT_KINDS as readonly string[]).includes(value)) return value as OutputKind;
  throw invalid(`unknown emission type: \`${value}\``, `expected one of: ${OUTPUT_KINDS.map((k) => `\`${k}\``).join(', ')}`);
}

function parseOptLevel(value: string): OptLevel {
  if ((OPT_LEVELS as readonly string[]).includes(value)) return value as OptLevel;
  throw invalid(
    `optimization level needs to be between 0-3, s or z (instead was \`${value}\`)`,
    `write -O0, -O1, -O2, -O3, -Os or -Oz`,
  );
}

function parseCoreMode(value: string): CoreMode {
  if ((CORE_MODES as readonly string[]).includes(value)) return value as CoreMode;
  throw invalid(`invalid CO-RE mode ${value}`, `valid modes: ${CORE_MODES.join(', ')} (--core-btf FILE names a kernel BTF explicitly)`);
}

function parseCpu(value: string): BpfCpu {
  if ((BPF_CPUS as readonly string[]).includes(value)) return value as BpfCpu;
  throw invalid(`invalid CPU ${value}`, `valid CPUs: ${BPF_CPUS.join(', ')}`);
}

/** Case-insensitive like tracing's `Level`, which also takes the numbers 1 (error) to 5 (trace). */
function parseLogLevel(value: string): LogLevel {
  const lower = value.toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(lower)) return lower as LogLevel;
  if (/^[1-5]$/.test(value)) return LOG_LEVELS[Number(value) - 1];
  throw invalid(`invalid log level \`${value}\``, `expected one of: ${LOG_LEVELS.join(', ')} (any case)`);
}

/** Upstream splits the path into directory and file name, so it must end in a file name. */
function parseLogFile(value: string): string {
  if (/(^|\/)\.{1,2}\/*$/.test(value) || /^\/+$/.test(value)) {
    throw invalid(`invalid log file \`${value}\`: the path must end in a file name`, `for example --log-file=bpf-linker.log`);
  }
  return value;
}

/** `1048576`, `512K`, `64M`, `2G` (powers of 1024, any case): a positive number of bytes. */
/** `--partitions off|auto|N`, N from 2 to 64 (one partition is `off`). */
function parsePartitions(value: string, option: CliOption): 'off' | 'auto' | number {
  if (value === 'off' || value === 'auto') return value;
  return parseCount(value, option, 2, 64, `off, auto, or a number of partitions from 2 to 64: ${inlineForm(option, '8')}`);
}

function parseCount(value: string, option: CliOption, min: number, max: number, hint = `a whole number from ${min} to ${max}: ${inlineForm(option, String(min + 1))}`): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw invalid(`invalid value '${value}' for '${display(option)}'`, hint);
  return n;
}

function parseByteSize(value: string, option: CliOption): number {
  const m = /^(\d+)([kmg]?)$/i.exec(value);
  const n = m ? Number(m[1]) * 1024 ** ' kmg'.indexOf(m[2].toLowerCase() || ' ') : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw invalid(`invalid size '${value}' for '${display(option)}'`, `a positive number of bytes, optionally with a K, M or G suffix (powers of 1024): ${inlineForm(option, '2G')}`);
  }
  return n;
}

/** Words for a boolean value, any case: true/false as upstream, and the usual synonyms. */
const BOOL_WORDS = new Map([
  ['true', true], ['yes', true], ['on', true], ['1', true],
  ['false', false], ['no', false], ['off', false], ['0', false],
]);

function parseBool(value: string, option: CliOption): boolean {
  const b = BOOL_WORDS.get(value.toLowerCase());
  if (b !== undefined) return b;
  throw invalid(`invalid value '${value}' for '${display(option)}'`, `possible values: true, false (or yes/no, on/off, 1/0); ${MORE_INFO}`);
}

/** `a,b` → [a, b]. Empty items (`a,,b`, a trailing comma) name nothing and are dropped. */
function splitList(value: string): string[] {
  return value.split(',').filter((item) => item.length > 0);
}

function canBeSeparateValue(option: CliOption, next: string): boolean {
  if (next === '-' || !next.startsWith('-')) return true;
  if (option.hyphenValues === 'any') return true;
  return option.hyphenValues === 'single' && !next.startsWith('--');
}

function display(option: CliOption): string {
  const name = option.long !== undefined ? `--${option.long}` : `-${option.short}`;
  return option.value === undefined ? name : `${name} <${option.value}>`;
}

/** The one-argument spelling: `--output=x`, `-Ox`. */
function inlineForm(option: CliOption, value: string): string {
  return option.long !== undefined ? `--${option.long}=${value}` : `-${option.short}${value}`;
}

function missingValue(option: CliOption, next: string | undefined): LinkError {
  const hint =
    next !== undefined && next.startsWith('-') && next !== '-'
      ? `'${next}' looks like an option; to pass a value that starts with '-', write ${inlineForm(option, next)}`
      : `write ${display(option)} or ${inlineForm(option, `<${option.value}>`)}; ${MORE_INFO}`;
  return invalid(`a value is required for '${display(option)}' but none was supplied`, hint);
}

function unknownArgument(name: string, whole?: string): LinkError {
  const hints: string[] = [];
  if (name === '--flavor') {
    hints.push("'-flavor'/'--flavor' belonged to the removed wasm-ld compatibility mode; drop it (and -C linker-flavor=wasm-ld)");
  } else {
    const similar = name.startsWith('--') ? closestLongOption(name.slice(2)) : undefined;
    if (similar !== undefined) hints.push(`a similar argument exists: '--${similar}'`);
    const asValue = whole ?? name;
    hints.push(`to pass '${asValue}' as an input file, put it after '--' ('-- ${asValue}')`);
  }
  hints.push(MORE_INFO);
  return invalid(`unexpected argument '${name}' found`, hints.join('; '));
}

function closestLongOption(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const option of CLI_OPTIONS) {
    if (option.long === undefined || option.hidden) continue;
    const distance = editDistance(name, option.long);
    if (distance < bestDistance) {
      best = option.long;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(name.length / 4)) ? best : undefined;
}

/** Edits (insert, delete, replace, swap two neighbours) from a to b: `bft` is one from `btf`. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

function invalid(message: string, hint?: string): LinkError {
  return new LinkError('INVALID_ARGUMENT', message, { hint: hint ?? MORE_INFO });
}
