/**
 * A reader for `.BTF.ext`: per-section func_info, line_info and CO-RE relocation records.
 * Names and source lines live in the `.BTF` string section, so the parsed `.BTF` is needed.
 *
 * Offsets of instructions are kept as the compiler wrote them (bytes into the section);
 * `insnIndex` gives the 8-byte slot, matching llvm-objdump's numbering.
 */
import { Btf, BtfCursor, BtfFormatError, btfByteOrder, btfString } from './btf';

export interface BtfExtHeader {
  magic: number;
  version: number;
  flags: number;
  hdrLen: number;
  funcInfoOff: number;
  funcInfoLen: number;
  lineInfoOff: number;
  lineInfoLen: number;
  /** Present when hdr_len covers them (LLVM always writes them). */
  coreReloOff?: number;
  coreReloLen?: number;
}

export interface BtfExtFuncInfo {
  /** Byte offset of the function's first instruction in its section. */
  insnOff: number;
  insnIndex: number;
  /** The FUNC type. */
  typeId: number;
}

export interface BtfExtLineInfo {
  insnOff: number;
  insnIndex: number;
  fileName: string;
  /** The source line's text. */
  lineText: string;
  line: number;
  column: number;
}

/** enum bpf_core_relo_kind, with btfdump's spelling. */
export const CORE_RELO_KIND_NAMES = [
  'byte_off',
  'byte_sz',
  'field_exists',
  'signed',
  'lshift_u64',
  'rshift_u64',
  'local_type_id',
  'target_type_id',
  'type_exists',
  'type_size',
  'enumval_exists',
  'enumval_value',
  'type_matches',
] as const;

export type CoreReloKind = (typeof CORE_RELO_KIND_NAMES)[number];

export interface BtfExtCoreRelo {
  insnOff: number;
  insnIndex: number;
  /** The root type of the access. */
  typeId: number;
  /** The raw access string, e.g. `0:1:2`. */
  accessString: string;
  /** The access string split into indexes. */
  access: number[];
  kind: CoreReloKind;
}

export interface BtfExtSection<T> {
  /** The ELF section the records apply to (e.g. `xdp`, `.text`). */
  section: string;
  recordSize: number;
  records: T[];
}

export interface BtfExt {
  header: BtfExtHeader;
  littleEndian: boolean;
  funcInfo: BtfExtSection<BtfExtFuncInfo>[];
  lineInfo: BtfExtSection<BtfExtLineInfo>[];
  coreRelos: BtfExtSection<BtfExtCoreRelo>[];
}

const MIN_HEADER = 24;
const HEADER_WITH_CORE = 32;

