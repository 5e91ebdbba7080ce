/**
 * Finds libLLVM shared objects on this machine, cheapest sources first, without loading them.
 * Versions come from file names (libLLVM.so.22.1, libLLVM.so.22.1-rust-1.97.0-nightly); the
 * exact patch level is read with LLVMGetVersion once a candidate is loaded.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, closeSync, constants as fsConstants, existsSync, openSync, readFileSync, readSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';

export type CandidateSource = 'flag' | 'env' | 'rustc' | 'system';

export interface LlvmCandidate {
  /** The real shared object (symlinks and rustc's ld-script indirection resolved). */
  path: string;
  source: CandidateSource;
  major: number;
  minor: number;
  /** For rustc's own library: the rustc version in its name, e.g. 1.97.0-nightly. */
  rustc?: string;
}

export const SUPPORTED_MAJORS = [19, 20, 21, 22, 23] as const;

const SONAME = /^libLLVM\.so\.(\d+)\.(\d+)(?:-rust-(.+))?$/;
const DASHED = /^libLLVM-(\d+)(?:-rust-(.+))?\.so$/;

/** Version from a file name; undefined for names that are not a libLLVM shared object. */
export function parseLibraryFileName(name: string): { major: number; minor: number; rustc?: string } | undefined {
  const m = SONAME.exec(name);
  if (m) return { major: Number(m[1]), minor: Number(m[2]), rustc: m[3] };
  const d = DASHED.exec(name);
  if (d) return { major: Number(d[1]), minor: 1, rustc: d[2] };
  return undefined;
}

function isRegularFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** libLLVM shared objects directly in `dir` (never .a files). */
function librariesIn(dir: string, source: CandidateSource): LlvmCandidate[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: LlvmCandidate[] = [];
  // Versioned names first: they carry the minor version, which a dashed name only assumes.
  names.sort((a, b) => Number(!SONAME.test(a)) - Number(!SONAME.test(b)));
  for (const name of names) {
    const v = parseLibraryFileName(name);
    if (!v) continue;
    const full = join(dir, name);
    if (!isRegularFile(full)) continue;
    // A dashed name is a symlink to the versioned file, or in rustup toolchains a tiny ld script
    // naming it; older toolchains shipped the library itself under that name.
    if (!SONAME.test(name) && !isElfFile(full)) continue;
    out.push({ path: realpathSync(full), source, ...v });
  }
  return dedupe(out);
}

