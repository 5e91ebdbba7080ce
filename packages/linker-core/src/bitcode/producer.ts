/**
 * Just enough of LLVM's bitstream format to read the producer string of a bitcode file (the
 * IDENTIFICATION block's STRING record, e.g. `LLVM22.1.8`) and to check the file-level layout
 * that LLVM checks before it parses a module. We need the producer before any libLLVM is loaded:
 * it decides which libLLVM can read the inputs (a newer producer than the reader fails with
 * "Invalid record").
 *
 * Format reference: https://llvm.org/docs/BitCodeFormat.html. Everything is bounds-checked and
 * every loop is bounded by the input size, so garbage only ever throws BitcodeFormatError.
 */

export class BitcodeFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BitcodeFormatError';
  }
}

const RAW_MAGIC = [0x42, 0x43, 0xc0, 0xde] as const; // 'B' 'C' 0xC0DE
const WRAPPER_MAGIC = 0x0b17c0de; // stored little-endian: DE C0 17 0B
const WRAPPER_HEADER_SIZE = 20; // magic, version, offset, size, cputype (u32 LE each)

// Block ids (llvm/Bitcode/LLVMBitCodes.h, BLOCKINFO from BitCodeEnums.h).
const BLOCKINFO_BLOCK_ID = 0;
const MODULE_BLOCK_ID = 8;
const IDENTIFICATION_BLOCK_ID = 13;
const STRTAB_BLOCK_ID = 23;
const SYMTAB_BLOCK_ID = 25;
/** The one record of a STRTAB or SYMTAB block: its blob. */
const BLOB_RECORD_CODE = 1;
const BLOCK_NAMES: Record<number, string> = {
  [BLOCKINFO_BLOCK_ID]: 'BLOCKINFO',
  [MODULE_BLOCK_ID]: 'MODULE',
  [IDENTIFICATION_BLOCK_ID]: 'IDENTIFICATION',
  [STRTAB_BLOCK_ID]: 'STRTAB',
  25: 'SYMTAB',
};

// Builtin abbreviation ids.
const END_BLOCK = 0;
const ENTER_SUBBLOCK = 1;
const DEFINE_ABBREV = 2;
const UNABBREV_RECORD = 3;

// Record codes.
const IDENTIFICATION_CODE_STRING = 1;
const IDENTIFICATION_CODE_EPOCH = 2;
const MODULE_CODE_VERSION = 1;
const BLOCKINFO_CODE_SETBID = 1;

/** Abbreviation ids are at least this wide at the top level (the bitstream's initial width). */
const TOP_LEVEL_ABBREV_WIDTH = 2;
const CHAR6 = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._';

export function isRawBitcode(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && RAW_MAGIC.every((b, i) => bytes[i] === b);
}

export function isBitcodeWrapper(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && readU32(bytes, 0) === WRAPPER_MAGIC;
}

/** Raw bitcode (`BC C0 DE`) or the bitcode wrapper (`DE C0 17 0B`). */
export function isBitcode(bytes: Uint8Array): boolean {
  return isRawBitcode(bytes) || isBitcodeWrapper(bytes);
}

/** The raw bitstream: the bytes themselves, or the range a wrapper header points at. */
export function bitcodeBody(bytes: Uint8Array): Uint8Array {
  if (isRawBitcode(bytes)) return bytes;
  if (!isBitcodeWrapper(bytes)) throw new BitcodeFormatError('not LLVM bitcode (bad magic)');
  if (bytes.length < WRAPPER_HEADER_SIZE) {
    throw new BitcodeFormatError(`bitcode wrapper header is truncated (${bytes.length} of ${WRAPPER_HEADER_SIZE} bytes)`);
  }
  const offset = readU32(bytes, 8);
  const size = readU32(bytes, 12);
  if (offset + size > bytes.length) {
    throw new BitcodeFormatError(
      `bitcode wrapper points at bytes ${offset}..${offset + size} but the file has ${bytes.length} bytes`,
    );
  }
  return bytes.subarray(offset, offset + size);
}

