/**
 * SipHash-1-3 (one compression round per 8-byte block, three finalization rounds), the
 * algorithm of Rust's `std::collections::hash_map::DefaultHasher`. `DefaultHasher::new()` uses
 * the keys (0, 0), and one `Hasher::write(bytes)` feeds the bytes as they are (no length
 * prefix, no terminator), which is what `sipHash13(bytes)` computes. It only runs for names
 * longer than 128 bytes, so plain bigint arithmetic is fast enough.
 */

const MASK64 = (1n << 64n) - 1n;

function rotl(x: bigint, bits: bigint): bigint {
  return ((x << bits) | (x >> (64n - bits))) & MASK64;
}

function sipRound(v: bigint[]): void {
  v[0] = (v[0] + v[1]) & MASK64;
  v[1] = rotl(v[1], 13n) ^ v[0];
  v[0] = rotl(v[0], 32n);
  v[2] = (v[2] + v[3]) & MASK64;
  v[3] = rotl(v[3], 16n) ^ v[2];
  v[0] = (v[0] + v[3]) & MASK64;
  v[3] = rotl(v[3], 21n) ^ v[0];
  v[2] = (v[2] + v[1]) & MASK64;
  v[1] = rotl(v[1], 17n) ^ v[2];
  v[2] = rotl(v[2], 32n);
}

/** SipHash-1-3 of `data` with the key (k0, k1), default (0, 0) as in `DefaultHasher::new()`. */
export function sipHash13(data: Uint8Array, k0 = 0n, k1 = 0n): bigint {
  // "somepseudorandomlygeneratedbytes"
  const v = [k0 ^ 0x736f6d6570736575n, k1 ^ 0x646f72616e646f6dn, k0 ^ 0x6c7967656e657261n, k1 ^ 0x7465646279746573n];
  const compress = (m: bigint) => {
    v[3] ^= m;
    sipRound(v);
    v[0] ^= m;
  };
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const full = Math.floor(data.length / 8);
  for (let i = 0; i < full; i++) compress(view.getBigUint64(i * 8, true));
  // Last block: the remaining 0–7 bytes, and the length's low byte in the top byte.
  let last = BigInt(data.length & 0xff) << 56n;
  for (let j = full * 8; j < data.length; j++) last |= BigInt(data[j]) << BigInt(8 * (j - full * 8));
  compress(last);
  v[2] ^= 0xffn;
  for (let r = 0; r < 3; r++) sipRound(v);
  return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/** The hash as Rust's `format!("{:x}", hash)` prints it: lowercase hex, no zero padding. */
export function sipHash13Hex(data: Uint8Array): string {
  return sipHash13(data).toString(16);
}
