/**
 * A reader for `.BTF` sections (the kernel's BPF Type Format): header, type records and
 * string table, decoded into plain data. Used by tests of the whole project to assert BTF
 * facts about the objects we emit, so every field is decoded exactly as the kernel and
 * libbpf read it (see include/uapi/linux/btf.h), in either byte order: the byte order is
 * taken from the magic, as libbpf does, so bpfeb objects parse without a hint.
 *
 * Corrupt input never throws a RangeError or loops: every read is bounds-checked and the
 * loop over type records always advances; problems surface as BtfFormatError.
 */

import { ObjectFormatError } from './errors';

export class BtfFormatError extends ObjectFormatError {
  constructor(message: string) {
    super(message);
    this.name = 'BtfFormatError';
  }
}

export const BTF_MAGIC = 0xeb9f;
export const BTF_VERSION = 1;
/** Size of the only header layout defined so far. */
export const BTF_HEADER_SIZE = 24;

/** Kind numbers (`info` bits 24..28), as in include/uapi/linux/btf.h. */
export const BTF_KIND = { INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10, RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19 } as const;

/** Bytes a type record has after its 12-byte header; undefined for a kind this does not know. */
export function btfExtraBytes(kind: number, vlen: number): number | undefined {
  switch (kind) {
    case BTF_KIND.INT:
    case BTF_KIND.VAR:
    case BTF_KIND.DECL_TAG:
      return 4;
    case BTF_KIND.ARRAY:
      return 12;
    case BTF_KIND.STRUCT:
    case BTF_KIND.UNION:
    case BTF_KIND.DATASEC:
    case BTF_KIND.ENUM64:
      return vlen * 12;
    case BTF_KIND.ENUM:
    case BTF_KIND.FUNC_PROTO:
      return vlen * 8;
    case BTF_KIND.PTR:
    case BTF_KIND.FWD:
    case BTF_KIND.TYPEDEF:
    case BTF_KIND.VOLATILE:
    case BTF_KIND.CONST:
    case BTF_KIND.RESTRICT:
    case BTF_KIND.FUNC:
    case BTF_KIND.FLOAT:
    case BTF_KIND.TYPE_TAG:
      return 0;
    default:
      return undefined;
  }
}

/** Kind names indexed by their numeric value in `info` bits 24..28 (0 is "unknown"). */
export const BTF_KIND_NAMES = [
  'UNKN',
  'INT',
  'PTR',
  'ARRAY',
  'STRUCT',
  'UNION',
  'ENUM',
  'FWD',
  'TYPEDEF',
  'VOLATILE',
  'CONST',
  'RESTRICT',
  'FUNC',
  'FUNC_PROTO',
  'VAR',
  'DATASEC',
  'FLOAT',
  'DECL_TAG',
  'TYPE_TAG',
  'ENUM64',
] as const;

export type BtfKind = Exclude<(typeof BTF_KIND_NAMES)[number], 'UNKN'>;

export interface BtfHeader {
  magic: number;
  version: number;
  flags: number;
  hdrLen: number;
  /** Offsets are relative to the end of the header, as in the file. */
  typeOff: number;
  typeLen: number;
  strOff: number;
  strLen: number;
}

interface BtfTypeBase<K extends string> {
  /** Type id: 1 for the first record (0 is void). */
  id: number;
  kind: K;
  /** Resolved from the string section; '' for anonymous types. */
  name: string;
  /** `info` bit 31; its meaning depends on the kind (bitfields, union fwd, signed enum). */
  kindFlag: boolean;
}

/** Type id 0. Not a record in the section; `typeById(btf, 0)` returns it. */
export interface BtfVoid extends BtfTypeBase<'VOID'> {}

export type BtfIntEncoding = 'none' | 'signed' | 'char' | 'bool';

export interface BtfInt extends BtfTypeBase<'INT'> {
  /** Storage size in bytes. */
  size: number;
  encoding: BtfIntEncoding;
  /** BTF_INT_OFFSET: bit offset of the value inside its storage. */
  bitOffset: number;
  /** BTF_INT_BITS: number of value bits. */
  bits: number;
}

