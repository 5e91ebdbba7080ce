/**
 * Real toolchains for tests: clang-19/clang-22 and the LLVM tools of the same version.
 * Fixtures are compiled at test time; nothing here is a stand-in.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type LlvmMajor = 19 | 22;
export const LLVM_MAJORS: LlvmMajor[] = [19, 22];

/** Debian's multiarch include dir, which clang -target bpf does not add by itself. */
export const MULTIARCH_INCLUDE = '-I/usr/include/x86_64-linux-gnu';

export function llvmTool(major: LlvmMajor, tool: string): string {
  const p = `/usr/lib/llvm-${major}/bin/${tool}`;
  if (!existsSync(p)) throw new Error(`${p} is missing: run scripts/setup.sh`);
  return p;
}

export function makeTempDir(prefix = 'bpfl-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export type CompileMode = 'bc' | 'flto' | 'obj' | 'll';

export interface CompileOptions {
  major: LlvmMajor;
  /** Path of the C source. */
  source: string;
  out: string;
  mode: CompileMode;
  /** Defaults to ['-g', '-O2']. */
  flags?: string[];
}

/** Compiles C for BPF with real clang. `bc` and `flto` give raw bitcode, `ll` IR text, `obj` an ELF object. */
export function compileC(o: CompileOptions): string {
  const mode = { bc: ['-emit-llvm', '-c'], flto: ['-flto', '-c'], obj: ['-c'], ll: ['-emit-llvm', '-S'] }[o.mode];
  execFileSync(
    llvmTool(o.major, 'clang'),
    ['-target', 'bpf', MULTIARCH_INCLUDE, ...(o.flags ?? ['-g', '-O2']), ...mode, o.source, '-o', o.out],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return o.out;
}

/** Writes C source text to `dir/name` and returns the path. */
export function writeSource(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** `llvm-ar rcs` (GNU format by default; `bsd` for the BSD variant). */
export function makeArchive(major: LlvmMajor, out: string, members: string[], format: 'gnu' | 'bsd' = 'gnu'): string {
  execFileSync(llvmTool(major, 'llvm-ar'), [`--format=${format}`, 'rcs', out, ...members], { stdio: 'pipe' });
  return out;
}

/** An ELF object carrying the bitcode file in a `.llvmbc` section (as -fembed-bitcode would). */
export function embedBitcodeInElf(major: LlvmMajor, elfObject: string, bitcode: string, out: string): string {
  execFileSync(llvmTool(major, 'llvm-objcopy'), ['--add-section', `.llvmbc=${bitcode}`, elfObject, out], { stdio: 'pipe' });
  return out;
}
