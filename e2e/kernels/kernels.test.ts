/**
 * Objects linked by the bpf-linker CLI, loaded into older kernels' verifiers: Debian bookworm's
 * 6.1 and bullseye's 5.10, each booted once under QEMU (TCG) with all objects in its initramfs
 * (scripts/kernels.sh, e2e/kernels/loader.c), plus the running kernel when we are root.
 *
 * The set: the seed example (default mode and --internalize), a cross-file helper returning a
 * map-value pointer (rejected as a global function in default mode, like clang's own objects
 * linked by libbpf; accepted with --internalize), a bounded loop with and without
 * --unroll-loops, the bpf_loop() helper (5.17+), and a Rust `#![no_std]` cdylib linked by rustc
 * through `-C linker=<our CLI>`. Every object and kernel has an exact expectation.
 *
 * The C is compiled by clang-22, which compiles for v3 unless told otherwise, and the CLI links it
 * for the CPU the bitcode asks for. The seed and slot objects are also built with -mcpu=v2, as a
 * user targeting 5.10 would: that code is what loads there.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBpfObject, type BpfObject } from '@bpf-linker/core';
import { compileC, makeArchive, makeTempDir } from '../../packages/linker-core/test/support/toolchain';
import { kernelLoadUnavailable } from '../../packages/linker-core/test/support/kernel';
import { CLI, runCli } from '../../packages/cli/test/support/cli';
import {
  KERNELS,
  fetchKernel,
  loadInKernel,
  loadOnHost,
  missingTools,
  type KernelName,
  type LoadRun,
  type ObjectResult,
} from './harness';

const REPO = join(__dirname, '../..');
const SEED = join(REPO, 'examples/seed');
const CLI_FIXTURES = join(REPO, 'packages/cli/test/fixtures');
const FIXTURES = join(__dirname, 'fixtures');
const RUSTC = '/usr/bin/rustc';
const RUST_BPF_LIB = '/usr/lib/rustlib/bpfel-unknown-none/lib';

type Target = KernelName | 'host';
type Expectation = { ok: true } | { ok: false; program: string; message: RegExp };

const OK: Expectation = { ok: true };
const NOT_SCALAR: Expectation = {
  ok: false,
  program: 'count_packets',
  message: /Global function get_slot\(\) doesn't return scalar/,
};
// clang-22 compiles for -mcpu=v3 by default and emits `atomic_fetch_add` for
// __sync_fetch_and_add; 5.10 predates fetching atomics (5.12). Without --cpu the CLI links for the
// CPU the bitcode asks for, v3, so our objects fail there as clang's own do; their -mcpu=v2 builds
// get the old `lock +=` (XADD) and load.
// (The loader stops at an object's first rejected program: for the seed, kprobe_prog.)
const noFetchAtomics = (program: string): Expectation => ({
  ok: false,
  program,
  message: /BPF_STX uses reserved fields/,
});
const NO_FETCH_ATOMICS = noFetchAtomics('count_packets');
// 5.10 predates callbacks (BPF_PSEUDO_FUNC, 5.13) and bpf_loop (5.17): the callback is a
// subprogram no call instruction reaches.
const NO_CALLBACKS: Expectation = {
  ok: false,
  program: 'loop_helper',
  message: /number of funcs in func_info doesn't match number of subprogs/,
};

interface Case {
  /** Object file name without `.o`. */
  name: string;
  what: string;
  /** Programs the object holds (all loaded when accepted). */
  programs: string[];
  expect: Record<Target, Expectation>;
}

const same = (e: Expectation): Record<Target, Expectation> => ({ '6.1': e, '5.10': e, host: e });