export interface BtfRefType<K extends string> extends BtfTypeBase<K> {
  typeId: number;
}

export type BtfPtr = BtfRefType<'PTR'>;
export type BtfTypedef = BtfRefType<'TYPEDEF'>;
export type BtfVolatile = BtfRefType<'VOLATILE'>;
export type BtfConst = BtfRefType<'CONST'>;
export type BtfRestrict = BtfRefType<'RESTRICT'>;
export type BtfTypeTag = BtfRefType<'TYPE_TAG'>;

export interface BtfArray extends BtfTypeBase<'ARRAY'> {
  elemTypeId: number;
  indexTypeId: number;
  nelems: number;
}

export interface BtfMember {
  name: string;
  typeId: number;
  /** Bit offset of the member inside the struct/union. */
  bitOffset: number;
  /** Bitfield width when the composite has kind_flag set; 0 for a plain member. */
  bitfieldSize: number;
}

export interface BtfComposite<K extends 'STRUCT' | 'UNION'> extends BtfTypeBase<K> {
  size: number;
  members: BtfMember[];
}

export type BtfStruct = BtfComposite<'STRUCT'>;
export type BtfUnion = BtfComposite<'UNION'>;

export interface BtfEnum extends BtfTypeBase<'ENUM'> {
  size: number;
  /** kind_flag: values are signed. */
  signed: boolean;
  /** Values as int32 when `signed`, else uint32. */
  values: { name: string; value: number }[];
}

export interface BtfEnum64 extends BtfTypeBase<'ENUM64'> {
  size: number;
  signed: boolean;
  values: { name: string; value: bigint }[];
}

export interface BtfFwd extends BtfTypeBase<'FWD'> {
  fwdKind: 'struct' | 'union';
}

export type BtfFuncLinkage = 'static' | 'global' | 'extern';

export interface BtfFunc extends BtfTypeBase<'FUNC'> {
  /** The FUNC_PROTO. */
  typeId: number;
  /** From vlen: 0 static, 1 global, 2 extern. */
  linkage: BtfFuncLinkage;
}

export interface BtfParam {
  name: string;
  typeId: number;
}

export interface BtfFuncProto extends BtfTypeBase<'FUNC_PROTO'> {
  returnTypeId: number;
  /** A trailing `{ name: '', typeId: 0 }` marks a variadic function. */
  params: BtfParam[];
}

/** 0 static, 1 global (allocated), 2 extern. */
export type BtfVarLinkage = 'static' | 'global' | 'extern';

export interface BtfVar extends BtfTypeBase<'VAR'> {
  typeId: number;
  linkage: BtfVarLinkage;
}

export interface BtfDatasecVar {
  /** The VAR (or FUNC, for `.ksyms`). */
  typeId: number;
  offset: number;
  size: number;
}

export interface BtfDatasec extends BtfTypeBase<'DATASEC'> {
  /** Often 0 in compiler output; libbpf fills it in at load time. */
  size: number;
  vars: BtfDatasecVar[];
}

export interface BtfFloat extends BtfTypeBase<'FLOAT'> {
  size: number;
}

export interface BtfDeclTag extends BtfTypeBase<'DECL_TAG'> {
  typeId: number;
  /** -1 when the tag applies to the type itself, else the member/param index. */
  componentIdx: number;
}

export type BtfType =
  | BtfInt
  | BtfPtr
  | BtfArray
  | BtfStruct
  | BtfUnion
  | BtfEnum
  | BtfFwd
  | BtfTypedef
  | BtfVolatile
  | BtfConst
  | BtfRestrict
  | BtfFunc
  | BtfFuncProto
  | BtfVar
  | BtfDatasec
  | BtfFloat
  | BtfDeclTag
  | BtfTypeTag
  | BtfEnum64;

/** The record type of one kind, e.g. `BtfTypeOfKind<'FUNC'>` is `BtfFunc`. */
export type BtfTypeOfKind<K extends BtfKind> = Extract<BtfType, { kind: K }>;