function isElfFile(p: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(p, 'r');
    const head = Buffer.alloc(4);
    return readSync(fd, head, 0, 4, 0) === 4 && head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * A path given by the user: a library file, a directory holding one, or an install prefix
 * (`<prefix>/lib`). rustc's `libLLVM-NN-rust-*.so` is a tiny ld script; we follow it to the real
 * `libLLVM.so.NN.M-rust-*` next to it.
 */
export function resolveUserLibraryPath(given: string, source: CandidateSource): LlvmCandidate | undefined {
  const p = resolve(given);
  if (!existsSync(p)) return undefined;
  if (statSync(p).isDirectory()) {
    const found = [...librariesIn(p, source), ...librariesIn(join(p, 'lib'), source)];
    found.sort((a, b) => b.major - a.major || b.minor - a.minor);
    return found[0];
  }
  const real = realpathSync(p);
  const base = real.split('/').pop() ?? '';
  const v = parseLibraryFileName(base);
  if (v && statSync(real).size < 4096) {
    // An ld script (INPUT(libLLVM.so.22.1-rust-…)): look for the real object beside it.
    const beside = librariesIn(dirname(real), source).find((c) => c.major === v.major && c.rustc === v.rustc);
    if (beside) return beside;
  }
  return { path: real, source, major: v?.major ?? 0, minor: v?.minor ?? 0, rustc: v?.rustc };
}

/**
 * rustc's own libLLVM, from the directories rustc puts in the linker's environment, or
 * `rustc --print sysroot`. With `wantRustc` (the rustc named in a bitcode producer, e.g.
 * `1.97.0-nightly`), rustup's other toolchains are searched too for that exact library, so
 * bitcode from `cargo +nightly` links with nightly's LLVM even when bpf-linker is run by hand
 * and the default toolchain is another one.
 */
export function findRustcLibraries(env: NodeJS.ProcessEnv = process.env, wantRustc?: string): LlvmCandidate[] {
  const dirs = new Set<string>();
  for (const d of (env.LD_LIBRARY_PATH ?? '').split(delimiter)) if (d) dirs.add(d);
  // rustc runs its linker with <sysroot>/lib/rustlib/<host>/bin first in PATH.
  for (const d of (env.PATH ?? '').split(delimiter)) {
    const m = /^(.*)\/lib\/rustlib\/[^/]+\/bin\/?$/.exec(d);
    if (m) dirs.add(join(m[1], 'lib'));
  }
  const rustc = env.RUSTC || 'rustc';
  try {
    const sysroot = execFileSync(rustc, ['--print', 'sysroot'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    }).trim();
    if (sysroot) dirs.add(join(sysroot, 'lib'));
  } catch {
    // no rustc: nothing to add
  }
  const out: LlvmCandidate[] = [];
  for (const d of dirs) out.push(...librariesIn(d, 'rustc').filter((c) => c.rustc !== undefined));
  if (wantRustc && !out.some((c) => c.rustc === wantRustc)) {
    for (const d of rustupToolchainLibDirs(env)) out.push(...librariesIn(d, 'rustc').filter((c) => c.rustc === wantRustc));
  }
  return dedupe(out);
}

/** `<toolchain>/lib` of every rustup toolchain ($RUSTUP_HOME, default ~/.rustup). */
function rustupToolchainLibDirs(env: NodeJS.ProcessEnv): string[] {
  const home = env.RUSTUP_HOME || (env.HOME ? join(env.HOME, '.rustup') : undefined);
  if (!home) return [];
  const toolchains = join(home, 'toolchains');
  try {
    return readdirSync(toolchains).map((t) => join(toolchains, t, 'lib'));
  } catch {
    return [];
  }
}

/** Packaged LLVMs: /usr/lib/llvm-NN/lib, llvm-config-NN --libdir, and the dynamic loader's cache. */
export function findSystemLibraries(): LlvmCandidate[] {
  const out: LlvmCandidate[] = [];
  for (const major of SUPPORTED_MAJORS) {
    const dir = `/usr/lib/llvm-${major}/lib`;
    // Debian's libLLVM-NN.so links to the versioned library: one realpath instead of listing a
    // directory of 250 static archives.
    let found = debianLibrary(dir, major) ?? librariesIn(dir, 'system').filter((c) => c.major === major);
    if (found.length === 0 && onPath(`llvm-config-${major}`)) {
      try {
        const libdir = execFileSync(`llvm-config-${major}`, ['--libdir'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
          timeout: 5_000,
        }).trim();
        found = librariesIn(libdir, 'system').filter((c) => c.major === major);
      } catch {
        // not installed
      }
    }
    out.push(...found);
  }
  for (const p of loaderCacheLibraries()) {
    const v = parseLibraryFileName(p.split('/').pop() ?? '');
    if (v && !v.rustc && v.major >= 19 && isRegularFile(p)) out.push({ path: realpathSync(p), source: 'system', ...v });
  }
  return dedupe(out);
}

function debianLibrary(dir: string, major: number): LlvmCandidate[] | undefined {
  try {
    const real = realpathSync(join(dir, `libLLVM-${major}.so`));
    const v = parseLibraryFileName(real.split('/').pop() ?? '');
    if (v && v.major === major && !v.rustc && isRegularFile(real)) return [{ path: real, source: 'system', ...v }];
  } catch {
    // not there: list the directory
  }
  return undefined;
}

/** Whether `command` is an executable in PATH (a spawn that fails costs a fork and exec). */
function onPath(command: string): boolean {
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    if (!d) continue;
    try {
      accessSync(join(d, command), fsConstants.X_OK);
      return true;
    } catch {
      // next directory
    }
  }
  return false;
}

/**
 * Libraries in the dynamic loader's cache. /etc/ld.so.cache is read directly (its paths are
 * NUL-terminated strings), which costs a fraction of a millisecond; `ldconfig -p` (a process)
 * only when the file cannot be read.
 */
export function loaderCacheLibraries(cacheFile = '/etc/ld.so.cache'): string[] {
  let bytes: Buffer | undefined;
  try {
    bytes = readFileSync(cacheFile);
  } catch {
    bytes = undefined;
  }
  if (bytes && (bytes.subarray(0, 11).toString('latin1') === 'ld.so-1.7.0' || bytes.subarray(0, 20).toString('latin1').startsWith('glibc-ld.so.cache'))) {
    const paths = new Set<string>();
    for (const m of bytes.toString('latin1').matchAll(/\0(\/[^\0]*\/libLLVM\.so\.\d+\.\d+)(?=\0)/g)) paths.add(m[1]);
    return [...paths];
  }
  for (const ldconfig of ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig']) {
    try {
      const text = execFileSync(ldconfig, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 });
      return [...text.matchAll(/=>\s*(\S*\/libLLVM\.so\.\d+\.\d+)\s*$/gm)].map((m) => m[1]);
    } catch {
      // try the next location
    }
  }
  return [];
}

function dedupe(list: LlvmCandidate[]): LlvmCandidate[] {
  const seen = new Set<string>();
  return list.filter((c) => (seen.has(c.path) ? false : (seen.add(c.path), true)));
}
