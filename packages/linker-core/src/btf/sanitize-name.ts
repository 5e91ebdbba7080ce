/**
 * The kernel accepts only C identifiers as BTF type and function names, and rustc names types
 * and functions `Foo<u32>`, `core::option::Option<T>`, `[u8; 32]`. Every byte outside
 * `[0-9A-Za-z_]` becomes `_<HEX>_` (uppercase, unpadded; non-ASCII UTF-8 byte by byte). A result
 * longer than the kernel's smallest KSYM_NAME_LEN (128) keeps its first 111 bytes plus `_` and
 * the SipHash-1-3 (Rust's DefaultHasher) of the whole escaped name in unpadded lowercase hex, so
 * long generic names stay distinct.
 */
import { sipHash13Hex } from './siphash';

/** `MAX_KSYM_NAME_LEN`: the smallest KSYM_NAME_LEN across kernels. */
export const MAX_KSYM_NAME_LEN = 128;
/** Bytes kept before `_<hash>`: room for a 16-digit hash and its underscore. */
export const TRUNCATED_PREFIX_LEN = MAX_KSYM_NAME_LEN - 16 - 1;

const encoder = new TextEncoder();
/** `0-9A-F` as bytes. */
const HEX = Buffer.from('0123456789ABCDEF', 'latin1');

/** Whether a byte is kept as is: ASCII letters, digits and `_`. */
function isIdentByte(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5f;
}

/** Whether `sanitizeName` would change the name (no allocation for bytes). */
export function needsSanitizing(name: Uint8Array | string): boolean {
  const bytes = typeof name === 'string' ? encoder.encode(name) : name;
  if (bytes.length > MAX_KSYM_NAME_LEN) return true;
  for (let i = 0; i < bytes.length; i++) if (!isIdentByte(bytes[i])) return true;
  return false;
}

/** Escapes and, past 128 bytes, truncates-and-hashes a BTF name. The result is ASCII. */
export function sanitizeName(name: Uint8Array | string): string {
  const bytes = typeof name === 'string' ? encoder.encode(name) : name;
  // Every byte becomes at most four (`_XX_`).
  const buf = Buffer.allocUnsafe(bytes.length * 4);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (isIdentByte(b)) {
      buf[n++] = b;
      continue;
    }
    buf[n++] = 0x5f;
    if (b >= 0x10) buf[n++] = HEX[b >> 4];
    buf[n++] = HEX[b & 0xf];
    buf[n++] = 0x5f;
  }
  const out = buf.toString('latin1', 0, n);
  if (out.length <= MAX_KSYM_NAME_LEN) return out;
  // `out` is ASCII: its string length is its byte length.
  const hash = sipHash13Hex(buf.subarray(0, n));
  return `${out.slice(0, TRUNCATED_PREFIX_LEN)}_${hash}`;
}
