/**
 * Writes GNU `ar` archives of bitcode members: the static libraries that library projects
 * produce. Deterministic (zero dates and ids, mode 644, members in the given order), like
 * `llvm-ar rcSD`, and without a symbol table: bpf-linker links every member, so it never needs
 * one. The reader is inputs/archive.ts; a round trip through both is tested.
 */
import { ARCHIVE_MAGIC } from '../inputs/archive';

export interface ArchiveInput {
  /** Member name; only its last path component is stored. */
  name: string;
  bytes: Uint8Array;
}

function field(text: string, width: number): string {
  if (text.length > width) throw new Error(`ar header field "${text}" is longer than ${width} bytes`);
  return text.padEnd(width, ' ');
}

function header(name: string, size: number): string {
  return `${field(name, 16)}${field('0', 12)}${field('0', 6)}${field('0', 6)}${field('644', 8)}${field(String(size), 10)}\`\n`;
}

export function writeArchive(members: readonly ArchiveInput[]): Uint8Array {
  const names = members.map((m) => Buffer.from(m.name.split('/').pop() || 'member', 'utf8'));
  // GNU short names end with '/' inside the 16-byte field; longer (or non-ASCII) names go to the `//` table.
  let table = '';
  const headerNames = names.map((n) => {
    const text = n.toString('utf8');
    if (n.length <= 15 && /^[\x21-\x7e]+$/.test(text)) return `${text}/`;
    const offset = Buffer.byteLength(table, 'utf8');
    table += `${text}/\n`;
    return `/${offset}`;
  });

  const chunks: Buffer[] = [Buffer.from(ARCHIVE_MAGIC, 'latin1')];
  const pad = (size: number) => {
    if (size % 2 === 1) chunks.push(Buffer.from('\n', 'latin1'));
  };
  if (table) {
    const bytes = Buffer.from(table, 'utf8');
    chunks.push(Buffer.from(header('//', bytes.length), 'latin1'), bytes);
    pad(bytes.length);
  }
  members.forEach((m, i) => {
    chunks.push(Buffer.from(header(headerNames[i], m.bytes.length), 'latin1'), Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.length));
    pad(m.bytes.length);
  });
  const out = Buffer.concat(chunks);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
