/**
 * Errors of the object readers. A reader only sees bytes, so it says what is wrong
 * (`bad BTF magic 0x1234`, `section header table … lies outside the 300-byte file`) and the
 * caller, who knows the path, turns that into a LinkError naming the file with objectError().
 */
import { LinkError } from '../errors';
import { ElfFormatError } from '../inputs/elf';

/** What to do about a corrupt object. */
export const CORRUPT_OBJECT_HINT =
  'the file is truncated or damaged: link it again (bpf-linker -o <object> <inputs>...) or rebuild it with clang -target bpf -c';

/**
 * A malformed BPF object, found by one of the readers of this directory (ELF layout, code,
 * `.BTF`, `.BTF.ext`). A LinkError with code OBJECT_INVALID and no file: objectError() adds it.
 */
export class ObjectFormatError extends LinkError {
  constructor(message: string) {
    super('OBJECT_INVALID', message, { hint: CORRUPT_OBJECT_HINT });
    this.name = 'ObjectFormatError';
  }
}

/**
 * The error to report for `e`, thrown while reading the object at `file`: always a LinkError
 * naming the file, never a stack trace.
 *
 * - a LinkError that already names a file is returned as it is;
 * - a format error of the readers (ours, or the ELF reader's) becomes
 *   `<file>: not a valid BPF object: <what is wrong>`;
 * - anything else (a RangeError, a TypeError: a check a reader is missing) is reported the same
 *   way, marked `unexpected <name> in the object reader` so that it can be found and fixed.
 */
export function objectError(file: string, e: unknown): LinkError {
  if (e instanceof LinkError && e.file !== undefined) return e;
  if (e instanceof LinkError && e.code !== 'OBJECT_INVALID') {
    return new LinkError(e.code, `${file}: ${e.message}`, { file, hint: e.hint, output: e.output, cause: e });
  }
  const known = e instanceof LinkError || e instanceof ElfFormatError;
  const message = e instanceof Error ? e.message : String(e);
  const what = known ? message : `unexpected ${(e as Error)?.name ?? 'error'} in the object reader: ${message}`;
  const hint = known ? CORRUPT_OBJECT_HINT : `${CORRUPT_OBJECT_HINT}; if it is not damaged, report this with the file`;
  return new LinkError('OBJECT_INVALID', `${file}: not a valid BPF object: ${what}`, { file, hint, cause: e });
}

/** Runs `read` (a reader over the bytes of `file`); any error it throws comes out through objectError(). */
export function readingObject<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    throw objectError(file, e);
  }
}

/**
 * Runs `read`; a format error it throws gets `context` in front of its message (`.BTF section: bad
 * BTF magic …`), so the user learns which part of the object is broken. Other errors pass as they are.
 */
export function inContext<T>(context: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if ((e instanceof ObjectFormatError || e instanceof ElfFormatError) && !e.message.startsWith(`${context}: `)) {
      e.message = `${context}: ${e.message}`;
    }
    throw e;
  }
}

/** A name read from a (possibly corrupt) object, safe to put in a message: quoted, control bytes escaped, at most 64 characters. */
export function quoteName(name: string): string {
  const escaped = name.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `'${escaped.length > 64 ? `${escaped.slice(0, 64)}…` : escaped}'`;
}