const CASES: Case[] = [
  { name: 'seed-default', what: 'seed example, default mode', programs: ['kprobe_prog', 'xdp_prog'], expect: { '6.1': OK, '5.10': noFetchAtomics('kprobe_prog'), host: OK } },
  { name: 'seed-internalize', what: 'seed example, --internalize', programs: ['kprobe_prog', 'xdp_prog'], expect: { '6.1': OK, '5.10': noFetchAtomics('kprobe_prog'), host: OK } },
  { name: 'seed-v2', what: 'seed example compiled with -mcpu=v2, default mode', programs: ['kprobe_prog', 'xdp_prog'], expect: same(OK) },
  { name: 'slot-default', what: 'map-value-pointer helper, default mode', programs: ['count_packets'], expect: { '6.1': NOT_SCALAR, '5.10': NO_FETCH_ATOMICS, host: NOT_SCALAR } },
  { name: 'slot-clang', what: "same sources, clang's objects + bpftool gen object", programs: ['count_packets'], expect: { '6.1': NOT_SCALAR, '5.10': NO_FETCH_ATOMICS, host: NOT_SCALAR } },
  { name: 'slot-internalize', what: 'map-value-pointer helper, --internalize', programs: ['count_packets'], expect: { '6.1': OK, '5.10': NO_FETCH_ATOMICS, host: OK } },
  { name: 'slot-internalize-v2', what: 'map-value-pointer helper compiled with -mcpu=v2, --internalize', programs: ['count_packets'], expect: same(OK) },
  { name: 'loop', what: 'bounded loop (back-edge kept)', programs: ['sum_loop'], expect: same(OK) },
  { name: 'loop-unroll', what: 'bounded loop, --unroll-loops', programs: ['sum_loop'], expect: same(OK) },
  { name: 'bpf-loop', what: 'bpf_loop() with a static callback', programs: ['loop_helper'], expect: { '6.1': OK, '5.10': NO_CALLBACKS, host: OK } },
  { name: 'bpf-loop-clang', what: "same source, clang's object", programs: ['loop_helper'], expect: { '6.1': OK, '5.10': NO_CALLBACKS, host: OK } },
  { name: 'rust-xdp', what: 'Rust no_std cdylib via rustc -C linker=bpf-linker', programs: ['rust_xdp'], expect: same(OK) },
];

let dir: string;
let objects: string[];
const out = (name: string) => join(dir, name);
const object = (name: string): BpfObject => readBpfObject(readFileSync(out(`${name}.o`)));

function link(args: string[]): void {
  const r = runCli(args);
  if (r.status !== 0) throw new Error(`bpf-linker ${args.join(' ')} failed: ${r.stderr}`);
}

function buildObjects(): string[] {
  const c = (source: string, name: string, mode: 'bc' | 'obj' = 'bc', flags?: string[]) =>
    compileC({ major: 22, source, out: out(`${name}.${mode === 'bc' ? 'bc' : 'c.o'}`), mode, flags });
  const v2 = ['-g', '-O2', '-mcpu=v2'];
  // Seed example: the library in an archive, as the README shows.
  const lib = makeArchive(22, out('liblib.a'), [c(join(SEED, 'lib.c'), 'lib')]);
  const prog = c(join(SEED, 'program.c'), 'program');
  link([prog, lib, '--btf', '-o', out('seed-default.o')]);
  link([prog, lib, '--btf', '--internalize', '-o', out('seed-internalize.o')]);
  // For 5.10: compiled for v2, linked without --cpu (the link takes v2 from the bitcode).
  const libV2 = makeArchive(22, out('liblib-v2.a'), [c(join(SEED, 'lib.c'), 'lib-v2', 'bc', v2)]);
  link([c(join(SEED, 'program.c'), 'program-v2', 'bc', v2), libV2, '--btf', '-o', out('seed-v2.o')]);
  // A helper returning a map-value pointer, in its own file.
  const slotLib = c(join(CLI_FIXTURES, 'slot_lib.c'), 'slot_lib');
  const slotProg = c(join(CLI_FIXTURES, 'slot_prog.c'), 'slot_prog');
  link([slotProg, slotLib, '--btf', '-o', out('slot-default.o')]);
  link([slotProg, slotLib, '--btf', '--internalize', '-o', out('slot-internalize.o')]);
  link([
    c(join(CLI_FIXTURES, 'slot_prog.c'), 'slot_prog-v2', 'bc', v2),
    c(join(CLI_FIXTURES, 'slot_lib.c'), 'slot_lib-v2', 'bc', v2),
    '--btf', '--internalize', '-o', out('slot-internalize-v2.o'),
  ]);
  const gen = spawnSync(
    '/usr/sbin/bpftool',
    ['gen', 'object', out('slot-clang.o'), c(join(CLI_FIXTURES, 'slot_prog.c'), 'slot_prog', 'obj'), c(join(CLI_FIXTURES, 'slot_lib.c'), 'slot_lib', 'obj')],
    { encoding: 'utf8' },
  );
  if (gen.status !== 0) throw new Error(`bpftool gen object failed: ${gen.stderr}`);
  // Loops.
  const loop = c(join(FIXTURES, 'bounded_loop.c'), 'bounded_loop');
  link([loop, '--btf', '-o', out('loop.o')]);
  link([loop, '--btf', '--unroll-loops', '-o', out('loop-unroll.o')]);
  const bpfLoop = c(join(FIXTURES, 'bpf_loop.c'), 'bpf_loop');
  link([bpfLoop, '--btf', '-o', out('bpf-loop.o')]);
  compileC({ major: 22, source: join(FIXTURES, 'bpf_loop.c'), out: out('bpf-loop-clang.o'), mode: 'obj' });
  // Rust: rustc calls our CLI as its linker (export list, rlibs, --btf), as cargo would.
  execFileSync(
    RUSTC,
    [
      '--edition', '2021', '--target', 'bpfel-unknown-none', '--crate-type', 'cdylib', '-C', 'panic=abort',
      '-C', 'opt-level=2', '-C', 'debuginfo=2', '-C', `linker=${CLI}`, '-C', 'link-arg=--btf',
      '-o', out('rust-xdp.o'), join(FIXTURES, 'xdp_rust.rs'),
    ],
    { cwd: dir, stdio: 'pipe', env: { ...process.env, RUSTC_LOG: undefined } },
  );
  return CASES.map((k) => out(`${k.name}.o`));
}

