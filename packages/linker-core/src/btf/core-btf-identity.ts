/**
 * Which kernel BTF a link's CO-RE stage reads, and what identifies it for caches: the BTF decides
 * which accesses are relocated, so its content is part of every cache key and toolchain identity
 * of a link that uses it (a kernel upgrade on the building machine is a miss with --core=auto).
 */
import { createHash } from 'node:crypto';
import { CORE_AUTO_BTF, type CoreMode } from '../options';
import { readCoreBtfFile } from './kernel-btf';

/** The BTF file the settings make the CO-RE stage read (as written: possibly relative), or undefined. */
export function effectiveCoreBtf(s: { core?: CoreMode; coreBtf?: string }, autoBtf = CORE_AUTO_BTF): string | undefined {
  if (s.core === 'off') return undefined;
  return s.coreBtf ?? (s.core === 'auto' ? autoBtf : undefined);
}

/**
 * SHA-256 of the file's content, or `absent` when it cannot be read (--core=auto on a kernel
 * without BTF; the link itself says what is wrong with a file it was given).
 */
export function coreBtfDigest(path: string): string {
  try {
    return createHash('sha256').update(readCoreBtfFile(path)).digest('hex');
  } catch {
    return 'absent';
  }
}

/** One line for a toolchain identity (Nx's runtime input, Turborepo's pin). */
export function coreBtfFingerprint(path: string): string {
  return `kernel BTF ${path}: ${coreBtfDigest(path)}`;
}
