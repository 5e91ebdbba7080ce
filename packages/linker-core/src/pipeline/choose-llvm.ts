/**
 * Stage: choose the libLLVM to load. LLVM can read bitcode only from its own version or older,
 * so we read every input's producer and pick a library at least as new as the newest one,
 * preferring the same major.minor (and rustc's own library for rustc's bitcode).
 */
import { LinkError, describeOrigin } from '../errors';
import type { InputUnit } from '../inputs/types';
import type { Logger } from '../log';
import {
  findRustcLibraries,
  findSystemLibraries,
  resolveUserLibraryPath,
  type LlvmCandidate,
} from '../llvm/discovery';
import { loadLlvmLibrary, type LlvmLibrary } from '../llvm/library';
import { compareVersions, formatVersion } from '../llvm/types';
import { newestProducer, rankCandidates, type ProducerRequirement } from './llvm-requirement';

export { newestProducer, rankCandidates, type ProducerRequirement };

export interface ChooseLlvmOptions {
  /** --llvm-path or BPF_LINKER_LLVM: use exactly this library. */
  llvmPath?: string;
  env?: NodeJS.ProcessEnv;
}

export interface LlvmChoice {
  library: LlvmLibrary;
  candidate: LlvmCandidate;
  requirement?: ProducerRequirement;
}

function producersList(units: InputUnit[]): string {
  const lines = units.map((u) => `    ${describeOrigin(u.origin.file, u.origin.member)}: ${u.producer ?? (u.kind === 'ir-text' ? 'LLVM IR text (no producer)' : 'no producer recorded')}`);
  return lines.length > 12 ? [...lines.slice(0, 12), `    … and ${lines.length - 12} more`].join('\n') : lines.join('\n');
}

function tooOld(lib: LlvmLibrary, need: ProducerRequirement | undefined): boolean {
  return need !== undefined && compareVersions(lib.version, need.version) < 0;
}

/**
 * Candidate libraries for a requirement. rustc is only asked (a process spawn) when its bitcode
 * is involved, nothing else fits, or `everything` is set (for --print-llvm).
 */
export function findLlvmCandidates(need: ProducerRequirement | undefined, env: NodeJS.ProcessEnv, everything = false): LlvmCandidate[] {
  const system = findSystemLibraries();
  const systemFits = rankCandidates(system, need).length > 0;
  const rustc = everything || need?.rustc || !systemFits ? findRustcLibraries(env, need?.rustc) : [];
  return [...rustc, ...system];
}

export function chooseLlvm(units: InputUnit[], options: ChooseLlvmOptions, logger: Logger): LlvmChoice {
  const need = newestProducer(units);
  const env = options.env ?? process.env;
  if (need) logger.debug(`newest bitcode producer: ${need.producer} (${need.origin})`);

  if (options.llvmPath) {
    const candidate = resolveUserLibraryPath(options.llvmPath, 'flag');
    if (!candidate) {
      throw new LinkError('LLVM_NOT_FOUND', `no libLLVM found at ${options.llvmPath}`, {
        hint: 'pass a libLLVM.so file or an LLVM install prefix (e.g. /usr/lib/llvm-22), or unset BPF_LINKER_LLVM',
      });
    }
    const library = loadLlvmLibrary(candidate.path);
    if (tooOld(library, need)) {
      throw new LinkError(
        'LLVM_VERSION_MISMATCH',
        `the requested libLLVM ${candidate.path} is LLVM ${formatVersion(library.version)}, but ${need!.origin} was produced by ${need!.producer}; LLVM cannot read bitcode from a newer LLVM\n  inputs:\n${producersList(units)}`,
        { hint: `use LLVM ${need!.version.major}.${need!.version.minor} or newer: drop --llvm-path/BPF_LINKER_LLVM to choose automatically, or install llvm-${need!.version.major}` },
      );
    }
    logger.info(`using ${candidate.path} (LLVM ${formatVersion(library.version)}, forced)`);
    return { library, candidate, requirement: need };
  }

  const candidates = findLlvmCandidates(need, env);
  const ranked = rankCandidates(candidates, need);
  const rejected: string[] = [];
  for (const candidate of ranked) {
    let library: LlvmLibrary;
    try {
      library = loadLlvmLibrary(candidate.path);
    } catch (e) {
      rejected.push(`${candidate.path}: ${(e as Error).message}`);
      continue;
    }
    if (tooOld(library, need)) {
      rejected.push(`${candidate.path}: LLVM ${formatVersion(library.version)} is older than ${need!.producer}`);
      continue;
    }
    logger.info(`using ${candidate.path} (LLVM ${formatVersion(library.version)}, ${candidate.source})`);
    return { library, candidate, requirement: need };
  }

  const found = candidates.length
    ? candidates.map((c) => `    ${c.path} (LLVM ${c.major}.${c.minor}${c.rustc ? `, rustc ${c.rustc}` : ''}, ${c.source})`).join('\n')
    : '    none (looked in /usr/lib/llvm-19…23/lib, llvm-config-NN, the loader cache and rustc\'s sysroot)';
  const wanted = need ? `LLVM ${formatVersion(need.version)} or newer (for ${need.producer} in ${need.origin})` : 'LLVM 19 or newer';
  throw new LinkError(
    candidates.length ? 'LLVM_VERSION_MISMATCH' : 'LLVM_NOT_FOUND',
    `no usable libLLVM: the inputs need ${wanted}\n  inputs:\n${producersList(units)}\n  libraries found:\n${found}${rejected.length ? `\n  rejected:\n${rejected.map((r) => `    ${r}`).join('\n')}` : ''}`,
    {
      hint: need?.rustc
        ? `use the LLVM of the rustc that built the crate (rustup: it ships libLLVM in $(rustc --print sysroot)/lib), or install llvm-${need.version.major}, or pass --llvm-path`
        : `install LLVM ${need ? need.version.major : 22} (apt-get install llvm-${need ? need.version.major : 22}) or pass --llvm-path <libLLVM.so>`,
    },
  );
}
