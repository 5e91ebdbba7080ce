/**
 * Hand-built `.BTF` bytes for cases clang does not produce (signed ENUM64, union FWD,
 * extern VAR, cycles) and for corruption tests. Only what the tests need.
 */
export { prng } from '../support/prng';

export const KIND = {
  INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10,
  RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19,
} as const;

export class BtfBuilder {
  private strs = '\0';
  private readonly offsets = new Map<string, number>([['', 0]]);
  private readonly words: number[] = [];
  private count = 0;

  str(s: string): number {
    let off = this.offsets.get(s);
    if (off === undefined) {
      off = Buffer.byteLength(this.strs);
      this.strs += `${s}\0`;
      this.offsets.set(s, off);
    }
    return off;
  }

  /** Appends one record; returns its type id. `extra` are the u32 words after the common header. */
  type(kind: number, name: string, opts: { vlen?: number; kflag?: boolean; sizeOrType?: number }, ...extra: number[]): number {
    const info = ((opts.kflag ? 1 : 0) << 31) | (kind << 24) | (opts.vlen ?? 0);
    this.words.push(this.str(name), info >>> 0, opts.sizeOrType ?? 0, ...extra.map((w) => w >>> 0));
    return ++this.count;
  }

  build(littleEndian = true): Uint8Array {
    const strBytes = Buffer.from(this.strs, 'utf8');
    const typeLen = this.words.length * 4;
    const out = new Uint8Array(24 + typeLen + strBytes.length);
    const v = new DataView(out.buffer);
    v.setUint16(0, 0xeb9f, littleEndian);
    out[2] = 1;
    v.setUint32(4, 24, littleEndian);
    v.setUint32(8, 0, littleEndian);
    v.setUint32(12, typeLen, littleEndian);
    v.setUint32(16, typeLen, littleEndian);
    v.setUint32(20, strBytes.length, littleEndian);
    this.words.forEach((w, i) => v.setUint32(24 + 4 * i, w, littleEndian));
    out.set(strBytes, 24 + typeLen);
    return out;
  }
}