/** A parsed `.BTF` section: plain data, use the functions below to navigate it. */
export interface Btf {
  header: BtfHeader;
  littleEndian: boolean;
  /** All records in order; `types[i].id === i + 1`. */
  types: BtfType[];
  /** The raw string section (names are already resolved into the records). */
  strings: Uint8Array;
}

const VOID: BtfVoid = Object.freeze({ id: 0, kind: 'VOID', name: '', kindFlag: false }) as BtfVoid;

/**
 * Bounds-checked little/big-endian reads over one byte range. Shared with the `.BTF.ext`
 * reader so both report corruption the same way.
 */
export class BtfCursor {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly littleEndian: boolean,
    private readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  need(off: number, len: number, item: string): void {
    if (!Number.isSafeInteger(off) || off < 0 || len < 0 || off + len > this.bytes.length) {
      throw new BtfFormatError(
        `truncated ${this.what}: ${item} at offset ${off} (+${len}) lies outside its ${this.bytes.length} bytes`,
      );
    }
  }

  u8(off: number, item: string): number {
    this.need(off, 1, item);
    return this.bytes[off];
  }

  u16(off: number, item: string): number {
    this.need(off, 2, item);
    return this.view.getUint16(off, this.littleEndian);
  }

  u32(off: number, item: string): number {
    this.need(off, 4, item);
    return this.view.getUint32(off, this.littleEndian);
  }

  i32(off: number, item: string): number {
    this.need(off, 4, item);
    return this.view.getInt32(off, this.littleEndian);
  }
}

/**
 * Byte order from the first two bytes: 0xEB9F stored little-endian is `9F EB`.
 * Throws when neither order gives the magic.
 */
export function btfByteOrder(bytes: Uint8Array, what = 'BTF'): boolean {
  if (bytes.length < 2) throw new BtfFormatError(`truncated ${what}: no room for the magic`);
  if (bytes[0] === 0x9f && bytes[1] === 0xeb) return true;
  if (bytes[0] === 0xeb && bytes[1] === 0x9f) return false;
  const got = ((bytes[0] << 8) | bytes[1]).toString(16).padStart(4, '0');
  throw new BtfFormatError(`bad ${what} magic 0x${got} (expected 0xeb9f in either byte order)`);
}

/** Reads a NUL-terminated string at `off` of a BTF string section. */
export function btfString(strings: Uint8Array, off: number, item = 'name'): string {
  if (off === 0 && strings.length === 0) return '';
  if (!Number.isSafeInteger(off) || off < 0 || off >= strings.length) {
    throw new BtfFormatError(`${item} string offset ${off} is out of range (string section is ${strings.length} bytes)`);
  }
  const end = strings.indexOf(0, off);
  if (end < 0) throw new BtfFormatError(`${item} string at offset ${off} is not NUL-terminated`);
  return Buffer.from(strings.buffer, strings.byteOffset + off, end - off).toString('utf8');
}

const INT_ENCODINGS: Record<number, BtfIntEncoding> = { 0: 'none', 1: 'signed', 2: 'char', 4: 'bool' };
const LINKAGES: readonly BtfFuncLinkage[] = ['static', 'global', 'extern'];

/** Parses the contents of a `.BTF` section. */
export function parseBtf(bytes: Uint8Array): Btf {
  const le = btfByteOrder(bytes);
  const hdr = new BtfCursor(bytes, le, 'BTF header');
  const header: BtfHeader = {
    magic: hdr.u16(0, 'magic'),
    version: hdr.u8(2, 'version'),
    flags: hdr.u8(3, 'flags'),
    hdrLen: hdr.u32(4, 'hdr_len'),
    typeOff: hdr.u32(8, 'type_off'),
    typeLen: hdr.u32(12, 'type_len'),
    strOff: hdr.u32(16, 'str_off'),
    strLen: hdr.u32(20, 'str_len'),
  };
  if (header.version !== BTF_VERSION) throw new BtfFormatError(`unsupported BTF version ${header.version}`);
  if (header.hdrLen < BTF_HEADER_SIZE || header.hdrLen > bytes.length) {
    throw new BtfFormatError(`bad BTF hdr_len ${header.hdrLen} (section is ${bytes.length} bytes)`);
  }
  const body = bytes.length - header.hdrLen;
  const window = (off: number, len: number, what: string): Uint8Array => {
    if (off + len > body) {
      throw new BtfFormatError(`BTF ${what} (offset ${off}, length ${len}) lies outside the ${body}-byte body`);
    }
    return bytes.subarray(header.hdrLen + off, header.hdrLen + off + len);
  };
  const typeBytes = window(header.typeOff, header.typeLen, 'type section');
  const strings = window(header.strOff, header.strLen, 'string section');
  if (strings.length > 0 && strings[0] !== 0) {
    throw new BtfFormatError('BTF string section must start with an empty string');
  }

  const types = parseTypes(new BtfCursor(typeBytes, le, 'BTF type section'), strings);
  return { header, littleEndian: le, types, strings };
}

