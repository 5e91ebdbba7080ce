/**
 * Puts the forward declarations that LLVM's BPF backend appends to `.BTF` in one order.
 *
 * Why: for each struct or union that a module only points to, BTFDebug::endModule appends a FWD
 * type, walking a map keyed by the addresses of the debug-info nodes. Their order, and so their
 * type ids and the bytes of every pointer to them, change with the state of the heap: the same
 * module generated twice in one process, or on another thread, can give other bytes. A
 * partitioned link generates its partitions on worker threads and merges them, and its output
 * must be the same bytes whatever the number of threads.
 *
 * The FWD types that end the type list get the order of their first reference: by the id of the
 * lowest type referring to them, then by the place of the reference in that type. References are
 * rewritten in every type record and in `.BTF.ext` func_info. An object whose CO-RE relocations
 * name one of those types (their instructions may hold the type id) is returned as it is, and so
 * is anything this does not fully understand (big-endian, an unknown kind, a malformed section).
 */
import { readElf } from '../inputs/elf';
import { BTF_KIND as KIND, BTF_MAGIC, btfExtraBytes } from './btf';

/** Kinds whose header's third word is a type id. */
const HEADER_REFERS = new Set<number>([KIND.PTR, KIND.TYPEDEF, KIND.VOLATILE, KIND.CONST, KIND.RESTRICT, KIND.FUNC, KIND.FUNC_PROTO, KIND.VAR, KIND.DECL_TAG, KIND.TYPE_TAG]);

interface TypeRecord {
  /** Offset of the record in the section. */
  at: number;
  size: number;
  kind: number;
  /** Offsets (in the section) of the words holding type ids, in record order. */
  refs: number[];
}

/** The type records of a little-endian `.BTF` section, or undefined when it is not one this reads whole. */
function typeRecords(btf: DataView): { records: TypeRecord[] } | undefined {
  if (btf.byteLength < 24 || btf.getUint16(0, true) !== BTF_MAGIC) return undefined;
  const hdrLen = btf.getUint32(4, true);
  const start = hdrLen + btf.getUint32(8, true);
  const end = start + btf.getUint32(12, true);
  if (end > btf.byteLength || start > end) return undefined;
  const records: TypeRecord[] = [];
  for (let at = start; at < end; ) {
    if (at + 12 > end) return undefined;
    const info = btf.getUint32(at + 4, true);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const extra = btfExtraBytes(kind, vlen);
    if (extra === undefined) return undefined;
    const size = 12 + extra;
    // Type ids in the header's third word, and in the records that follow it.
    const refs: number[] = HEADER_REFERS.has(kind) ? [at + 8] : [];
    if (kind === KIND.ARRAY) refs.push(at + 12, at + 16);
    if (kind === KIND.STRUCT || kind === KIND.UNION) for (let i = 0; i < vlen; i++) refs.push(at + 12 + i * 12 + 4);
    if (kind === KIND.FUNC_PROTO) for (let i = 0; i < vlen; i++) refs.push(at + 12 + i * 8 + 4);
    if (kind === KIND.DATASEC) for (let i = 0; i < vlen; i++) refs.push(at + 12 + i * 12);
    if (at + size > end) return undefined;
    records.push({ at, size, kind, refs });
    at += size;
  }
  return { records };
}

/**
 * The `.BTF.ext` words holding type ids: func_info's, and CO-RE relocations' (the second word of
 * each record in both blocks); undefined when the section is not one this reads whole.
 */
function extTypeIds(ext: DataView): { funcInfo: number[]; coreRelos: number[] } | undefined {
  if (ext.byteLength < 24 || ext.getUint16(0, true) !== BTF_MAGIC) return undefined;
  const hdrLen = ext.getUint32(4, true);
  const blockIds = (off: number, len: number): number[] | undefined => {
    const out: number[] = [];
    if (len === 0) return out;
    let at = hdrLen + off;
    const end = at + len;
    if (end > ext.byteLength || len < 4) return undefined;
    const recordSize = ext.getUint32(at, true);
    if (recordSize < 8) return undefined;
    for (at += 4; at < end; ) {
      if (at + 8 > end) return undefined;
      const count = ext.getUint32(at + 4, true);
      at += 8;
      if (at + count * recordSize > end) return undefined;
      for (let i = 0; i < count; i++) out.push(at + i * recordSize + 4);
      at += count * recordSize;
    }
    return out;
  };
  const funcInfo = blockIds(ext.getUint32(8, true), ext.getUint32(12, true));
  const coreRelos = hdrLen >= 32 ? blockIds(ext.getUint32(24, true), ext.getUint32(28, true)) : [];
  return funcInfo && coreRelos ? { funcInfo, coreRelos } : undefined;
}

