/**
 * SipHash-1-3 (one compression round per block, three finalization rounds), the algorithm of
 * Rust's `std::collections::hash_map::DefaultHasher`. `DefaultHasher::new()` uses the keys
 * (0, 0), and one `Hasher::write(bytes)` feeds the bytes as they are (no length prefix, no
 * terminator), which is what `sipHash13(bytes)` computes.
 *
 * The 64-bit state words are kept as pairs of unsigned 32-bit halves (plain numbers), so the
 * hot loop allocates nothing; bigint appears only at the API boundary.
 */

const MASK32 = 0xffffffff;

/** A 64-bit value as two unsigned 32-bit halves. */
export interface U64Halves {
  hi: number;
  lo: number;
}

function halves(v: bigint): U64Halves {
  const x = BigInt.asUintN(64, v);
  return { hi: Number(x >> 32n), lo: Number(x & 0xffffffffn) };
}

/** SipHash-1-3 of `data` with the 128-bit key (k0, k1); the result as 32-bit halves. */
export function sipHash13Halves(data: Uint8Array, k0: U64Halves = { hi: 0, lo: 0 }, k1: U64Halves = { hi: 0, lo: 0 }): U64Halves {
  // v0 = k0 ^ "somepseu", v1 = k1 ^ "dorandom", v2 = k0 ^ "lygenera", v3 = k1 ^ "tedbytes"
  let v0h = (k0.hi ^ 0x736f6d65) >>> 0;
  let v0l = (k0.lo ^ 0x70736575) >>> 0;
  let v1h = (k1.hi ^ 0x646f7261) >>> 0;
  let v1l = (k1.lo ^ 0x6e646f6d) >>> 0;
  let v2h = (k0.hi ^ 0x6c796765) >>> 0;
  let v2l = (k0.lo ^ 0x6e657261) >>> 0;
  let v3h = (k1.hi ^ 0x74656462) >>> 0;
  let v3l = (k1.lo ^ 0x79746573) >>> 0;

  // The rounds are written out in the two loops below (compression, finalization) so the state
  // stays in locals; a shared closure would keep it in a heap context.
  let s: number;
  let t: number;
  const len = data.length;
  const full = len >>> 3;
  for (let block = 0; block <= full; block++) {
    let ml = 0;
    let mh = 0;
    if (block < full) {
      // little-endian 64-bit block
      const i = block * 8;
      ml = (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)) >>> 0;
      mh = (data[i + 4] | (data[i + 5] << 8) | (data[i + 6] << 16) | (data[i + 7] << 24)) >>> 0;
    } else {
      // Last block: the remaining 0-7 bytes, and the length's low byte in the top byte.
      mh = ((len & 0xff) << 24) >>> 0;
      const base = full * 8;
      for (let j = 0; j < len - base; j++) {
        const byte = data[base + j];
        if (j < 4) ml = (ml | (byte << (8 * j))) >>> 0;
        else mh = (mh | (byte << (8 * (j - 4)))) >>> 0;
      }
    }
    v3h = (v3h ^ mh) >>> 0;
    v3l = (v3l ^ ml) >>> 0;
    {
      // v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
      s = v0l + v1l;
      v0h = (v0h + v1h + (s > MASK32 ? 1 : 0)) >>> 0;
      v0l = s >>> 0;
      t = ((v1h << 13) | (v1l >>> 19)) >>> 0;
      v1l = (((v1l << 13) | (v1h >>> 19)) ^ v0l) >>> 0;
      v1h = (t ^ v0h) >>> 0;
      t = v0h;
      v0h = v0l;
      v0l = t;
      // v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
      s = v2l + v3l;
      v2h = (v2h + v3h + (s > MASK32 ? 1 : 0)) >>> 0;
      v2l = s >>> 0;
      t = ((v3h << 16) | (v3l >>> 16)) >>> 0;
      v3l = (((v3l << 16) | (v3h >>> 16)) ^ v2l) >>> 0;
      v3h = (t ^ v2h) >>> 0;
      // v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
      s = v0l + v3l;
      v0h = (v0h + v3h + (s > MASK32 ? 1 : 0)) >>> 0;
      v0l = s >>> 0;
      t = ((v3h << 21) | (v3l >>> 11)) >>> 0;
      v3l = (((v3l << 21) | (v3h >>> 11)) ^ v0l) >>> 0;
      v3h = (t ^ v0h) >>> 0;
      // v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
      s = v2l + v1l;
      v2h = (v2h + v1h + (s > MASK32 ? 1 : 0)) >>> 0;
      v2l = s >>> 0;
      t = ((v1h << 17) | (v1l >>> 15)) >>> 0;
      v1l = (((v1l << 17) | (v1h >>> 15)) ^ v2l) >>> 0;
      v1h = (t ^ v2h) >>> 0;
      t = v2h;
      v2h = v2l;
      v2l = t;
    }
    v0h = (v0h ^ mh) >>> 0;
    v0l = (v0l ^ ml) >>> 0;
  }

  v2l = (v2l ^ 0xff) >>> 0;
  for (let r = 0; r < 3; r++) {
    {
      // v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
      s = v0l + v1l;
      v0h = (v0h + v1h + (s > MASK32 ? 1 : 0)) >>> 0;
      v0l = s >>> 0;
      t = ((v1h << 13) | (v1l >>> 19)) >>> 0;
      v1l = (((v1l << 13) | (v1h >>> 19)) ^ v0l) >>> 0;
      v1h = (t ^ v0h) >>> 0;
      t = v0h;
      v0h = v0l;
      v0l = t;
      // v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
      s = v2l + v3l;
      v2h = (v2h + v3h + (s > MASK32 ? 1 : 0)) >>> 0;
      v2l = s >>> 0;
      t = ((v3h << 16) | (v3l >>> 16)) >>> 0;
      v3l = (((v3l << 16) | (v3h >>> 16)) ^ v2l) >>> 0;
      v3h = (t ^ v2h) >>> 0;
      // v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
      s = v0l + v3l;
      v0h = (v0h + v3h + (s > MASK32 ? 1 : 0)) >>> 0;
      v0l = s >>> 0;
      t = ((v3h << 21) | (v3l >>> 11)) >>> 0;
      v3l = (((v3l << 21) | (v3h >>> 11)) ^ v0l) >>> 0;
      v3h = (t ^ v0h) >>> 0;
      // v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
      s = v2l + v1l;
      v2h = (v2h + v1h + (s > MASK32 ? 1 : 0)) >>> 0;
      v2l = s >>> 0;
      t = ((v1h << 17) | (v1l >>> 15)) >>> 0;
      v1l = (((v1l << 17) | (v1h >>> 15)) ^ v2l) >>> 0;
      v1h = (t ^ v2h) >>> 0;
      t = v2h;
      v2h = v2l;
      v2l = t;
    }
  }
  return { hi: (v0h ^ v1h ^ v2h ^ v3h) >>> 0, lo: (v0l ^ v1l ^ v2l ^ v3l) >>> 0 };
}

/** SipHash-1-3 of `data` with the key (k0, k1), default (0, 0) as in `DefaultHasher::new()`. */
export function sipHash13(data: Uint8Array, k0 = 0n, k1 = 0n): bigint {
  const h = sipHash13Halves(data, halves(k0), halves(k1));
  return (BigInt(h.hi) << 32n) | BigInt(h.lo);
}

/** The hash as Rust's `format!("{:x}", hash)` prints it: lowercase hex, no zero padding. */
export function sipHash13Hex(data: Uint8Array): string {
  const { hi, lo } = sipHash13Halves(data);
  return hi === 0 ? lo.toString(16) : hi.toString(16) + lo.toString(16).padStart(8, '0');
}
