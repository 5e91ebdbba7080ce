/**
 * A minimal ELF reader: header, section headers, section names and contents, and symbol
 * tables. Enough to find `.llvmbc` in inputs and to check the sections and symbols of the
 * objects we produce. Every offset is bounds-checked; a malformed file throws ElfFormatError.
 */

export class ElfFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ElfFormatError';
  }
}

export const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46] as const;
export const EM_BPF = 247;

export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;

export type SymbolBinding = 'local' | 'global' | 'weak' | 'other';
export type SymbolType = 'notype' | 'object' | 'func' | 'section' | 'file' | 'other';

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: bigint;
  offset: number;
  size: number;
  link: number;
  info: number;
  entsize: number;
}

export interface ElfSymbol {
  name: string;
  value: bigint;
  size: bigint;
  binding: SymbolBinding;
  type: SymbolType;
  /** Index of the section it is defined in (0 = undefined). */
  sectionIndex: number;
  /** Name of that section, when it is a regular one. */
  sectionName?: string;
}

export interface ElfRelocation {
  offset: bigint;
  symbolIndex: number;
  type: number;
}

export interface ElfFile {
  is64: boolean;
  littleEndian: boolean;
  type: number;
  machine: number;
  sections: ElfSection[];
  /** The section's bytes (empty for SHT_NOBITS). */
  sectionData(section: ElfSection): Uint8Array;
  section(name: string): ElfSection | undefined;
  symbols(): ElfSymbol[];
  /** Relocations applied to `section` (from its .rel/.rela section). */
  relocations(section: ElfSection): ElfRelocation[];
}

export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && ELF_MAGIC.every((b, i) => bytes[i] === b);
}