/**
 * The producer string of the IDENTIFICATION block, or undefined when the file has none (LLVM
 * before 4.0 wrote none). Reads only up to that block, or up to the start of the first MODULE
 * block, which is where LLVM writes it.
 */
export function readBitcodeProducer(bytes: Uint8Array): string | undefined {
  return scanTopLevel(bytes, 'producer').producer;
}

export interface BitcodeInfo {
  /** The IDENTIFICATION block's producer, e.g. `LLVM22.1.8`. */
  producer?: string;
  /** The IDENTIFICATION block's epoch (0 for every LLVM so far). */
  epoch?: number;
  /** Number of top-level MODULE blocks. */
  modules: number;
}

/**
 * Reads the producer and checks the file-level layout LLVM checks before it parses a module, so
 * a truncated or corrupt file is reported by name instead of as a vague parse failure later:
 * the size is a multiple of 4, the magic is there, every top-level block fits in the file, an
 * IDENTIFICATION block is followed by a MODULE block, there is a module, and a version-2 module
 * (names in a string table) has its STRTAB block. Blocks are skipped by their length word, so
 * this costs a few reads per top-level block whatever the file size.
 */
export function inspectBitcode(bytes: Uint8Array): BitcodeInfo {
  return scanTopLevel(bytes, 'validate');
}

export interface ProducerVersion {
  major: number;
  minor: number;
  patch: number;
  /** The rustc version when the producer is rustc's own LLVM (`LLVM22.1.4-rust-1.97.0-nightly`). */
  rustc?: string;
}

/**
 * `LLVM<major>.<minor>.<patch>[suffix]`. A `-rust-<version>` suffix names the rustc that bundled
 * that LLVM; other suffixes (`git`, `rc1`) are ignored. Non-LLVM producers (Apple's
 * `APPLE_1_...`) give undefined: their numbers are not LLVM versions.
 */
export function parseProducerVersion(producer: string): ProducerVersion | undefined {
  const m = /^LLVM(\d+)\.(\d+)\.(\d+)(.*)$/.exec(producer);
  if (!m) return undefined;
  const version: ProducerVersion = { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
  const rust = /^-rust-(.+)$/.exec(m[4]);
  if (rust) version.rustc = rust[1];
  return version;
}

// ---------------------------------------------------------------------------------------------
// Bit reading

function readU32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)) >>> 0;
}

/** Reads little-endian bit fields (LSB first), as the bitstream stores them. */
class BitReader {
  /** Position in bits from the start of the bitstream. */
  bit = 0;
  readonly bitLength: number;

  constructor(private readonly bytes: Uint8Array) {
    this.bitLength = bytes.length * 8;
  }

  get remainingBits(): number {
    return this.bitLength - this.bit;
  }

  /** An unsigned field of 0..64 bits. Values above 2^53 lose precision; we never need them exactly. */
  fixed(width: number): number {
    if (width > 32) return this.fixed(32) + this.fixed(width - 32) * 2 ** 32;
    this.need(width);
    let value = 0;
    let got = 0;
    while (got < width) {
      const shift = this.bit & 7;
      const take = Math.min(8 - shift, width - got);
      const chunk = (this.bytes[this.bit >>> 3] >>> shift) & ((1 << take) - 1);
      value += chunk * 2 ** got;
      got += take;
      this.bit += take;
    }
    return value;
  }

  /** Variable-width integer: chunks of `width` bits whose top bit says "more follows". */
  vbr(width: number): number {
    if (width < 2 || width > 32) throw new BitcodeFormatError(`invalid VBR width ${width}`);
    const dataBits = width - 1;
    const more = 2 ** dataBits;
    let value = 0;
    for (let shift = 0; ; shift += dataBits) {
      // LLVM reads VBRs into 64 bits; anything longer is corrupt (and this bounds the loop).
      if (shift >= 64) throw new BitcodeFormatError(`VBR value at bit ${this.bit} is longer than 64 bits`);
      const piece = this.fixed(width);
      value += (piece % more) * 2 ** shift;
      if (piece < more) return value;
    }
  }

