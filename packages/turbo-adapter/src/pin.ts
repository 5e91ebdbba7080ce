/**
 * The toolchain pin, `.bpf-toolchain.json` at the repository root: what identifies the tools BPF
 * builds use (clang, the libLLVM libraries the linker can load, rustc and cargo, the linker's
 * version), from the core's toolchain fingerprint. turbo has no runtime input, so the file is
 * listed in `globalDependencies`: a new toolchain changes the file, and the file changes every
 * hash. `bpf-turbo build` refuses to run against a pin that no longer describes the machine.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import {
  BuildError,
  cargoToolchainEnv,
  coreBtfFingerprint,
  effectiveCoreBtf,
  mergeLinkSettings,
  isRustProgram,
  probeToolchain,
  toolchainFingerprintParts,
  writeFileAtomically,
  type BpfProjectConfig,
  type ToolchainPart,
} from '@bpf-linker/core';

export const PIN_FILE = '.bpf-toolchain.json';

export interface ToolchainPin {
  $comment: string;
  /** Linker version and host. */
  common: string[];
  /** One line per clang the projects compile with. */
  clang?: string[];
  llvm?: string[];
  rust?: string[];
  /** Kernel BTFs outside the repository that CO-RE links relocate against (--core=auto: the running kernel's), by content. */
  kernelBtf?: string[];
}

const COMMENT =
  'Written by `bpf-turbo pin`: the toolchain of BPF builds. turbo hashes this file (globalDependencies), so a new clang, libLLVM, rustc, bpf-linker or CO-RE kernel BTF is a cache miss. Commit it; `bpf-turbo build` refuses to run when it is out of date.';

/** What a set of projects needs: the clangs they compile with (undefined = the default), LLVM, Rust. */
export interface ToolNeeds {
  clangs: (string | undefined)[];
  rust: boolean;
  /** The toolchain environments of the Rust programs (bpf.config.json's cargo settings), distinct. */
  rustEnvs?: Record<string, string>[];
  /** Absolute kernel BTFs the Rust programs' CO-RE links read (relative ones are task inputs). */
  kernelBtfs?: string[];
}

export function toolNeeds(configs: Iterable<BpfProjectConfig>): ToolNeeds {
  const clangs = new Set<string | undefined>();
  const rustEnvs = new Map<string, Record<string, string>>();
  const kernelBtfs = new Set<string>();
  for (const c of configs) {
    const programs = c.programs ?? [];
    if (c.library || programs.some((p) => !isRustProgram(p))) clangs.add(c.compile?.clang);
    for (const p of programs.filter(isRustProgram)) {
      const e = cargoToolchainEnv(p.cargo);
      rustEnvs.set(JSON.stringify(Object.entries(e).sort()), e);
      const btf = effectiveCoreBtf(mergeLinkSettings(c.link, p.link));
      if (btf !== undefined && isAbsolute(btf)) kernelBtfs.add(btf);
    }
  }
  return { clangs: [...clangs], rust: rustEnvs.size > 0, rustEnvs: [...rustEnvs.values()], ...(kernelBtfs.size ? { kernelBtfs: [...kernelBtfs].sort() } : {}) };
}

/** The pin describing this machine for these needs (probes the tools: a few processes). */
export function computePin(needs: ToolNeeds, env: NodeJS.ProcessEnv = process.env): ToolchainPin {
  const parts: ToolchainPart[] = ['llvm', ...(needs.rust ? (['rust'] as const) : [])];
  const base = toolchainFingerprintParts(probeToolchain({ tools: parts, env }), parts);
  const clang = [...new Set(needs.clangs.map((c) => toolchainFingerprintParts(probeToolchain({ clang: c, tools: ['clang'], env }), ['clang']).clang![0]))].sort();
  // Each Rust program's own toolchain (its cargo settings), so updating that one is a miss too.
  const rustEnvs = needs.rustEnvs ?? [{}];
  const rust = needs.rust
    ? [...new Set(rustEnvs.flatMap((e) => toolchainFingerprintParts(probeToolchain({ tools: ['rust'], env: { ...env, ...e } }), ['rust']).rust ?? []))]
    : undefined;
  const kernelBtf = (needs.kernelBtfs ?? []).map(coreBtfFingerprint);
  return { $comment: COMMENT, common: base.common, ...(clang.length ? { clang } : {}), llvm: base.llvm, ...(rust ? { rust } : {}), ...(kernelBtf.length ? { kernelBtf } : {}) };
}

export function pinText(pin: ToolchainPin): string {
  return `${JSON.stringify(pin, null, 2)}\n`;
}

export function readPin(root: string): ToolchainPin | undefined {
  try {
    return JSON.parse(readFileSync(join(root, PIN_FILE), 'utf8')) as ToolchainPin;
  } catch {
    return undefined;
  }
}

export function writePin(root: string, pin: ToolchainPin): void {
  writeFileAtomically(join(root, PIN_FILE), pinText(pin));
}

/** `- old` / `+ new` lines of a group that changed. */
function groupDiff(name: string, pinned: readonly string[] | undefined, now: readonly string[] | undefined): string[] {
  const was = pinned ?? [];
  const is = now ?? [];
  return [...was.filter((l) => !is.includes(l)).map((l) => `${name}: pinned "${l}", gone now`), ...is.filter((l) => !was.includes(l)).map((l) => `${name}: "${l}" is not pinned`)];
}

/**
 * Differences between the pin on disk and this machine; empty when current. `exact` (what `pin`
 * and `init` write): the pin must be exactly `current`. Otherwise (a package's build): it must
 * cover what `current` uses — other packages may compile with other clangs or Rust toolchains,
 * or without Rust.
 */
export function pinDifferences(pinned: ToolchainPin | undefined, current: ToolchainPin, exact = false): string[] {
  if (!pinned) return [`${PIN_FILE} is missing or not valid JSON`];
  return [
    ...groupDiff('bpf-linker/host', pinned.common, current.common),
    ...(exact
      ? groupDiff('clang', pinned.clang, current.clang)
      : (current.clang ?? []).filter((l) => !(pinned.clang ?? []).includes(l)).map((l) => `clang: "${l}" is not pinned`)),
    ...groupDiff('libLLVM', pinned.llvm, current.llvm),
    ...(exact
      ? groupDiff('rust', pinned.rust, current.rust)
      : (current.rust ?? []).filter((l) => !(pinned.rust ?? []).includes(l)).map((l) => `rust: "${l}" is not pinned`)),
    ...(exact
      ? groupDiff('kernel BTF', pinned.kernelBtf, current.kernelBtf)
      : (current.kernelBtf ?? []).filter((l) => !(pinned.kernelBtf ?? []).includes(l)).map((l) => `kernel BTF: "${l}" is not pinned`)),
  ];
}

/** Throws TOOLCHAIN_PIN_STALE when the pin does not describe the tools these projects use. */
export function assertPinCurrent(root: string, needs: ToolNeeds, env: NodeJS.ProcessEnv = process.env): void {
  const diffs = pinDifferences(readPin(root), computePin(needs, env));
  if (diffs.length === 0) return;
  throw new BuildError('TOOLCHAIN_PIN_STALE', `${PIN_FILE} does not describe this machine's BPF toolchain, so turbo's cache key would be wrong:\n  ${diffs.join('\n  ')}`, {
    file: join(root, PIN_FILE),
    hint: `run \`npx bpf-turbo pin\` at the repository root and commit ${PIN_FILE} (every BPF task then misses the cache once, as it must with another toolchain)`,
  });
}
