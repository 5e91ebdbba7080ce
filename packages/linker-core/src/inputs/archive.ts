/**
 * A reader for `ar` archives (static libraries and rlibs) in the GNU and BSD variants.
 * bpf-linker links every member, so we need each member's name and bytes in order, and nothing
 * of the symbol tables. Every field is bounds-checked; a malformed archive throws
 * ArchiveFormatError naming the offset and the problem.
 *
 * Layout: the magic `!<arch>\n`, then per member a 60-byte header (name 16, date 12, uid 6,
 * gid 6, mode 8, size 10, terminator "`\n"), the data, and one padding byte after odd sizes.
 */

export class ArchiveFormatError extends Error {
  /**
   * @param unsupported true when the archive is well-formed but of a kind we do not read (thin
   *   archives), as opposed to damaged.
   */
  constructor(
    message: string,
    readonly unsupported = false,
  ) {
    super(message);
    this.name = 'ArchiveFormatError';
  }
}

export const ARCHIVE_MAGIC = '!<arch>\n';
export const THIN_ARCHIVE_MAGIC = '!<thin>\n';

const HEADER_SIZE = 60;
const NAME_FIELD = [0, 16] as const;
const SIZE_FIELD = [48, 58] as const;
const TERMINATOR = '`\n';

/** GNU symbol tables (32- and 64-bit) and BSD ones; all describe members, none is one. */
const SYMBOL_TABLE_NAMES = new Set(['/', '/SYM64/', '__.SYMDEF', '__.SYMDEF SORTED', '__.SYMDEF_64', '__.SYMDEF_64 SORTED']);
const GNU_NAME_TABLE = '//';

export interface ArchiveMember {
  name: string;
  bytes: Uint8Array;
}

function startsWithAscii(bytes: Uint8Array, text: string): boolean {
  if (bytes.length < text.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[i] !== text.charCodeAt(i)) return false;
  return true;
}

export function isArchive(bytes: Uint8Array): boolean {
  return startsWithAscii(bytes, ARCHIVE_MAGIC);
}

export function isThinArchive(bytes: Uint8Array): boolean {
  return startsWithAscii(bytes, THIN_ARCHIVE_MAGIC);
}

const latin1 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
const utf8 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');

/** Every member in archive order, without symbol tables and the GNU long-name table. */
export function readArchiveMembers(bytes: Uint8Array): ArchiveMember[] {
  if (isThinArchive(bytes)) {
    throw new ArchiveFormatError(
      'thin archives (!<thin>) are not supported: their members are stored in separate files; ' +
        'rebuild the archive without --thin (ar rcs / llvm-ar rcs)',
      true,
    );
  }
  if (!isArchive(bytes)) throw new ArchiveFormatError('not an ar archive (bad magic)');

  const members: ArchiveMember[] = [];
  let longNames: Uint8Array | undefined;
  let offset = ARCHIVE_MAGIC.length;
  // Each iteration consumes at least a 60-byte header, so this ends.
  while (offset < bytes.length) {
    if (offset + HEADER_SIZE > bytes.length) {
      throw new ArchiveFormatError(
        `member header at offset ${offset} is truncated (${bytes.length - offset} of ${HEADER_SIZE} bytes)`,
      );
    }
    const header = bytes.subarray(offset, offset + HEADER_SIZE);
    if (latin1(header.subarray(58, 60)) !== TERMINATOR) {
      throw new ArchiveFormatError(`member header at offset ${offset} does not end with "\`\\n" (corrupt header)`);
    }
    const rawName = latin1(header.subarray(...NAME_FIELD)).replace(/ +$/, '');
    const sizeText = latin1(header.subarray(...SIZE_FIELD)).replace(/ +$/, '');
    if (!/^\d+$/.test(sizeText)) {
      throw new ArchiveFormatError(`member header at offset ${offset} has an invalid size field "${sizeText}"`);
    }
    const size = Number(sizeText);
    const dataStart = offset + HEADER_SIZE;
    const dataEnd = dataStart + size;
    if (dataEnd > bytes.length) {
      throw new ArchiveFormatError(
        `member "${rawName}" at offset ${offset} is truncated: its size is ${size} bytes but only ${bytes.length - dataStart} remain`,
      );
    }
    let data = bytes.subarray(dataStart, dataEnd);
    let name: string;

    if (rawName.startsWith('#1/')) {
      // BSD: the real name is stored at the start of the data, NUL-padded by some writers.
      const lengthText = rawName.slice(3);
      if (!/^\d+$/.test(lengthText) || Number(lengthText) > size) {
        throw new ArchiveFormatError(`member header at offset ${offset} has an invalid BSD name length "${rawName}"`);
      }
      name = utf8(data.subarray(0, Number(lengthText))).replace(/\0+$/, '');
      data = data.subarray(Number(lengthText));
    } else if (rawName === GNU_NAME_TABLE) {
      longNames = data;
      name = GNU_NAME_TABLE;
    } else if (/^\/\d+$/.test(rawName)) {
      name = lookUpLongName(longNames, Number(rawName.slice(1)), offset);
    } else if (rawName.endsWith('/') && !SYMBOL_TABLE_NAMES.has(rawName)) {
      name = rawName.slice(0, -1); // GNU short names end with '/', so they may contain spaces
    } else {
      name = rawName;
    }

    if (name !== GNU_NAME_TABLE && !SYMBOL_TABLE_NAMES.has(name)) members.push({ name, bytes: data });

    // Odd sizes are followed by one padding byte; tolerate its absence after the last member.
    offset = dataEnd + (size % 2);
  }
  return members;
}

/** GNU `/<offset>`: the name is in the `//` member, terminated by "/\n". */
function lookUpLongName(table: Uint8Array | undefined, index: number, headerOffset: number): string {
  if (!table) {
    throw new ArchiveFormatError(`member header at offset ${headerOffset} refers to long name /${index} before any name table (//)`);
  }
  if (index >= table.length) {
    throw new ArchiveFormatError(
      `member header at offset ${headerOffset} refers to long name /${index} outside the ${table.length}-byte name table`,
    );
  }
  let end = table.indexOf(0x0a, index);
  if (end < 0) end = table.length;
  return utf8(table.subarray(index, end)).replace(/\/$/, '');
}