/** Parses the contents of a `.BTF.ext` section against its `.BTF`. */
export function parseBtfExt(bytes: Uint8Array, btf: Btf): BtfExt {
  const le = btfByteOrder(bytes, 'BTF.ext');
  const c = new BtfCursor(bytes, le, 'BTF.ext header');
  const header: BtfExtHeader = {
    magic: c.u16(0, 'magic'),
    version: c.u8(2, 'version'),
    flags: c.u8(3, 'flags'),
    hdrLen: c.u32(4, 'hdr_len'),
    funcInfoOff: c.u32(8, 'func_info_off'),
    funcInfoLen: c.u32(12, 'func_info_len'),
    lineInfoOff: c.u32(16, 'line_info_off'),
    lineInfoLen: c.u32(20, 'line_info_len'),
  };
  if (header.version !== 1) throw new BtfFormatError(`unsupported BTF.ext version ${header.version}`);
  if (header.hdrLen < MIN_HEADER || header.hdrLen > bytes.length) {
    throw new BtfFormatError(`bad BTF.ext hdr_len ${header.hdrLen} (section is ${bytes.length} bytes)`);
  }
  if (header.hdrLen >= HEADER_WITH_CORE) {
    header.coreReloOff = c.u32(24, 'core_relo_off');
    header.coreReloLen = c.u32(28, 'core_relo_len');
  }

  const block = (off: number, len: number, what: string): BtfCursor => {
    const start = header.hdrLen + off;
    if (start + len > bytes.length) {
      throw new BtfFormatError(`BTF.ext ${what} (offset ${off}, length ${len}) lies outside the section`);
    }
    return new BtfCursor(bytes.subarray(start, start + len), le, `BTF.ext ${what}`);
  };
  const str = (off: number, item: string) => btfString(btf.strings, off, item);

  const funcInfo = readInfoBlock(block(header.funcInfoOff, header.funcInfoLen, 'func_info'), 8, str, (r, o, at) => {
    const insnOff = r.u32(o, at);
    return { insnOff, insnIndex: Math.floor(insnOff / 8), typeId: r.u32(o + 4, at) };
  });
  const lineInfo = readInfoBlock(block(header.lineInfoOff, header.lineInfoLen, 'line_info'), 16, str, (r, o, at) => {
    const insnOff = r.u32(o, at);
    const lineCol = r.u32(o + 12, at);
    return {
      insnOff,
      insnIndex: Math.floor(insnOff / 8),
      fileName: str(r.u32(o + 4, at), `${at} file name`),
      lineText: str(r.u32(o + 8, at), `${at} line text`),
      // line_col packs the line number (high 22 bits) and column (low 10 bits).
      line: lineCol >>> 10,
      column: lineCol & 0x3ff,
    };
  });
  const coreRelos =
    header.coreReloLen === undefined
      ? []
      : readInfoBlock(block(header.coreReloOff ?? 0, header.coreReloLen, 'core_relo'), 16, str, (r, o, at) => {
          const insnOff = r.u32(o, at);
          const accessString = str(r.u32(o + 8, at), `${at} access string`);
          const kindNum = r.u32(o + 12, at);
          const kind = CORE_RELO_KIND_NAMES[kindNum];
          if (kind === undefined) throw new BtfFormatError(`${at}: unknown CO-RE relocation kind ${kindNum}`);
          return { insnOff, insnIndex: Math.floor(insnOff / 8), typeId: r.u32(o + 4, at), accessString, access: parseAccess(accessString, at), kind };
        });

  return { header, littleEndian: le, funcInfo, lineInfo, coreRelos };
}

/**
 * One info block: `u32 rec_size`, then per section `{ u32 sec_name_off; u32 num_info; }`
 * followed by num_info records of rec_size bytes. Records may be larger than we know
 * (forward compatibility), never smaller.
 */
function readInfoBlock<T>(
  c: BtfCursor,
  minRecord: number,
  str: (off: number, item: string) => string,
  readRecord: (c: BtfCursor, off: number, at: string) => T,
): BtfExtSection<T>[] {
  if (c.bytes.length === 0) return [];
  const recordSize = c.u32(0, 'record size');
  if (recordSize < minRecord) throw new BtfFormatError(`BTF.ext record size ${recordSize} is below the minimum ${minRecord}`);
  const out: BtfExtSection<T>[] = [];
  let off = 4;
  while (off < c.bytes.length) {
    const section = str(c.u32(off, 'section header'), 'BTF.ext section name');
    const count = c.u32(off + 4, 'section header');
    off += 8;
    c.need(off, count * recordSize, `${count} records of section '${section}'`);
    const records: T[] = [];
    for (let i = 0; i < count; i++) records.push(readRecord(c, off + i * recordSize, `'${section}' record #${i}`));
    out.push({ section, recordSize, records });
    off += count * recordSize;
  }
  return out;
}

function parseAccess(s: string, at: string): number[] {
  if (!/^\d+(:\d+)*$/.test(s)) throw new BtfFormatError(`${at}: malformed CO-RE access string '${s}'`);
  return s.split(':').map(Number);
}

/** The func_info / line_info records of one ELF section ([] when it has none). */
export function extRecordsFor<T>(sections: BtfExtSection<T>[], section: string): T[] {
  return sections.filter((s) => s.section === section).flatMap((s) => s.records);
}
