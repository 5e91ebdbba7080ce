/** What the `verify` and `inspect` commands share: a small argument parser and reading objects. */
import { DEFAULT_MAX_INPUT_SIZE, EM_BPF, LinkError, formatError, isElf, readElf, readRegularFile } from '@bpf-linker/core';

export interface CommandFlag {
  /** Long name without `--`. */
  long: string;
  short?: string;
  /** Value placeholder; absent for flags. */
  value?: string;
}

export interface ParsedCommandArgs {
  positionals: string[];
  /** Flags given, by long name: `true` for flags, the value for options (the last one wins). */
  flags: Map<string, string | true>;
}

/** `--flag`, `--opt VALUE`, `--opt=VALUE`, `-h`, `--` and positionals, in any order. */
export function parseCommandArgs(command: string, argv: readonly string[], known: readonly CommandFlag[]): ParsedCommandArgs {
  const parsed: ParsedCommandArgs = { positionals: [], flags: new Map() };
  let positionalOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (positionalOnly || arg === '-' || !arg.startsWith('-')) {
      parsed.positionals.push(arg);
      continue;
    }
    if (arg === '--') {
      positionalOnly = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') ? arg.slice(2, eq < 0 ? undefined : eq) : arg.slice(1);
    const flag = known.find((f) => (arg.startsWith('--') ? f.long === name : f.short === name));
    if (flag === undefined) {
      throw usage(command, `unexpected argument '${arg}' found`, `to pass '${arg}' as a file, put it after '--'`);
    }
    if (flag.value === undefined) {
      if (eq >= 0) throw usage(command, `'--${flag.long}' takes no value`);
      parsed.flags.set(flag.long, true);
    } else if (eq >= 0 && arg.startsWith('--')) {
      parsed.flags.set(flag.long, arg.slice(eq + 1));
    } else {
      const value = argv[++i];
      if (value === undefined) throw usage(command, `a value is required for '--${flag.long} <${flag.value}>'`);
      parsed.flags.set(flag.long, value);
    }
  }
  return parsed;
}

export function usage(command: string, message: string, hint?: string): LinkError {
  const more = `for more information, try 'bpf-linker ${command} --help'`;
  return new LinkError('INVALID_ARGUMENT', message, { hint: hint ? `${hint}; ${more}` : more });
}

/** What the usual errors of opening a file mean, in words. */
const ERRNO_WORDS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a component of the path is not a directory',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
};

/**
 * The bytes of a BPF ELF object, or an error that says what the file is instead. Only regular
 * files of at most DEFAULT_MAX_INPUT_SIZE are read, and only after their first bytes are ELF.
 */
export function readBpfObjectFile(path: string): Uint8Array {
  const notBpf = (machine: number | undefined) =>
    new LinkError('INVALID_INPUT', `${path} is not a BPF object (${machine === undefined ? 'not an ELF file' : `ELF for machine ${machine}`})`, {
      file: path,
      hint: 'link bitcode into an object first: bpf-linker -o prog.o <inputs>... (the default --emit obj)',
    });
  let bytes: Uint8Array;
  try {
    bytes = readRegularFile(path, {
      maxBytes: DEFAULT_MAX_INPUT_SIZE,
      noun: 'a BPF object',
      notRegularHint: 'pass the path of a BPF object file (the output of bpf-linker, or clang -target bpf -c)',
      tooLargeHint: 'pass the path of a BPF object (the output of bpf-linker, or clang -target bpf -c)',
      checkHeader: (header) => {
        if (!isElf(header)) throw notBpf(undefined);
      },
    });
  } catch (e) {
    if (e instanceof LinkError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new LinkError('INPUT_NOT_FOUND', `cannot read ${path}: ${(code && ERRNO_WORDS[code]) ?? code ?? (e as Error).message}`, {
      file: path,
      hint: 'pass the path of a BPF object (the output of bpf-linker, or clang -target bpf -c)',
    });
  }
  const machine = isElf(bytes) ? readElf(bytes).machine : undefined;
  if (machine !== EM_BPF) throw notBpf(machine);
  return bytes;
}

/** `Error: <message>\n  hint: <hint>` on stderr, as the linker prints its errors. */
export function printError(e: unknown): void {
  process.stderr.write(`Error: ${formatError(e)}\n`);
}

/** An error as JSON output carries it. */
export function errorJson(e: unknown): { code: string; message: string; hint?: string } {
  if (e instanceof LinkError) return e.hint ? { code: e.code, message: e.message, hint: e.hint } : { code: e.code, message: e.message };
  return { code: 'INTERNAL', message: (e as Error)?.message ?? String(e) };
}
