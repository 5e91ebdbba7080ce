/**
 * A third-party corpus: real BPF C programs that Debian packages ship, each compiled by clang-22
 * twice — to an object (`clang -c`, the reference) and to bitcode that the bpf-linker CLI links
 * in default mode (no export list, no --cpu) — and the two objects compared: programs and their
 * sections, maps, globals, license, BTF FUNC/VAR names, instruction count and ISA (32-bit
 * ALU/JMP), and the host kernel's verdict.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { findTypes, readBpfObject, type BpfObject } from '@bpf-linker/core';

export const CILIUM_ROOT = '/usr/share/gocode/src/github.com/cilium/ebpf';
export const CLANG = '/usr/bin/clang-22';
/** LLVM 22's own optimizer and code generator, to show where an instruction count comes from. */
export const OPT = '/usr/lib/llvm-22/bin/opt';
export const LLC = '/usr/lib/llvm-22/bin/llc';

/** The CPU clang-22 compiled a source for: its `-mcpu`, else clang-22's default, v3. */
export function compiledCpu(s: CorpusSource): string {
  return s.flags.find((f) => f.startsWith('-mcpu='))?.slice('-mcpu='.length) ?? 'v3';
}

export interface CorpusSource {
  /** `cilium/testdata/loader-el`: package, path without `.c`, byte order. */
  id: string;
  /** Debian package that ships it. */
  pkg: string;
  file: string;
  target: 'bpfel' | 'bpfeb';
  /** clang flags besides `-target` and the output mode (those of the project's own build). */
  flags: string[];
  /**
   * bpf-linker flags besides `--btf -o`: none. Without --cpu the link generates code for the CPU
   * the bitcode asks for: v3, clang-22's default or the selftests' `-mcpu=v3`.
   */
  linkFlags: string[];
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/**
 * cilium/ebpf's testdata (golang-github-cilium-ebpf-dev, installed): every `testdata/*.c`, for
 * both byte orders, with the flags of cilium's Makefile (`-O2 -g -Wall -Werror -target
 * bpfel|bpfeb`; the sources include their own headers, no system ones).
 */
export function discoverCilium(): CorpusSource[] {
  if (!existsSync(CILIUM_ROOT)) return [];
  const files = walk(CILIUM_ROOT)
    .filter((f) => f.endsWith('.c') && basename(dirname(f)) === 'testdata')
    .sort();
  return files.flatMap((file) => {
    const rel = relative(CILIUM_ROOT, file).replace(/\.c$/, '');
    return (['bpfel', 'bpfeb'] as const).map((target) => ({
      id: `cilium/${rel}-${target === 'bpfel' ? 'el' : 'eb'}`,
      pkg: 'golang-github-cilium-ebpf-dev',
      file,
      target,
      flags: ['-O2', '-g', '-Wall', '-Werror'],
      linkFlags: [],
    }));
  });
}

/**
 * gobpf's test program (golang-github-iovisor-gobpf-dev, unpacked by `scripts/kernels.sh corpus`
 * into `root/gobpf`), built as its `build` script does, for kernel 4.18: legacy `maps/*` map
 * definitions, its own copy of the UAPI headers.
 */
export function discoverGobpf(root: string): CorpusSource[] {
  const file = join(root, 'gobpf/tests/dummy.c');
  if (!existsSync(file)) return [];
  return [
    {
      id: 'gobpf/tests/dummy-el',
      pkg: 'golang-github-iovisor-gobpf-dev',
      file,
      target: 'bpfel',
      flags: ['-O2', '-g', '-D__KERNEL__', '-DKERNEL_VERSION=418', '-Wno-unused-value', '-Wno-pointer-sign', '-Wno-compare-distinct-pointer-types'],
      linkFlags: [],
    },
  ];
}

/**
 * The kernel's own BPF selftests (tools/testing/selftests/bpf/progs/*.c) from Debian's
 * linux-source-6.1, as `scripts/kernels.sh corpus` unpacks them into `root`, with the flags of
 * their Makefile's test_progs flavour (`-g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86
 * -DENABLE_ATOMICS_TESTS`, vmlinux.h and <bpf/*.h> from include/, the tree's UAPI) except
 * `-Werror`: clang-22 warns where the clang of 2022 did not.
 */
export function discoverSelftests(root: string): CorpusSource[] {
  const tree = join(root, 'linux-source-6.1/tools/testing/selftests/bpf');
  const progs = join(tree, 'progs');
  if (!existsSync(progs)) return [];
  const flags = [
    '-g', '-O2', '-mcpu=v3', '-mlittle-endian', '-D__TARGET_ARCH_x86', '-DENABLE_ATOMICS_TESTS',
    `-I${join(root, 'include')}`, `-I${tree}`, `-I${join(root, 'linux-source-6.1/tools/include/uapi')}`,
    '-Wno-compare-distinct-pointer-types',
  ];
  return readdirSync(progs)
    .filter((f) => f.endsWith('.c'))
    .sort()
    .map((f) => ({
      id: `selftests/${f.replace(/\.c$/, '')}`,
      pkg: 'linux-source-6.1',
      file: join(progs, f),
      target: 'bpfel' as const,
      flags: /^test_(l4lb|xdp)_noinline\.c$/.test(f) ? [...flags, '-fno-inline'] : flags,
      linkFlags: [],
    }));
}

export interface ProcessResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], timeoutMs = 120_000): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', (e) => resolve({ status: -1, stdout, stderr: `${stderr}${e.message}` }));
    p.on('close', (code, signal) => resolve({ status: code ?? (signal ? 128 : -1), stdout, stderr }));
  });
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping the order of results. */
export async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** What must be the same in clang's object and ours. */
export interface ObjectFacts {
  littleEndian: boolean;
  /** Entry points: `section:name`. */
  programs: string[];
  /** Functions in `.text`. */
  subprograms: string[];
  /** `section:name type=… key=… value=… max=… flags=…`. */
  maps: string[];
  /** `section:name size`. */
  globals: string[];
  license?: string;
  btf: boolean;
  btfFuncs: string[];
  btfVars: string[];
  btfDatasecs: string[];
  /** Instructions in all code sections (a `lddw` counts once, as llvm-objdump lists them). */
  instructions: number;
  /** 32-bit ALU / JMP32 instructions present: v3 code. */
  alu32: boolean;
  jmp32: boolean;
}

