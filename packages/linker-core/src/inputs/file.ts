/**
 * Bounded reads of files the linker is given: inputs, the export-symbols file, objects to
 * inspect or verify. Only regular files are read: a FIFO without a writer would block forever,
 * and a device such as /dev/zero would grow memory without limit. The size is checked before
 * reading, and the first bytes can be checked (the magic) before the rest is read.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { LinkError } from '../errors';

/** How much of a file `checkHeader` sees. */
export const HEADER_BYTES = 4096;

export interface RegularFileReadOptions {
  /** Larger files are refused with INPUT_TOO_LARGE. */
  maxBytes: number;
  /** What the file should be, for `PATH: is a FIFO (named pipe), not <noun>`: `an input file`. */
  noun: string;
  /** Hint when the file is not a regular file (a directory has its own hint). */
  notRegularHint?: string;
  /** Hint when the path is a directory (default: pass the input files inside it). */
  directoryHint?: string;
  /** Hint when the file is larger than maxBytes (the way to raise the limit, if any). */
  tooLargeHint: string;
  /** Called with the first bytes (up to HEADER_BYTES) and the size before the rest is read; throw to refuse the file. */
  checkHeader?: (header: Uint8Array, size: number) => void;
}

const DEFAULT_NOT_REGULAR_HINT = 'pass a regular file: save the data to a file first (pipes and devices are not read)';

/** What a file is, for messages: `a FIFO (named pipe)`, `a directory`, … */
export function describeFileType(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  return 'a special file';
}

/** `536870912 bytes (512 MiB)`. */
export function formatByteSize(n: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = '';
  for (const u of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  if (unit === '') return `${n} bytes`;
  const shown = Number.isInteger(value) ? String(value) : value.toFixed(1);
  return `${n} bytes (${shown} ${unit})`;
}

function notRegular(path: string, st: Stats, o: RegularFileReadOptions): LinkError {
  return new LinkError('INPUT_UNREADABLE', `${path}: is ${describeFileType(st)}, not ${o.noun}`, {
    file: path,
    hint: st.isDirectory() ? (o.directoryHint ?? 'pass the files inside it (objects, bitcode or archives)') : (o.notRegularHint ?? DEFAULT_NOT_REGULAR_HINT),
  });
}

function tooLarge(path: string, size: number, limit: number, hint: string): LinkError {
  return new LinkError('INPUT_TOO_LARGE', `${path}: the file is ${formatByteSize(size)}, more than the limit of ${formatByteSize(limit)}`, {
    file: path,
    hint,
  });
}

/** Reads into `buffer[offset..offset+length)` until full or end of file; returns the bytes read. */
function readFully(fd: number, buffer: Uint8Array, offset: number, length: number): number {
  let done = 0;
  while (done < length) {
    // readSync takes at most 2 GiB - 1 per call.
    const n = readSync(fd, buffer, offset + done, Math.min(length - done, 0x4000_0000), null);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/**
 * The bytes of the regular file at `path`, read through one descriptor. Refuses (LinkError)
 * anything that is not a regular file without reading from it, files larger than maxBytes, and
 * whatever checkHeader refuses. Errors of the file system (ENOENT, EACCES, …) are thrown as they
 * are, for the caller to word.
 */
export function readRegularFile(path: string, o: RegularFileReadOptions): Uint8Array {
  // stat first, so that a device is never even opened (opening some has effects of its own).
  const before = statSync(path);
  if (!before.isFile()) throw notRegular(path, before, o);
  // O_NONBLOCK: if the path was swapped for a FIFO meanwhile, open does not wait for a writer.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw notRegular(path, st, o);
    const limit = Math.min(o.maxBytes, bufferConstants.MAX_LENGTH);
    if (st.size > o.maxBytes) throw tooLarge(path, st.size, o.maxBytes, o.tooLargeHint);
    if (st.size > limit) {
      throw tooLarge(path, st.size, limit, `Node.js cannot hold a file this large in memory (${formatByteSize(bufferConstants.MAX_LENGTH)} at most)`);
    }
    const header = new Uint8Array(Math.min(HEADER_BYTES, st.size));
    const headerLength = readFully(fd, header, 0, header.length);
    o.checkHeader?.(header.subarray(0, headerLength), st.size);
    if (headerLength < header.length || headerLength === st.size) return header.subarray(0, headerLength);
    // The size from fstat: a file that grows while it is read is read as it was.
    const bytes = new Uint8Array(st.size);
    bytes.set(header);
    const rest = readFully(fd, bytes, headerLength, st.size - headerLength);
    return bytes.subarray(0, headerLength + rest);
  } finally {
    closeSync(fd);
  }
}
