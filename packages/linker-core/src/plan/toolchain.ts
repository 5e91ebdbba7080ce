/**
 * Which tools a build uses, and what identifies them for caching: clang (path + version), the
 * libLLVM the link will load (chosen from the bitcode producer, as the link stage does), rustc
 * and cargo, and the linker's own version.
 *
 * Two levels: `locateTools` only looks at the file system (cheap enough for build-graph
 * inference, which must not start processes), `probeToolchain` also asks the tools for their
 * versions (once per build or hash computation).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { LINKER_VERSION } from '../cache/version';
import { findRustcLibraries, findSystemLibraries, SUPPORTED_MAJORS, type LlvmCandidate } from '../llvm/discovery';
import { rankCandidates } from '../pipeline/llvm-requirement';

export interface HostInfo {
  /** `uname -m` spelling: x86_64, aarch64, … */
  arch: string;
  /** libbpf's `__TARGET_ARCH_<x>` (for PT_REGS_* in bpf_tracing.h), when the arch has one. */
  targetArch?: string;
  /** Debian/Ubuntu multiarch include directory (asm/types.h lives there), when it exists. */
  multiarchInclude?: string;
}

export interface ToolIdentity {
  /** Path or command as it will be run. */
  path: string;
  /** The version line the tool printed (probe only). */
  version?: string;
}

export interface LlvmIdentity {
  path: string;
  /** major.minor from the library name (patch levels are only known once loaded). */
  version: string;
  source: LlvmCandidate['source'];
  rustc?: string;
}

export interface ToolchainIdentity {
  linker: string;
  host: HostInfo;
  clang: ToolIdentity;
  /** libLLVM libraries the linker can choose from (probe only). */
  llvmCandidates?: LlvmCandidate[];
  rustc: ToolIdentity & { llvm?: string };
  cargo: ToolIdentity;
}

const ARCHES: Record<string, { uname: string; target?: string }> = {
  x64: { uname: 'x86_64', target: 'x86' },
  arm64: { uname: 'aarch64', target: 'arm64' },
  arm: { uname: 'arm', target: 'arm' },
  s390x: { uname: 's390x', target: 's390' },
  ppc64: { uname: 'powerpc64le', target: 'powerpc' },
  riscv64: { uname: 'riscv64', target: 'riscv' },
  loong64: { uname: 'loongarch64', target: 'loongarch' },
  mips: { uname: 'mips', target: 'mips' },
};

export function hostInfo(arch: string = process.arch): HostInfo {
  const a = ARCHES[arch] ?? { uname: arch };
  const dir = `/usr/include/${a.uname}-linux-gnu`;
  return { arch: a.uname, targetArch: a.target, multiarchInclude: existsSync(dir) ? dir : undefined };
}

function isExecutableFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** A command name looked up on PATH (no process started); absolute and relative paths are kept. */
export function whichSync(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (command.includes('/')) return isExecutableFile(resolve(command)) ? command : undefined;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutableFile(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

/**
 * The clang to compile with: the configured one, else $BPF_CLANG, else the newest packaged
 * /usr/lib/llvm-NN/bin/clang, else `clang` on PATH. Returns what to run (never undefined: a
 * missing clang is reported when the compile step runs, with a hint).
 */
export function locateClang(requested: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const wanted = requested ?? env.BPF_CLANG;
  if (wanted) return wanted;
  for (const major of [...SUPPORTED_MAJORS].sort((a, b) => b - a)) {
    const p = `/usr/lib/llvm-${major}/bin/clang`;
    if (isExecutableFile(p)) return p;
  }
  return 'clang';
}

export interface LocateOptions {
  clang?: string;
  env?: NodeJS.ProcessEnv;
}

/** Tools by location only: no process is started. */
export function locateTools(options: LocateOptions = {}): ToolchainIdentity {
  const env = options.env ?? process.env;
  return {
    linker: LINKER_VERSION,
    host: hostInfo(),
    clang: { path: locateClang(options.clang, env) },
    rustc: { path: env.RUSTC || 'rustc' },
    cargo: { path: env.CARGO || 'cargo' },
  };
}

export interface ProbeOptions extends LocateOptions {
  /** Which tools to ask; each costs a process (tens of milliseconds). Default: all. */
  tools?: ReadonlyArray<'clang' | 'llvm' | 'rust'>;
}

function firstLine(command: string, args: string[], env: NodeJS.ProcessEnv): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'ignore'], timeout: 20_000 }).trim();
  } catch {
    return undefined;
  }
}

/** locateTools plus versions: `clang --version`, `rustc -vV`, and the libLLVM candidates. */
export function probeToolchain(options: ProbeOptions = {}): ToolchainIdentity {
  const env = options.env ?? process.env;
  const tools = new Set(options.tools ?? ['clang', 'llvm', 'rust']);
  const id = locateTools(options);
  if (tools.has('clang')) id.clang.version = firstLine(id.clang.path, ['--version'], env)?.split('\n')[0];
  if (tools.has('rust')) {
    const vv = firstLine(id.rustc.path, ['-vV'], env);
    if (vv) {
      id.rustc.version = vv.split('\n')[0];
      id.rustc.llvm = /^LLVM version: (.+)$/m.exec(vv)?.[1];
    }
    id.cargo.version = firstLine(id.cargo.path, ['--version'], env);
  }
  if (tools.has('llvm')) {
    const seen = new Set<string>();
    id.llvmCandidates = [...findRustcLibraries(env), ...findSystemLibraries()].filter((c) =>
      seen.has(c.path) ? false : (seen.add(c.path), true),
    );
  }
  return id;
}