  align32(): void {
    const aligned = Math.ceil(this.bit / 32) * 32;
    if (aligned > this.bitLength) this.fail(aligned - this.bit);
    this.bit = aligned;
  }

  skipBytes(count: number): void {
    this.need(count * 8);
    this.bit += count * 8;
  }

  need(bits: number): void {
    if (bits > this.remainingBits) this.fail(bits);
  }

  private fail(bits: number): never {
    throw new BitcodeFormatError(
      `truncated: needs ${bits} more bits at byte ${Math.floor(this.bit / 8)} but the bitstream ends at byte ${this.bytes.length}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Abbreviations and records

type AbbrevOp =
  | { kind: 'literal'; value: number }
  | { kind: 'fixed' | 'vbr'; width: number }
  | { kind: 'array' }
  | { kind: 'char6' }
  | { kind: 'blob' };

type Abbrev = AbbrevOp[];

/** A block's abbreviation-id width and the abbreviations defined so far (ids 4, 5, ...). */
interface Scope {
  abbrevWidth: number;
  abbrevs: Abbrev[];
}

/** DEFINE_ABBREV: the operand encodings of one abbreviation. */
function readAbbrevDefinition(r: BitReader): Abbrev {
  const count = r.vbr(5);
  // Each operand takes at least one bit; a larger count is corrupt, and checking now bounds the loop.
  r.need(count);
  const ops: Abbrev = [];
  for (let i = 0; i < count; i++) {
    if (r.fixed(1) === 1) {
      ops.push({ kind: 'literal', value: r.vbr(8) });
      continue;
    }
    const encoding = r.fixed(3);
    if (encoding === 1 || encoding === 2) {
      const width = r.vbr(5);
      if (width > 64) throw new BitcodeFormatError(`abbreviation operand width ${width} exceeds 64 bits`);
      // A zero-width field always reads 0; LLVM turns it into a literal, so do we.
      ops.push(width === 0 ? { kind: 'literal', value: 0 } : { kind: encoding === 1 ? 'fixed' : 'vbr', width });
    } else if (encoding === 3) {
      ops.push({ kind: 'array' });
    } else if (encoding === 4) {
      ops.push({ kind: 'char6' });
    } else if (encoding === 5) {
      ops.push({ kind: 'blob' });
    } else {
      throw new BitcodeFormatError(`unknown abbreviation operand encoding ${encoding}`);
    }
  }
  validateAbbrev(ops);
  return ops;
}

/** The shape rules LLVM enforces, checked once so record reading can rely on them. */
function validateAbbrev(ops: Abbrev): void {
  if (ops.length === 0) throw new BitcodeFormatError('abbreviation without operands');
  ops.forEach((op, i) => {
    if (op.kind === 'vbr' && op.width < 2) throw new BitcodeFormatError(`VBR abbreviation operand of width ${op.width}`);
    if (op.kind === 'array') {
      const element = ops[i + 1];
      if (i === 0 || i !== ops.length - 2) throw new BitcodeFormatError('array abbreviation operand is not second to last');
      // Elements must consume bits, otherwise a huge count would loop without reading anything.
      if (element.kind !== 'fixed' && element.kind !== 'vbr' && element.kind !== 'char6') {
        throw new BitcodeFormatError(`array abbreviation with ${element.kind} elements`);
      }
    }
    if (op.kind === 'blob' && (i === 0 || i !== ops.length - 1)) {
      throw new BitcodeFormatError('blob abbreviation operand is not last');
    }
  });
}

interface BitcodeRecord {
  code: number;
  /** Scalar and array-element operands in order; blob contents are skipped. */
  ops: number[];
  /** Where a blob operand's bytes are in the bitstream (byte offset and length). */
  blob?: { offset: number; length: number };
}

function readScalar(r: BitReader, op: AbbrevOp): number {
  switch (op.kind) {
    case 'literal':
      return op.value;
    case 'fixed':
      return r.fixed(op.width);
    case 'vbr':
      return r.vbr(op.width);
    case 'char6':
      return CHAR6.charCodeAt(r.fixed(6));
    default:
      throw new BitcodeFormatError(`${op.kind} abbreviation operand used as a scalar`);
  }
}

function readRecord(r: BitReader, abbrevId: number, scope: Scope): BitcodeRecord {
  if (abbrevId === UNABBREV_RECORD) {
    const code = r.vbr(6);
    const count = r.vbr(6);
    r.need(count * 6);
    const ops: number[] = [];
    for (let i = 0; i < count; i++) ops.push(r.vbr(6));
    return { code, ops };
  }
  const abbrev = scope.abbrevs[abbrevId - 4];
  if (!abbrev) throw new BitcodeFormatError(`record uses undefined abbreviation id ${abbrevId} at bit ${r.bit}`);
  const code = readScalar(r, abbrev[0]);
  const ops: number[] = [];
  let blob: BitcodeRecord['blob'];
  for (let i = 1; i < abbrev.length; i++) {
    const op = abbrev[i];
    if (op.kind === 'array') {
      const element = abbrev[++i];
      const count = r.vbr(6);
      r.need(count * minimumBits(element));
      for (let j = 0; j < count; j++) ops.push(readScalar(r, element));
    } else if (op.kind === 'blob') {
      const length = r.vbr(6);
      r.align32();
      blob = { offset: r.bit / 8, length };
      r.skipBytes(length);
      r.align32();
    } else {
      ops.push(readScalar(r, op));
    }
  }
  return blob ? { code, ops, blob } : { code, ops };
}

function minimumBits(op: AbbrevOp): number {
  return op.kind === 'fixed' || op.kind === 'vbr' ? op.width : op.kind === 'char6' ? 6 : 0;
}

// ---------------------------------------------------------------------------------------------
// Blocks

interface BlockHeader {
  id: number;
  abbrevWidth: number;
  /** Bit position just past the block, from its length word. */
  end: number;
}

function blockName(id: number): string {
  return BLOCK_NAMES[id] ?? `#${id}`;
}

/** The rest of ENTER_SUBBLOCK: id, abbreviation width, alignment and the length in 32-bit words. */
function readBlockHeader(r: BitReader): BlockHeader {
  const at = Math.floor(r.bit / 8);
  const id = r.vbr(8);
  const abbrevWidth = r.vbr(4);
  r.align32();
  const words = r.fixed(32);
  const start = r.bit;
  const end = start + words * 32;
  if (abbrevWidth < 1 || abbrevWidth > 32) {
    throw new BitcodeFormatError(`${blockName(id)} block at byte ${at} has an invalid abbreviation width ${abbrevWidth}`);
  }
  if (end > r.bitLength) {
    throw new BitcodeFormatError(
      `${blockName(id)} block at byte ${at} is truncated: it declares ${words * 4} bytes but only ${(r.bitLength - start) / 8} remain`,
    );
  }
  return { id, abbrevWidth, end };
}

/**
 * Walks the entries of a block until its END_BLOCK: nested blocks are skipped, DEFINE_ABBREVs
 * are added to the scope, and records go to `onRecord`.
 */
function readBlockContents(
  r: BitReader,
  header: BlockHeader,
  scope: Scope,
  onRecord: (record: BitcodeRecord) => void,
  onDefineAbbrev: (abbrev: Abbrev) => void = (a) => scope.abbrevs.push(a),
): void {
  // Every entry consumes at least one bit, so this ends within the block's length.
  for (;;) {
    if (r.bit >= header.end) {
      throw new BitcodeFormatError(`${blockName(header.id)} block has no END_BLOCK within its declared length`);
    }
    const abbrevId = r.fixed(scope.abbrevWidth);
    if (abbrevId === END_BLOCK) {
      r.align32();
      if (r.bit > header.end) throw new BitcodeFormatError(`${blockName(header.id)} block overruns its declared length`);
      r.bit = header.end;
      return;
    }
    if (abbrevId === ENTER_SUBBLOCK) r.bit = readBlockHeader(r).end;
    else if (abbrevId === DEFINE_ABBREV) onDefineAbbrev(readAbbrevDefinition(r));
    else onRecord(readRecord(r, abbrevId, scope));
  }
}

/** BLOCKINFO: abbreviations that every later block with a given id starts with. */
function readBlockInfo(r: BitReader, header: BlockHeader, blockInfo: Map<number, Abbrev[]>): void {
  let current: Abbrev[] | undefined;
  readBlockContents(
    r,
    header,
    { abbrevWidth: header.abbrevWidth, abbrevs: [] },
    (record) => {
      if (record.code !== BLOCKINFO_CODE_SETBID) return;
      if (record.ops.length < 1) throw new BitcodeFormatError('BLOCKINFO SETBID record without a block id');
      const id = record.ops[0];
      current = blockInfo.get(id) ?? [];
      blockInfo.set(id, current);
    },
    (abbrev) => {
      if (!current) throw new BitcodeFormatError('BLOCKINFO defines an abbreviation before SETBID');
      current.push(abbrev);
    },
  );
}

function readIdentification(
  r: BitReader,
  header: BlockHeader,
  blockInfo: Map<number, Abbrev[]>,
): { producer?: string; epoch?: number } {
  const result: { producer?: string; epoch?: number } = {};
  const scope = { abbrevWidth: header.abbrevWidth, abbrevs: [...(blockInfo.get(header.id) ?? [])] };
  readBlockContents(r, header, scope, (record) => {
    if (record.code === IDENTIFICATION_CODE_STRING) {
      if (record.ops.some((c) => c > 0xff)) throw new BitcodeFormatError('producer string holds a non-byte character');
      result.producer = Buffer.from(record.ops).toString('latin1');
    } else if (record.code === IDENTIFICATION_CODE_EPOCH && record.ops.length > 0) {
      result.epoch = record.ops[0];
    }
  });
  return result;
}

/** The first record of a MODULE block is VERSION; version 2 keeps names in the STRTAB block. */
function readModuleVersion(r: BitReader, header: BlockHeader): number | undefined {
  if (header.end - r.bit < header.abbrevWidth) return undefined;
  if (r.fixed(header.abbrevWidth) !== UNABBREV_RECORD) return undefined;
  const record = readRecord(r, UNABBREV_RECORD, { abbrevWidth: header.abbrevWidth, abbrevs: [] });
  return record.code === MODULE_CODE_VERSION ? record.ops[0] : undefined;
}

function scanTopLevel(bytes: Uint8Array, mode: 'producer' | 'validate'): BitcodeInfo {
  const validate = mode === 'validate';
  // LLVM rejects such files as "Invalid bitcode signature" before anything else.
  if (validate && bytes.length % 4 !== 0) {
    throw new BitcodeFormatError(`size ${bytes.length} is not a multiple of 4 bytes (truncated?)`);
  }
  const info: BitcodeInfo = { modules: 0 };
  const blockInfo = new Map<number, Abbrev[]>();
  let expectModule = false;
  let needStrtab = false;
  let haveStrtab = false;

  walkTopLevel(bytes, (r, header) => {
    if (expectModule && header.id !== MODULE_BLOCK_ID) {
      throw new BitcodeFormatError(`IDENTIFICATION block is followed by a ${blockName(header.id)} block, not a MODULE block`);
    }
    expectModule = false;
    if (header.id === BLOCKINFO_BLOCK_ID) {
      readBlockInfo(r, header, blockInfo);
    } else if (header.id === IDENTIFICATION_BLOCK_ID) {
      Object.assign(info, readIdentification(r, header, blockInfo));
      if (!validate) return 'stop';
      expectModule = true;
    } else if (header.id === MODULE_BLOCK_ID) {
      if (!validate) return 'stop';
      info.modules++;
      if ((readModuleVersion(r, header) ?? 0) >= 2) needStrtab = true;
    } else if (header.id === STRTAB_BLOCK_ID) {
      haveStrtab = true;
    }
    return undefined;
  });
  if (!validate) return info;
  if (expectModule) throw new BitcodeFormatError('IDENTIFICATION block is not followed by a MODULE block (truncated?)');
  if (info.modules === 0) throw new BitcodeFormatError('no MODULE block (truncated?)');
  if (needStrtab && !haveStrtab) throw new BitcodeFormatError('the string table (STRTAB block) is missing (truncated?)');
  return info;
}

/** The blobs of a bitcode file's top-level SYMTAB and STRTAB blocks (absent in old or hand-made bitcode). */
export interface SymbolTableBlobs {
  symtab?: Uint8Array;
  strtab?: Uint8Array;
}

/**
 * Finds the SYMTAB and STRTAB blobs that LLVM writes after the modules (the irsymtab a linker
 * reads to select archive members without parsing them). Skips every other block by its length.
 */
export function readSymbolTableBlobs(bytes: Uint8Array): SymbolTableBlobs {
  const found: SymbolTableBlobs = {};
  walkTopLevel(bytes, (r, header, body) => {
    if (header.id !== SYMTAB_BLOCK_ID && header.id !== STRTAB_BLOCK_ID) return undefined;
    let blob: Uint8Array | undefined;
    readBlockContents(r, header, { abbrevWidth: header.abbrevWidth, abbrevs: [] }, (record) => {
      if (record.code === BLOB_RECORD_CODE && record.blob) blob = body.subarray(record.blob.offset, record.blob.offset + record.blob.length);
    });
    if (header.id === SYMTAB_BLOCK_ID) found.symtab = blob;
    else found.strtab = blob;
    return undefined;
  });
  return found;
}

/**
 * Walks the top-level entries of a bitcode file: records and abbreviations are read past, and
 * each block goes to `onBlock` with the reader at its contents; whatever it reads, the walk goes
 * on after the block (by its length word). `onBlock` returns 'stop' to end the walk.
 */
function walkTopLevel(bytes: Uint8Array, onBlock: (r: BitReader, header: BlockHeader, body: Uint8Array) => 'stop' | undefined): void {
  const body = bitcodeBody(bytes);
  if (!isRawBitcode(body)) throw new BitcodeFormatError("bitstream does not start with the 'BC' 0xC0DE magic");
  const r = new BitReader(body);
  r.bit = 32;
  const top: Scope = { abbrevWidth: TOP_LEVEL_ABBREV_WIDTH, abbrevs: [] };
  // Like LLVM, stop when fewer than 8 bytes remain: tools such as Apple's ar pad the stream.
  while (Math.floor(r.bit / 8) + 8 < body.length) {
    const abbrevId = r.fixed(TOP_LEVEL_ABBREV_WIDTH);
    if (abbrevId === END_BLOCK) throw new BitcodeFormatError(`END_BLOCK outside any block at byte ${Math.floor(r.bit / 8)}`);
    if (abbrevId === DEFINE_ABBREV) {
      top.abbrevs.push(readAbbrevDefinition(r));
      continue;
    }
    if (abbrevId !== ENTER_SUBBLOCK) {
      readRecord(r, abbrevId, top);
      continue;
    }
    const header = readBlockHeader(r);
    if (onBlock(r, header, body) === 'stop') return;
    r.bit = header.end;
  }
}