function parseTypes(c: BtfCursor, strings: Uint8Array): BtfType[] {
  const types: BtfType[] = [];
  let off = 0;
  while (off < c.bytes.length) {
    const id = types.length + 1;
    const at = `type #${id}`;
    const nameOff = c.u32(off, at);
    const info = c.u32(off + 4, at);
    const sizeOrType = c.u32(off + 8, at);
    const kindNum = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const kindFlag = info >>> 31 === 1;
    const kind = BTF_KIND_NAMES[kindNum];
    if (kind === undefined || kind === 'UNKN') throw new BtfFormatError(`${at}: unknown BTF kind ${kindNum}`);
    const base = { id, name: btfString(strings, nameOff, `${at} name`), kindFlag };
    let p = off + 12; // first byte after the common btf_type header
    const rec = (size: number, count: number) => {
      c.need(p, size * count, `${at} (${kind}, ${count} entries)`);
      const start = p;
      p += size * count;
      return start;
    };

    let t: BtfType;
    switch (kind) {
      case 'INT': {
        const v = c.u32(rec(4, 1), at);
        const enc = INT_ENCODINGS[(v >>> 24) & 0x0f];
        if (enc === undefined) throw new BtfFormatError(`${at}: unknown INT encoding ${(v >>> 24) & 0x0f}`);
        t = { ...base, kind, size: sizeOrType, encoding: enc, bitOffset: (v >>> 16) & 0xff, bits: v & 0xff };
        break;
      }
      case 'PTR':
      case 'TYPEDEF':
      case 'VOLATILE':
      case 'CONST':
      case 'RESTRICT':
      case 'TYPE_TAG':
        t = { ...base, kind, typeId: sizeOrType };
        break;
      case 'ARRAY': {
        const a = rec(12, 1);
        t = { ...base, kind, elemTypeId: c.u32(a, at), indexTypeId: c.u32(a + 4, at), nelems: c.u32(a + 8, at) };
        break;
      }
      case 'STRUCT':
      case 'UNION': {
        const m0 = rec(12, vlen);
        const members: BtfMember[] = [];
        for (let i = 0; i < vlen; i++) {
          const m = m0 + i * 12;
          const raw = c.u32(m + 8, at);
          // With kind_flag the offset word packs bitfield size (high 8) and bit offset (low 24).
          members.push({
            name: btfString(strings, c.u32(m, at), `${at} member #${i} name`),
            typeId: c.u32(m + 4, at),
            bitOffset: kindFlag ? raw & 0xffffff : raw,
            bitfieldSize: kindFlag ? raw >>> 24 : 0,
          });
        }
        t = { ...base, kind, size: sizeOrType, members };
        break;
      }
      case 'ENUM': {
        const e0 = rec(8, vlen);
        const values = [];
        for (let i = 0; i < vlen; i++) {
          const e = e0 + i * 8;
          values.push({
            name: btfString(strings, c.u32(e, at), `${at} enumerator #${i} name`),
            value: kindFlag ? c.i32(e + 4, at) : c.u32(e + 4, at),
          });
        }
        t = { ...base, kind, size: sizeOrType, signed: kindFlag, values };
        break;
      }
      case 'ENUM64': {
        const e0 = rec(12, vlen);
        const values = [];
        for (let i = 0; i < vlen; i++) {
          const e = e0 + i * 12;
          const u = (BigInt(c.u32(e + 8, at)) << 32n) | BigInt(c.u32(e + 4, at));
          values.push({
            name: btfString(strings, c.u32(e, at), `${at} enumerator #${i} name`),
            value: kindFlag ? BigInt.asIntN(64, u) : u,
          });
        }
        t = { ...base, kind, size: sizeOrType, signed: kindFlag, values };
        break;
      }
      case 'FWD':
        t = { ...base, kind, fwdKind: kindFlag ? 'union' : 'struct' };
        break;
      case 'FUNC': {
        const linkage = LINKAGES[vlen];
        if (linkage === undefined) throw new BtfFormatError(`${at}: unknown FUNC linkage ${vlen}`);
        t = { ...base, kind, typeId: sizeOrType, linkage };
        break;
      }
      case 'FUNC_PROTO': {
        const p0 = rec(8, vlen);
        const params: BtfParam[] = [];
        for (let i = 0; i < vlen; i++) {
          params.push({
            name: btfString(strings, c.u32(p0 + i * 8, at), `${at} param #${i} name`),
            typeId: c.u32(p0 + i * 8 + 4, at),
          });
        }
        t = { ...base, kind, returnTypeId: sizeOrType, params };
        break;
      }
      case 'VAR': {
        const l = c.u32(rec(4, 1), at);
        const linkage = LINKAGES[l];
        if (linkage === undefined) throw new BtfFormatError(`${at}: unknown VAR linkage ${l}`);
        t = { ...base, kind, typeId: sizeOrType, linkage };
        break;
      }
      case 'DATASEC': {
        const v0 = rec(12, vlen);
        const vars: BtfDatasecVar[] = [];
        for (let i = 0; i < vlen; i++) {
          const v = v0 + i * 12;
          vars.push({ typeId: c.u32(v, at), offset: c.u32(v + 4, at), size: c.u32(v + 8, at) });
        }
        t = { ...base, kind, size: sizeOrType, vars };
        break;
      }
      case 'FLOAT':
        t = { ...base, kind, size: sizeOrType };
        break;
      case 'DECL_TAG':
        t = { ...base, kind, typeId: sizeOrType, componentIdx: c.i32(rec(4, 1), at) };
        break;
    }
    types.push(t);
    off = p;
  }
  return types;
}

