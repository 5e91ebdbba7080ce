/**
 * Decides what an input is from its first bytes, never from its name: rustc's `*.rcgu.o` are raw
 * bitcode, and rlibs are archives whatever they are called.
 */
import { isBitcode } from '../bitcode/producer';
import { isArchive, isThinArchive } from './archive';
import { isElf } from './elf';

export type InputKind = 'archive' | 'bitcode' | 'elf' | 'macho' | 'ir-text' | 'unknown';

/** 0xFEEDFACE (32-bit) and 0xFEEDFACF (64-bit) Mach-O headers, in both byte orders. */
const MACHO_MAGICS = [
  [0xcf, 0xfa, 0xed, 0xfe],
  [0xce, 0xfa, 0xed, 0xfe],
  [0xfe, 0xed, 0xfa, 0xcf],
  [0xfe, 0xed, 0xfa, 0xce],
] as const;

/** How an LLVM IR text file can begin, after leading whitespace (the list bpf-linker uses). */
const IR_TEXT_PREFIXES = ['; ModuleID', 'source_filename', 'target datalayout', 'target triple', 'define ', 'declare ', '!llvm'];
const LONGEST_IR_PREFIX = Math.max(...IR_TEXT_PREFIXES.map((p) => p.length));

/** Space, \t, \n, \v, \f, \r. */
const isAsciiWhitespace = (b: number) => b === 0x20 || (b >= 0x09 && b <= 0x0d);

function startsWithBytes(bytes: Uint8Array, magic: readonly number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

export function isMachO(bytes: Uint8Array): boolean {
  return MACHO_MAGICS.some((m) => startsWithBytes(bytes, m));
}

export function isIrText(bytes: Uint8Array): boolean {
  let start = 0;
  while (start < bytes.length && isAsciiWhitespace(bytes[start])) start++;
  const head = Buffer.from(bytes.buffer, bytes.byteOffset + start, Math.min(LONGEST_IR_PREFIX, bytes.length - start)).toString('latin1');
  return IR_TEXT_PREFIXES.some((p) => head.startsWith(p));
}

/**
 * Thin archives are reported as `archive` so that the archive reader can reject them with a
 * message saying why, rather than calling them unknown.
 */
export function detectInputKind(bytes: Uint8Array): InputKind {
  if (isArchive(bytes) || isThinArchive(bytes)) return 'archive';
  if (isBitcode(bytes)) return 'bitcode';
  if (isElf(bytes)) return 'elf';
  if (isMachO(bytes)) return 'macho';
  if (isIrText(bytes)) return 'ir-text';
  return 'unknown';
}