function missingPrerequisites(): string[] {
  const missing = missingTools();
  if (!existsSync(CLI)) missing.push(`the CLI (${CLI}): build it (scripts/setup.sh)`);
  if (!existsSync(RUSTC)) missing.push('rustc-web (/usr/bin/rustc)');
  if (!existsSync(RUST_BPF_LIB) || !readdirSync(RUST_BPF_LIB).some((f) => f.startsWith('libcore-'))) missing.push('libstd-rust-web-dev-bpf');
  return missing;
}

beforeAll(() => {
  const missing = missingPrerequisites();
  // Tools come from scripts/setup.sh's NEED list: a missing one is a setup error, not a skip.
  if (missing.length) throw new Error(`missing (run scripts/setup.sh): ${missing.join(', ')}`);
  dir = makeTempDir('bpfl-kernels-');
  objects = buildObjects();
});

describe('the objects, before loading', () => {
  it('keep the loop back-edge by default and lose it with --unroll-loops', () => {
    expect(object('loop').programs.find((p) => p.name === 'sum_loop')?.backEdges.length).toBeGreaterThan(0);
    expect(object('loop-unroll').programs.find((p) => p.name === 'sum_loop')?.backEdges).toEqual([]);
  });

  it("are v3 code as clang-22 compiles by default, and v2 code when compiled with -mcpu=v2 (no --cpu given)", () => {
    const alu32 = (name: string) => object(name).codeSections.some((s) => s.usesAlu32);
    expect(alu32('seed-default')).toBe(true);
    expect(alu32('slot-internalize')).toBe(true);
    expect(alu32('seed-v2')).toBe(false);
    expect(alu32('slot-internalize-v2')).toBe(false);
  });

  it('make get_slot a global BTF FUNC in default mode, like clang, and a static one with --internalize', () => {
    const linkage = (name: string) => object(name).btfSummary?.funcs.find((f) => f.name === 'get_slot')?.linkage;
    expect(linkage('slot-default')).toBe('global');
    expect(linkage('slot-clang')).toBe('global');
    expect(linkage('slot-internalize')).toBe('static');
  });

  it('internalize the Rust helper and call it static in BTF', () => {
    const o = object('rust-xdp');
    const prog = o.programs.find((p) => p.name === 'rust_xdp');
    expect(prog).toMatchObject({ section: 'xdp', binding: 'global', btfLinkage: 'global' });
    expect(prog?.calls).toHaveLength(1);
    // The symbol is mangled (_ZN8xdp_rust7verdict17h…E); BTF names the function `verdict`.
    const helper = o.programs.find((p) => p.name === prog?.calls[0]);
    expect(helper).toMatchObject({ section: '.text', binding: 'local' });
    expect(helper?.name).toMatch(/^_ZN8xdp_rust7verdict17h[0-9a-f]{16}E$/);
    expect(o.btfSummary?.funcs).toContainEqual({ name: 'verdict', linkage: 'static' });
  });
});