export function readElf(bytes: Uint8Array): ElfFile {
  if (!isElf(bytes)) throw new ElfFormatError('not an ELF file (bad magic)');
  if (bytes.length < 52) throw new ElfFormatError('truncated ELF header');
  const cls = bytes[4];
  const data = bytes[5];
  if (cls !== 1 && cls !== 2) throw new ElfFormatError(`unknown ELF class ${cls}`);
  if (data !== 1 && data !== 2) throw new ElfFormatError(`unknown ELF data encoding ${data}`);
  const is64 = cls === 2;
  const le = data === 1;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  const need = (off: number, len: number, what: string) => {
    if (off < 0 || len < 0 || off + len > bytes.length) {
      throw new ElfFormatError(`truncated or corrupt ELF: ${what} at offset ${off} (+${len}) lies outside the ${bytes.length}-byte file`);
    }
  };
  const u16 = (o: number) => view.getUint16(o, le);
  const u32 = (o: number) => view.getUint32(o, le);
  const u64 = (o: number) => view.getBigUint64(o, le);
  const addr = (o: number) => (is64 ? u64(o) : BigInt(u32(o)));
  const num = (v: bigint, what: string) => {
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfFormatError(`corrupt ELF: ${what} too large`);
    return Number(v);
  };

  const headerSize = is64 ? 64 : 52;
  need(0, headerSize, 'ELF header');
  const type = u16(16);
  const machine = u16(18);
  const shoff = num(is64 ? u64(40) : BigInt(u32(32)), 'section header offset');
  const shentsize = u16(is64 ? 58 : 46);
  let shnum = u16(is64 ? 60 : 48);
  let shstrndx = u16(is64 ? 62 : 50);

  const sections: ElfSection[] = [];
  if (shoff !== 0) {
    const minEnt = is64 ? 64 : 40;
    if (shentsize < minEnt) throw new ElfFormatError(`corrupt ELF: section header size ${shentsize}`);
    need(shoff, shentsize, 'section header table');
    // Extended numbering: the real counts live in section 0.
    if (shnum === 0) shnum = num(is64 ? u64(shoff + 32) : BigInt(u32(shoff + 20)), 'section count');
    if (shstrndx === 0xffff) shstrndx = u32(shoff + (is64 ? 44 : 28));
    need(shoff, shnum * shentsize, 'section header table');
    for (let i = 0; i < shnum; i++) {
      const o = shoff + i * shentsize;
      const s: ElfSection = is64
        ? {
            index: i,
            name: '',
            type: u32(o + 4),
            flags: u64(o + 8),
            offset: num(u64(o + 24), 'section offset'),
            size: num(u64(o + 32), 'section size'),
            link: u32(o + 40),
            info: u32(o + 44),
            entsize: num(u64(o + 56), 'entry size'),
          }
        : {
            index: i,
            name: '',
            type: u32(o + 4),
            flags: BigInt(u32(o + 8)),
            offset: u32(o + 16),
            size: u32(o + 20),
            link: u32(o + 24),
            info: u32(o + 28),
            entsize: u32(o + 36),
          };
      (s as { nameOffset?: number }).nameOffset = u32(o);
      sections.push(s);
    }
  }

  const sectionData = (s: ElfSection): Uint8Array => {
    if (s.type === SHT_NOBITS || s.index === 0) return new Uint8Array(0);
    need(s.offset, s.size, `contents of section #${s.index}`);
    return bytes.subarray(s.offset, s.offset + s.size);
  };
  const cString = (table: Uint8Array, off: number, what: string): string => {
    if (off >= table.length && off !== 0) throw new ElfFormatError(`corrupt ELF: ${what} name offset ${off} outside its string table`);
    let end = off;
    while (end < table.length && table[end] !== 0) end++;
    return Buffer.from(table.subarray(off, end)).toString('utf8');
  };

  if (sections.length > 0) {
    if (shstrndx >= sections.length) throw new ElfFormatError(`corrupt ELF: section name table index ${shstrndx} out of range`);
    const names = sectionData(sections[shstrndx]);
    for (const s of sections) {
      s.name = cString(names, (s as { nameOffset?: number }).nameOffset ?? 0, `section #${s.index}`);
      delete (s as { nameOffset?: number }).nameOffset;
    }
  }

  const bind = (b: number): SymbolBinding => (b === 0 ? 'local' : b === 1 ? 'global' : b === 2 ? 'weak' : 'other');
  const styp = (t: number): SymbolType =>
    t === 0 ? 'notype' : t === 1 ? 'object' : t === 2 ? 'func' : t === 3 ? 'section' : t === 4 ? 'file' : 'other';

  return {
    is64,
    littleEndian: le,
    type,
    machine,
    sections,
    sectionData,
    section: (name) => sections.find((s) => s.name === name),
    symbols(): ElfSymbol[] {
      const symtab = sections.find((s) => s.type === SHT_SYMTAB);
      if (!symtab) return [];
      if (symtab.link >= sections.length) throw new ElfFormatError('corrupt ELF: symbol string table index out of range');
      const strtab = sectionData(sections[symtab.link]);
      const entSize = is64 ? 24 : 16;
      need(symtab.offset, symtab.size, 'symbol table');
      const out: ElfSymbol[] = [];
      for (let o = symtab.offset; o + entSize <= symtab.offset + symtab.size; o += entSize) {
        const nameOff = u32(o);
        const info = is64 ? bytes[o + 4] : bytes[o + 12];
        const shndx = is64 ? u16(o + 6) : u16(o + 14);
        const value = is64 ? u64(o + 8) : BigInt(u32(o + 4));
        const size = is64 ? u64(o + 16) : BigInt(u32(o + 8));
        const sec = shndx > 0 && shndx < sections.length ? sections[shndx] : undefined;
        out.push({
          name: cString(strtab, nameOff, 'symbol'),
          value,
          size,
          binding: bind(info >> 4),
          type: styp(info & 0xf),
          sectionIndex: shndx,
          sectionName: sec?.name,
        });
      }
      return out;
    },
    relocations(target: ElfSection): ElfRelocation[] {
      const out: ElfRelocation[] = [];
      for (const s of sections) {
        if ((s.type !== SHT_REL && s.type !== SHT_RELA) || s.info !== target.index) continue;
        const rela = s.type === SHT_RELA;
        const ent = is64 ? (rela ? 24 : 16) : rela ? 12 : 8;
        need(s.offset, s.size, `relocation section ${s.name}`);
        for (let o = s.offset; o + ent <= s.offset + s.size; o += ent) {
          const offset = addr(o);
          if (is64) {
            const info = u64(o + 8);
            out.push({ offset, symbolIndex: Number(info >> 32n), type: Number(info & 0xffffffffn) });
          } else {
            const info = u32(o + 4);
            out.push({ offset, symbolIndex: info >>> 8, type: info & 0xff });
          }
        }
      }
      return out;
    },
  };
}