/** clang's version from `clang version 22.1.8 …`, or from a /usr/lib/llvm-NN path. */
export function clangVersion(clang: ToolIdentity): { major: number; minor: number; patch: number } | undefined {
  const m = /clang version (\d+)\.(\d+)\.(\d+)/.exec(clang.version ?? '');
  if (m) return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
  const p = /llvm-(\d+)\//.exec(clang.path) ?? /clang-(\d+)$/.exec(clang.path);
  return p ? { major: Number(p[1]), minor: 0, patch: 0 } : undefined;
}

/**
 * The libLLVM a link of bitcode from this producer will load (the link stage's own ranking), or
 * undefined when the candidates were not probed or none is new enough.
 */
export function predictLlvm(
  toolchain: ToolchainIdentity,
  producer: { major: number; minor: number; patch?: number; rustc?: string } | undefined,
  llvmPath?: string,
): LlvmIdentity | undefined {
  if (!toolchain.llvmCandidates) return undefined;
  if (llvmPath) return { path: isAbsolute(llvmPath) ? llvmPath : resolve(llvmPath), version: 'forced', source: 'flag' };
  const need = producer
    ? { version: { major: producer.major, minor: producer.minor, patch: producer.patch ?? 0 }, rustc: producer.rustc, producer: '', origin: '' }
    : undefined;
  const best = rankCandidates(toolchain.llvmCandidates, need)[0];
  if (!best) return undefined;
  return { path: best.path, version: `${best.major}.${best.minor}`, source: best.source, rustc: best.rustc };
}

/** rustc's LLVM as a producer requirement (`22.1.8` → 22.1.8, tagged with the rustc version). */
export function rustcProducer(rustc: ToolchainIdentity['rustc']): { major: number; minor: number; patch: number; rustc?: string } | undefined {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(rustc.llvm ?? '');
  if (!m) return undefined;
  const release = /^rustc (\S+)/.exec(rustc.version ?? '')?.[1];
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0), rustc: release };
}

export type ToolchainPart = 'clang' | 'llvm' | 'rust';

/**
 * Stable lines identifying a toolchain, for cache inputs: `common` (linker version, host) and one
 * group per tool asked for, with versions and library sizes (a patch release changes the size),
 * no timestamps.
 */
export function toolchainFingerprintParts(id: ToolchainIdentity, parts: ReadonlyArray<ToolchainPart> = ['clang', 'llvm', 'rust']): { common: string[] } & Partial<Record<ToolchainPart, string[]>> {
  const out: { common: string[] } & Partial<Record<ToolchainPart, string[]>> = { common: [`bpf-linker ${id.linker}`, `host ${id.host.arch}`] };
  if (parts.includes('clang')) out.clang = [`clang ${id.clang.path}: ${id.clang.version ?? '(version unknown)'}`];
  if (parts.includes('llvm')) {
    out.llvm = (id.llvmCandidates ?? []).map((c) => {
      let size = '?';
      try {
        size = String(statSync(c.path).size);
      } catch {
        // vanished between discovery and now: the size stays unknown
      }
      return `libLLVM ${c.major}.${c.minor}${c.rustc ? ` rust-${c.rustc}` : ''} ${c.source} ${c.path} ${size}`;
    });
  }
  if (parts.includes('rust')) {
    out.rust = [
      `rustc ${id.rustc.path}: ${id.rustc.version ?? '(not found)'}, LLVM ${id.rustc.llvm ?? '?'}`,
      `cargo ${id.cargo.path}: ${id.cargo.version ?? '(not found)'}`,
    ];
  }
  return out;
}

/** toolchainFingerprintParts as one text (Nx's `runtime` input). */
export function toolchainFingerprint(id: ToolchainIdentity, parts: ReadonlyArray<ToolchainPart> = ['clang', 'llvm', 'rust']): string {
  const p = toolchainFingerprintParts(id, parts);
  const lines = [...p.common, ...(['clang', 'llvm', 'rust'] as const).filter((k) => parts.includes(k)).flatMap((k) => p[k] ?? [])];
  return `${lines.join('\n')}\n`;
}

/** Whether a rustc has a prebuilt `core` for a BPF target (in `<sysroot>/lib/rustlib/<triple>/lib`). */
export function rustcHasBpfCore(rustc: string, env: NodeJS.ProcessEnv = process.env, triple = 'bpfel-unknown-none'): boolean {
  const sysroot = firstLine(rustc, ['--print', 'sysroot'], env);
  if (!sysroot) return false;
  const dir = join(sysroot, 'lib', 'rustlib', triple, 'lib');
  try {
    return readdirSync(dir).some((f) => /^libcore-[0-9a-f]+\.rlib$/.test(f));
  } catch {
    return false;
  }
}

/**
 * The cargo toolchain a generated Rust program should name, so that it builds on this machine:
 * nothing when the rustc cargo would run has a BPF core; Debian's /usr/bin/rustc (with
 * libstd-rust-web-dev-bpf) when it has one and the default does not (rustup's stable first on PATH,
 * the usual trap); else nothing, and the build's error says what to do.
 */
export function suggestRustToolchain(env: NodeJS.ProcessEnv = process.env): { rustc?: string } {
  const rustc = env.RUSTC || 'rustc';
  if (rustcHasBpfCore(rustc, env)) return {};
  const debian = '/usr/bin/rustc';
  return rustc !== debian && rustcHasBpfCore(debian, env) ? { rustc: debian } : {};
}
