/**
 * Loading objects into the running kernel's verifier with bpftool, as a user would. Probed
 * once: without root or with bpf() refused, tests that need it are skipped with the reason.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from './toolchain';

const BPFTOOL = '/usr/sbin/bpftool';
let probed: string | null | undefined;

/** Why loading cannot be tested here, or null when it can. */
export function kernelLoadUnavailable(): string | null {
  if (probed !== undefined) return probed;
  if (!existsSync(BPFTOOL)) return (probed = 'bpftool is not installed (run scripts/setup.sh)');
  if (process.getuid?.() !== 0) return (probed = 'not root: loading BPF programs needs CAP_BPF/CAP_SYS_ADMIN');
  // Load the smallest real program (a socket filter returning 0) built by clang.
  const dir = makeTempDir('bpfl-probe-');
  const obj = join(dir, 'probe.o');
  writeFileSync(join(dir, 'p.c'), '__attribute__((section("socket"), used)) int p(void *c) { return 0; }\nchar _l[] __attribute__((section("license"), used)) = "GPL";\n');
  try {
    execFileSync('/usr/bin/clang-22', ['-target', 'bpf', '-O2', '-c', join(dir, 'p.c'), '-o', obj], { stdio: 'pipe' });
  } catch {
    return (probed = 'clang-22 is missing: cannot build the probe program (run scripts/setup.sh)');
  }
  const res = loadIntoKernel(obj);
  rmSync(dir, { recursive: true, force: true });
  return (probed = res.ok ? null : `bpf() refused a trivial program here: ${res.log.trim().split('\n').slice(-2).join(' ')}`);
}

export interface LoadResult {
  ok: boolean;
  /** bpftool's output: libbpf's messages and the verifier log on rejection. */
  log: string;
}

let counter = 0;

/** `bpftool prog loadall OBJ PIN`, then removes the pins: nothing stays loaded. */
export function loadIntoKernel(object: string): LoadResult {
  const pin = `/sys/fs/bpf/bpfl-test-${process.pid}-${counter++}`;
  const r = spawnSync(BPFTOOL, ['prog', 'loadall', object, pin], { encoding: 'utf8', timeout: 60_000 });
  rmSync(pin, { recursive: true, force: true });
  return { ok: r.status === 0, log: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

export interface RunResult extends LoadResult {
  /** The program's return value (BPF_PROG_TEST_RUN), when it loaded and ran. */
  retval?: number;
}

/**
 * Loads the object, runs one program once on `data` with `bpftool prog run` (BPF_PROG_TEST_RUN:
 * for a socket filter, `skb->len` is the data's length less the 14-byte Ethernet header), then
 * removes the pins.
 */
export function runInKernel(object: string, program: string, data: Uint8Array): RunResult {
  const pin = `/sys/fs/bpf/bpfl-test-${process.pid}-${counter++}`;
  const dir = makeTempDir('bpfl-run-');
  try {
    const load = spawnSync(BPFTOOL, ['prog', 'loadall', object, pin], { encoding: 'utf8', timeout: 60_000 });
    if (load.status !== 0) return { ok: false, log: `${load.stdout ?? ''}${load.stderr ?? ''}` };
    writeFileSync(join(dir, 'data'), data);
    const run = spawnSync(BPFTOOL, ['prog', 'run', 'pinned', join(pin, program), 'data_in', join(dir, 'data'), 'repeat', '1'], { encoding: 'utf8', timeout: 60_000 });
    const log = `${run.stdout ?? ''}${run.stderr ?? ''}`;
    const m = /Return value: (\d+)/.exec(log);
    return { ok: run.status === 0 && m !== null, log, ...(m && { retval: Number(m[1]) }) };
  } finally {
    rmSync(pin, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}