/** The type with `id` (0 gives void). Throws BtfFormatError for an id past the last type. */
export function typeById(btf: Btf, id: number): BtfType | BtfVoid {
  if (id === 0) return VOID;
  const t = btf.types[id - 1];
  if (t === undefined) throw new BtfFormatError(`type id ${id} is out of range (${btf.types.length} types)`);
  return t;
}

/** All types of `kind`, optionally only those named `name`, in id order. */
export function findTypes<K extends BtfKind>(btf: Btf, kind: K, name?: string): BtfTypeOfKind<K>[] {
  return btf.types.filter(
    (t): t is BtfTypeOfKind<K> => t.kind === kind && (name === undefined || t.name === name),
  );
}

/** The one type of `kind` named `name`; throws when there is none or more than one. */
export function findType<K extends BtfKind>(btf: Btf, kind: K, name: string): BtfTypeOfKind<K> {
  const found = findTypes(btf, kind, name);
  if (found.length !== 1) throw new Error(`expected one ${kind} '${name}' in BTF, found ${found.length}`);
  return found[0];
}

const TRANSPARENT = new Set<string>(['TYPEDEF', 'CONST', 'VOLATILE', 'RESTRICT', 'TYPE_TAG']);

/**
 * Follows typedefs and qualifiers (const, volatile, restrict, type tags) to the underlying
 * type. A cycle (only possible in corrupt BTF) throws instead of looping.
 */
export function resolveType(btf: Btf, id: number): BtfType | BtfVoid {
  let t = typeById(btf, id);
  for (let steps = 0; TRANSPARENT.has(t.kind); steps++) {
    if (steps > btf.types.length) throw new BtfFormatError(`type id ${id}: typedef/modifier cycle`);
    t = typeById(btf, (t as BtfRefType<string>).typeId);
  }
  return t;
}