export function objectFacts(o: BpfObject): ObjectFacts {
  const btf = o.btf;
  return {
    littleEndian: o.littleEndian,
    programs: o.programs.filter((p) => !p.isSubprogram).map((p) => `${p.section}:${p.name}`).sort(),
    subprograms: o.programs.filter((p) => p.isSubprogram).map((p) => p.name).sort(),
    maps: o.maps
      .map((m) => `${m.section}:${m.name} ${m.source} type=${m.type} key=${m.keySize} value=${m.valueSize} max=${m.maxEntries} flags=${m.mapFlags ?? 0}`)
      .sort(),
    globals: o.globals.map((g) => `${g.section}:${g.name} ${g.size}`).sort(),
    license: o.license,
    btf: btf !== undefined,
    btfFuncs: btf ? findTypes(btf, 'FUNC').map((f) => `${f.name} ${f.linkage}`).sort() : [],
    btfVars: btf ? findTypes(btf, 'VAR').map((v) => `${v.name} ${v.linkage}`).sort() : [],
    btfDatasecs: btf ? findTypes(btf, 'DATASEC').map((d) => d.name).sort() : [],
    instructions: o.codeSections.reduce((n, s) => n + s.instructionCount, 0),
    alu32: o.codeSections.some((s) => s.usesAlu32),
    jmp32: o.codeSections.some((s) => s.usesJmp32),
  };
}

export function readFacts(path: string): ObjectFacts {
  return objectFacts(readBpfObject(readFileSync(path)));
}

/**
 * Each field where the two objects differ, as `field: clang … ≠ ours …`. One difference is named
 * instead: static functions that clang kept but that our link-time O2 inlined (they are gone
 * from `.text` and BTF, and nothing else changed) give one `inlined at link time: …` entry, which
 * also gives both instruction counts (inlining changes them).
 */
export function compareFacts(ref: ObjectFacts, ours: ObjectFacts): string[] {
  const diffs: string[] = [];
  const name = (f: string) => f.split(' ')[0];
  const inlined = ref.subprograms.filter((f) => !ours.subprograms.includes(f));
  const staticInRef = new Set(ref.btfFuncs.filter((f) => f.endsWith(' static')).map(name));
  const onlyInlined =
    inlined.length > 0 &&
    ours.subprograms.every((f) => ref.subprograms.includes(f)) &&
    inlined.every((f) => staticInRef.has(f)) &&
    JSON.stringify(ref.btfFuncs.filter((f) => !inlined.includes(name(f)))) === JSON.stringify(ours.btfFuncs);
  for (const key of Object.keys(ref) as (keyof ObjectFacts)[]) {
    if (onlyInlined && (key === 'subprograms' || key === 'btfFuncs' || key === 'instructions')) continue;
    const a = JSON.stringify(ref[key]);
    const b = JSON.stringify(ours[key]);
    if (a !== b) diffs.push(`${key}: clang ${a} ≠ ours ${b}`);
  }
  if (onlyInlined) {
    diffs.push(`inlined at link time: ${inlined.join(', ')} (static functions clang kept); instructions: clang ${ref.instructions}, ours ${ours.instructions}`);
  }
  return diffs;
}
