/**
 * The kernel harness from TypeScript: scripts/kernels.sh fetches Debian kernels, builds the
 * static libbpf loader (loader.c) and boots a kernel under QEMU with a busybox initramfs; this
 * module runs it and parses the loader's output into one result per object.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const KERNELS_SCRIPT = fileURLToPath(new URL('../../scripts/kernels.sh', import.meta.url));

/** Kernels the harness boots: Debian bookworm's 6.1 and bullseye's 5.10. */
export const KERNELS = ['6.1', '5.10'] as const;
export type KernelName = (typeof KERNELS)[number];

export interface ProgramResult {
  name: string;
  section: string;
  state: 'OK' | 'FAIL' | 'NOT-LOADED';
  /** The verifier log of a rejected program ('' otherwise). */
  log: string;
  /** With the loader's --run: what BPF_PROG_TEST_RUN returned (a raw tracepoint), or why it failed. */
  run?: { retval: number } | { error: string };
}

export interface ObjectResult {
  /** File name without `.o`. */
  name: string;
  ok: boolean;
  /** libbpf's error for a failed open or load (e.g. `Permission denied`). */
  error?: string;
  /** libbpf's message when the object did not even open (no program was loaded). */
  openError?: string;
  programs: ProgramResult[];
  /** libbpf's messages and every verifier log of this object. */
  log: string;
}

export interface LoadRun {
  /** `uname -r` of the kernel that loaded the objects. */
  release: string;
  results: Map<string, ObjectResult>;
  wallMs: number;
  output: string;
}

function script(args: string[], timeoutMs: number) {
  const r = spawnSync('bash', [KERNELS_SCRIPT, ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

/** Tools the harness needs, with the Debian package of each; empty when all are there. */
export function missingTools(): string[] {
  const need: [string, string][] = [
    ['/usr/bin/qemu-system-x86_64', 'qemu-system-x86'],
    ['/bin/busybox', 'busybox-static'],
    ['/usr/bin/cpio', 'cpio'],
    ['/usr/bin/xz', 'xz-utils'],
    ['/usr/bin/gcc', 'gcc'],
    ['/usr/lib/x86_64-linux-gnu/libc.a', 'libc6-dev'],
    ['/usr/lib/x86_64-linux-gnu/libbpf.a', 'libbpf-dev'],
    ['/usr/lib/x86_64-linux-gnu/libelf.a', 'libelf-dev'],
    ['/usr/lib/x86_64-linux-gnu/libz.a', 'zlib1g-dev'],
  ];
  return need.filter(([path]) => !existsSync(path)).map(([path, pkg]) => `${pkg} (${path})`);
}

/**
 * Downloads and extracts a kernel into the cache (a no-op when cached). Returns the vmlinux
 * path, or `unavailable` with the reason when Debian's archive does not have it here.
 */
export function fetchKernel(name: KernelName): { vmlinux: string } | { unavailable: string } {
  const r = script(['fetch', name], 300_000);
  if (r.status === 3) return { unavailable: r.stderr.trim().split('\n').filter((l) => l.includes('unavailable')).join(' ') || r.stderr.trim() };
  if (r.status !== 0) throw new Error(`scripts/kernels.sh fetch ${name} failed (${r.status}): ${r.stderr}${r.error ?? ''}`);
  return { vmlinux: r.stdout.trim().split(' ').slice(1).join(' ') };
}

/** Builds (or finds in the cache) the static loader and returns its path. */
export function loaderPath(): string {
  const r = script(['loader'], 120_000);
  if (r.status !== 0) throw new Error(`scripts/kernels.sh loader failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** Boots the kernel once and loads every object in it (`loaderArgs`: e.g. --run). */
export function loadInKernel(name: KernelName, objects: string[], loaderArgs: string[] = []): LoadRun {
  const start = performance.now();
  const r = script(['run', name, ...loaderArgs, ...objects], 300_000);
  const wallMs = performance.now() - start;
  if (r.status !== 0) throw new Error(`scripts/kernels.sh run ${name} failed (${r.status}): ${r.stderr}${r.error ?? ''}`);
  const release = /^=== KERNEL (\S+)/m.exec(r.stdout)?.[1] ?? '?';
  return { release, results: parseLoaderOutput(r.stdout), wallMs, output: r.stdout };
}

/** Runs the same static loader on the running kernel (needs root). */
export function loadOnHost(objects: string[], each = false, loaderArgs: string[] = []): LoadRun {
  const start = performance.now();
  const r = spawnSync(loaderPath(), [...(each ? ['--each'] : []), ...loaderArgs, ...objects], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  const wallMs = performance.now() - start;
  if (r.status !== 0) throw new Error(`the loader failed on the host (${r.status}): ${r.stderr}`);
  const release = spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim();
  return { release, results: parseLoaderOutput(r.stdout), wallMs, output: r.stdout };
}

/**
 * Parses the blocks printed by loader.c. libbpf's messages about a program (`prog 'NAME': …`)
 * printed before its `=== PROG` line belong to that program, and so does everything after that
 * line up to the next marker (its verifier log).
 */
export function parseLoaderOutput(text: string): Map<string, ObjectResult> {
  const out = new Map<string, ObjectResult>();
  let cur: ObjectResult | undefined;
  let prog: ProgramResult | undefined;
  let pending: string[] = [];
  for (const line of text.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^=== OBJECT (.+)$/.exec(line))) {
      cur = { name: m[1], ok: false, programs: [], log: '' };
      prog = undefined;
      pending = [];
      out.set(cur.name, cur);
    } else if (cur && (m = /^=== PROG (\S+) (\S+) (OK|FAIL|NOT-LOADED)$/.exec(line))) {
      const name = m[1];
      let mine = pending.filter((l) => l.includes(`prog '${name}'`));
      // A program libbpf did not get to (an object-level failure): the messages before it.
      if (mine.length === 0 && m[3] !== 'OK') mine = pending.filter((l) => l.startsWith('libbpf: '));
      prog = { name, section: m[2], state: m[3] as ProgramResult['state'], log: mine.map((l) => `${l}\n`).join('') };
      cur.programs.push(prog);
    } else if (cur && (m = /^=== RUN(-FAILED)? (\S+) (.*)$/.exec(line))) {
      const ran = cur.programs.findLast((p) => p.name === m![2]);
      if (ran) ran.run = m[1] ? { error: m[3] } : { retval: Number(m[3]) };
    } else if (cur && line === '=== LOADING') {
      prog = undefined;
      pending = [];
    } else if (cur && (m = /^=== OPEN-FAILED (.*)$/.exec(line))) {
      cur.openError = pending.filter((l) => l.startsWith('libbpf: ')).at(-1) ?? m[1];
      cur.error = m[1];
      prog = undefined;
      pending = [];
    } else if (cur && (m = /^=== LOAD-FAILED \S+ (.*)$/.exec(line))) {
      cur.error = m[1];
      prog = undefined;
      pending = [];
    } else if (cur && (m = /^=== RESULT (\S+) (OK|FAIL)$/.exec(line))) {
      cur.ok = m[2] === 'OK';
      cur = undefined;
      prog = undefined;
    } else if (line.startsWith('=== ')) {
      cur = undefined;
      prog = undefined;
    } else if (cur) {
      cur.log += `${line}\n`;
      if (prog) prog.log += `${line}\n`;
      else pending.push(line);
    }
  }
  return out;
}