/** Byte size of a type as the kernel computes it (pointers are 8 bytes on BPF). */
export function typeSize(btf: Btf, id: number): number {
  let mult = 1;
  // Every step follows one reference, so more steps than types means a cycle.
  for (let steps = 0; ; steps++) {
    if (steps > btf.types.length) throw new BtfFormatError(`type id ${id}: size depends on a cycle`);
    const t = typeById(btf, id);
    switch (t.kind) {
      case 'INT':
      case 'STRUCT':
      case 'UNION':
      case 'ENUM':
      case 'ENUM64':
      case 'FLOAT':
      case 'DATASEC':
        return mult * t.size;
      case 'PTR':
        return mult * 8;
      case 'ARRAY':
        mult *= t.nelems;
        id = t.elemTypeId;
        continue;
      case 'TYPEDEF':
      case 'CONST':
      case 'VOLATILE':
      case 'RESTRICT':
      case 'TYPE_TAG':
      case 'VAR':
      case 'DECL_TAG':
        id = t.typeId;
        continue;
      default:
        // void, FWD, FUNC, FUNC_PROTO have no size.
        return 0;
    }
  }
}

/** Number of types per kind (ids 1..n). */
export function countKinds(btf: Btf): Partial<Record<BtfKind, number>> {
  const out: Partial<Record<BtfKind, number>> = {};
  for (const t of btf.types) out[t.kind] = (out[t.kind] ?? 0) + 1;
  return out;
}

/**
 * A C-like spelling of a type for messages and assertions: `__u32`, `struct foo`,
 * `const volatile int *`, `char[4]`. Anonymous tagged types read `struct <anon>`. Nesting
 * deeper than 32 levels, or a spelling that would visit more than 1000 types (a corrupt
 * FUNC_PROTO whose parameters are itself), is cut short with `…`.
 */
export function describeType(btf: Btf, id: number, depth = 0): string {
  return describe(btf, id, depth, { left: 1000 });
}

function describe(btf: Btf, id: number, depth: number, budget: { left: number }): string {
  if (depth > 32 || budget.left-- <= 0) return '…';
  const t = typeById(btf, id);
  const inner = (ref: number) => describe(btf, ref, depth + 1, budget);
  switch (t.kind) {
    case 'VOID':
      return 'void';
    case 'STRUCT':
    case 'UNION':
      return `${t.kind.toLowerCase()} ${t.name || '<anon>'}`;
    case 'ENUM':
    case 'ENUM64':
      return `enum ${t.name || '<anon>'}`;
    case 'FWD':
      return `${t.fwdKind} ${t.name || '<anon>'}`;
    case 'PTR':
      return `${inner(t.typeId)} *`;
    case 'CONST':
    case 'VOLATILE':
      return `${t.kind.toLowerCase()} ${inner(t.typeId)}`;
    case 'RESTRICT':
      return `${inner(t.typeId)} restrict`;
    case 'TYPE_TAG':
      return `${inner(t.typeId)} __attribute__((btf_type_tag("${t.name}")))`;
    case 'ARRAY': {
      // C writes the outermost dimension first: int[4][2] is an array of 4 int[2].
      let dims = `[${t.nelems}]`;
      let elem = t.elemTypeId;
      for (let e = typeById(btf, elem); e.kind === 'ARRAY' && dims.length < 256; e = typeById(btf, elem)) {
        dims += `[${e.nelems}]`;
        elem = e.elemTypeId;
      }
      return `${inner(elem)}${dims}`;
    }
    case 'FUNC_PROTO': {
      const params: string[] = [];
      for (const p of t.params) {
        if (budget.left <= 0) {
          params.push('…');
          break;
        }
        params.push(p.typeId === 0 ? '...' : inner(p.typeId));
      }
      return `${inner(t.returnTypeId)} (${params.join(', ')})`;
    }
    case 'DECL_TAG':
      return inner(t.typeId);
    default:
      // INT, FLOAT, TYPEDEF, FUNC, VAR, DATASEC: the name is the spelling.
      return t.name || `<anon ${t.kind}>`;
  }
}
