/**
 * What the inputs require of a libLLVM, and the preference order of candidates. Pure (no
 * koffi), so build-plan inference can predict the choice without loading LLVM.
 */
import { parseProducerVersion } from '../bitcode';
import { describeOrigin } from '../errors';
import type { InputUnit } from '../inputs/types';
import type { LlvmCandidate } from '../llvm/discovery';
import { compareVersions, type LlvmVersion } from '../llvm/types';

export interface ProducerRequirement {
  version: LlvmVersion;
  /** The rustc version when the newest producer is rustc's LLVM fork. */
  rustc?: string;
  producer: string;
  /** Which input it came from. */
  origin: string;
}

/** The newest producer among the inputs (undefined when none carries one, e.g. IR text only). */
export function newestProducer(units: InputUnit[]): ProducerRequirement | undefined {
  let newest: ProducerRequirement | undefined;
  for (const u of units) {
    if (!u.producer) continue;
    const v = parseProducerVersion(u.producer);
    if (!v) continue;
    const version = { major: v.major, minor: v.minor, patch: v.patch };
    if (!newest || compareVersions(version, newest.version) > 0 || (compareVersions(version, newest.version) === 0 && v.rustc && !newest.rustc)) {
      newest = { version, rustc: v.rustc, producer: u.producer, origin: describeOrigin(u.origin.file, u.origin.member) };
    }
  }
  return newest;
}

/**
 * Orders candidates by preference. Candidates older than the requirement (by major.minor) are
 * dropped; patch levels are checked after loading, since file names do not carry them.
 */
export function rankCandidates(candidates: LlvmCandidate[], need?: ProducerRequirement): LlvmCandidate[] {
  const mm = (c: { major: number; minor: number }) => c.major * 1000 + c.minor;
  if (!need) return [...candidates].sort((a, b) => mm(b) - mm(a) || rustcLast(a, b));
  const needMM = need.version.major * 1000 + need.version.minor;
  const fits = candidates.filter((c) => mm(c) >= needMM);
  const score = (c: LlvmCandidate) => {
    let s = 0;
    if (need.rustc && c.rustc === need.rustc) s -= 4;
    if (need.rustc && c.source === 'rustc') s -= 2;
    if (mm(c) === needMM) s -= 1;
    return s;
  };
  return fits.sort((a, b) => score(a) - score(b) || mm(a) - mm(b) || rustcLast(a, b));
}

function rustcLast(a: LlvmCandidate, b: LlvmCandidate): number {
  return Number(a.source === 'rustc') - Number(b.source === 'rustc');
}