/** `object` with its trailing FWD types in canonical order (a new array), or `object` itself when there is nothing to do. */
export function canonicalForwardOrder(object: Uint8Array): Uint8Array {
  let elf;
  try {
    elf = readElf(object);
  } catch {
    return object;
  }
  const btfSection = elf.section('.BTF');
  if (!elf.littleEndian || btfSection === undefined) return object;
  const view = (offset: number, size: number) => new DataView(object.buffer, object.byteOffset + offset, size);
  const btf = view(btfSection.offset, btfSection.size);
  const parsed = typeRecords(btf);
  if (!parsed) return object;
  const { records } = parsed;
  // Type ids are 1-based: records[i] is type i + 1.
  let first = records.length;
  while (first > 0 && records[first - 1].kind === KIND.FWD) first--;
  const runStart = first + 1;
  const count = records.length - first;
  if (count < 2) return object;
  const inRun = (id: number) => id >= runStart && id < runStart + count;

  // The first reference to each FWD of the run: (referring type id, place in its record).
  const firstRef = new Map<number, [number, number]>();
  records.forEach((r, i) => {
    r.refs.forEach((at, place) => {
      const id = btf.getUint32(at, true);
      if (inRun(id) && !firstRef.has(id)) firstRef.set(id, [i + 1, place]);
    });
  });
  const order = Array.from({ length: count }, (_, i) => runStart + i).sort((a, b) => {
    const [ra, rb] = [firstRef.get(a), firstRef.get(b)];
    if (ra && rb) return ra[0] - rb[0] || ra[1] - rb[1];
    if (ra || rb) return ra ? -1 : 1;
    // Unreferenced: by their record bytes, then as they are.
    const [xa, xb] = [records[a - 1].at, records[b - 1].at];
    return btf.getUint32(xa, true) - btf.getUint32(xb, true) || btf.getUint32(xa + 4, true) - btf.getUint32(xb + 4, true) || a - b;
  });
  if (order.every((id, i) => id === runStart + i)) return object;

  const extSection = elf.section('.BTF.ext');
  const ext = extSection ? extTypeIds(view(extSection.offset, extSection.size)) : { funcInfo: [], coreRelos: [] };
  if (!ext) return object;
  const extView = extSection ? view(extSection.offset, extSection.size) : undefined;
  if (extView && ext.coreRelos.some((at) => inRun(extView.getUint32(at, true)))) return object;

  const out = object.slice();
  const outBtf = new DataView(out.buffer, out.byteOffset + btfSection.offset, btfSection.size);
  const newId = new Map<number, number>(order.map((oldId, i) => [oldId, runStart + i]));
  // FWD records are 12 bytes each: lay them out in the new order.
  order.forEach((oldId, i) => {
    const from = records[oldId - 1].at;
    const to = records[runStart + i - 1].at;
    for (let w = 0; w < 12; w += 4) outBtf.setUint32(to + w, btf.getUint32(from + w, true), true);
  });
  for (const r of records) {
    for (const at of r.refs) {
      const id = btf.getUint32(at, true);
      if (inRun(id)) outBtf.setUint32(at, newId.get(id)!, true);
    }
  }
  if (extSection && extView) {
    const outExt = new DataView(out.buffer, out.byteOffset + extSection.offset, extSection.size);
    for (const at of ext.funcInfo) {
      const id = extView.getUint32(at, true);
      if (inRun(id)) outExt.setUint32(at, newId.get(id)!, true);
    }
  }
  return out;
}