const runs = new Map<Target, LoadRun>();

function checkResult(target: Target, k: Case, r: ObjectResult | undefined): void {
  const e = k.expect[target];
  expect(r, `${k.name} on ${target}: no result`).toBeDefined();
  if (!r) return;
  if (e.ok) {
    // The whole log on failure, so a regression shows the verifier's reason.
    expect(r.ok ? 'accepted' : r.log, `${k.name} on ${target}`).toBe('accepted');
    expect(r.programs.map((p) => [p.name, p.state]).sort()).toEqual(k.programs.map((p) => [p, 'OK']).sort());
  } else {
    expect(r.ok, `${k.name} on ${target} should be rejected`).toBe(false);
    const failed = r.programs.filter((p) => p.state === 'FAIL');
    expect(failed.map((p) => p.name)).toEqual([e.program]);
    expect(failed[0]?.log).toMatch(e.message);
  }
}

describe.each(KERNELS)('Debian kernel %s under QEMU', (kernel) => {
  let unavailable: string | undefined;
  beforeAll(() => {
    const k = fetchKernel(kernel);
    if ('unavailable' in k) {
      unavailable = k.unavailable;
      return;
    }
    runs.set(kernel, loadInKernel(kernel, objects));
  });

  it('boots once and reports every object', (ctx) => {
    if (unavailable) ctx.skip(`Debian ${kernel} kernel not available here: ${unavailable}`);
    const run = runs.get(kernel)!;
    expect(run.release.startsWith(`${kernel}.`)).toBe(true);
    expect([...run.results.keys()].sort()).toEqual(CASES.map((k) => k.name).sort());
  });

  it.for(CASES.map((k) => [k.name, k] as const))('%s', ([, k], ctx) => {
    if (unavailable) ctx.skip(`Debian ${kernel} kernel not available here: ${unavailable}`);
    checkResult(kernel, k, runs.get(kernel)!.results.get(k.name));
  });
});

describe('the running kernel (root, same static loader)', () => {
  const why = kernelLoadUnavailable();
  beforeAll(() => {
    if (!why) runs.set('host', loadOnHost(objects));
  });
  it.skipIf(why).each(CASES.map((k) => [k.name, k] as const))('%s', (_name, k) => {
    checkResult('host', k, runs.get('host')!.results.get(k.name));
  });
});

afterAll(() => {
  if (dir && !process.env.BPFL_KERNELS_KEEP) rmSync(dir, { recursive: true, force: true });
  if (runs.size === 0) return;
  const targets = [...runs.keys()];
  const cell = (t: Target, k: Case) => {
    const r = runs.get(t)?.results.get(k.name);
    if (!r) return '-';
    if (r.ok) return 'OK';
    const e = k.expect[t];
    const lines = (r.programs.find((p) => p.state === 'FAIL')?.log ?? r.log).trim().split('\n');
    // The expected message when it is there, else the log's last meaningful line.
    const msg = (!e.ok && lines.find((l) => e.message.test(l))) || lines.filter((l) => !/^processed \d+ insns/.test(l)).at(-1);
    return `FAIL: ${msg ?? r.error ?? ''}`;
  };
  const time = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);
  const header = ['object', ...targets.map((t) => `${t} (${runs.get(t)!.release}, ${time(runs.get(t)!.wallMs)})`)];
  const rows = CASES.map((k) => [k.name, ...targets.map((t) => cell(t, k))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join(' | ');
  console.log(['', line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n'));
});
