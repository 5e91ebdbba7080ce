/**
 * CO-RE for Rust on real kernels. One Rust program (no_std, Debian's prebuilt core, no crates)
 * reads pid, tgid, cred->uid.val, cred->gid.val, thread_pid->numbers[0].nr, comm[1] and cred's
 * anonymous-union member non_rcu of the current task through bindings generated from the running
 * kernel's BTF, compares them with helpers and returns 100 when all are right (else the number of
 * the first wrong one). rustc links it with our CLI from PATH-like `-C linker=`:
 *
 *   rust-core   --btf --core-btf /sys/kernel/btf/vmlinux   (the pass)
 *   rust-plain  --btf                                       (offsets baked in)
 *   c-core      clang-22, the same accesses on the same layout with preserve_access_index
 *
 * Each runs with BPF_PROG_TEST_RUN (raw tracepoint; the loader's --run) on the running kernel and
 * on Debian's 5.10 and 6.1 under QEMU. With relocations all three kernels give 100; without, the
 * older kernels read another field (the test can fail). libbpf's btf_custom_path with 5.10's BTF
 * on the running kernel relocates to 5.10's offsets, which shows that the relocations, not the
 * baked-in offsets, decide what is read.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBtf, readBpfObject, typeById } from '@bpf-linker/core';
import { makeTempDir } from '../../packages/linker-core/test/support/toolchain';
import { kernelLoadUnavailable } from '../../packages/linker-core/test/support/kernel';
import { CLI } from '../../packages/cli/test/support/cli';
import { kernelBindings } from '../support/kernel-bindings';
import { KERNELS, fetchKernel, loadInKernel, loadOnHost, missingTools, type LoadRun } from './harness';

const FIXTURES = join(__dirname, 'fixtures');
const VMLINUX = '/sys/kernel/btf/vmlinux';
const RUSTC = '/usr/bin/rustc';
const SUCCESS = 100;
const OBJECTS = ['rust-core', 'rust-plain', 'c-core'] as const;

let dir: string;
const path = (name: string) => join(dir, `${name}.o`);

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', env: { ...process.env, RUSTC } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}${r.stderr}`);
}

function rustc(out: string, linkArgs: string[]): void {
  sh(RUSTC, [
    '--edition', '2021', '--target', 'bpfel-unknown-none', '--crate-type', 'bin', '-C', 'panic=abort',
    '-C', 'opt-level=2', '-C', 'debuginfo=2', '-C', `linker=${CLI}`,
    ...linkArgs.flatMap((a) => ['-C', `link-arg=${a}`]),
    '-o', out, join(dir, 'core_task.rs'),
  ]);
}

/** `kind root access` of every CO-RE relocation, in instruction order. */
function relocations(file: string): string[] {
  const o = readBpfObject(readFileSync(file));
  return (o.btfExt?.coreRelos ?? []).flatMap((s) => s.records.map((r) => `${r.kind} ${typeById(o.btf!, r.typeId).name} ${r.accessString}`));
}

function retvals(run: LoadRun): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const name of OBJECTS) {
    const r = run.results.get(name);
    const p = r?.programs.find((x) => x.name === 'core_task');
    out[name] = !p ? 'missing' : p.state !== 'OK' ? `${p.state}: ${p.log.trim().split('\n').at(-1)}` : !p.run ? 'not run' : 'error' in p.run ? `run failed: ${p.run.error}` : p.run.retval;
  }
  return out;
}

beforeAll(() => {
  const missing = missingTools();
  if (!existsSync(CLI)) missing.push(`the CLI (${CLI}): build it (scripts/setup.sh)`);
  if (!existsSync(RUSTC)) missing.push('rustc-web (/usr/bin/rustc)');
  if (!existsSync(VMLINUX)) missing.push(`${VMLINUX} (a kernel with CONFIG_DEBUG_INFO_BTF)`);
  if (missing.length) throw new Error(`missing (run scripts/setup.sh): ${missing.join(', ')}`);
  dir = makeTempDir('bpfl-core-rust-');
  const bindings = kernelBindings(parseBtf(readFileSync(VMLINUX)), {
    task_struct: ['pid', 'tgid', 'thread_pid', 'cred', 'comm'],
    cred: ['uid', 'gid', 'non_rcu'],
    kuid_t: ['val'],
    kgid_t: ['val'],
    pid: ['numbers'],
    upid: ['nr', 'ns'],
  });
  writeFileSync(join(dir, 'bindings.rs'), bindings.rust);
  writeFileSync(join(dir, 'bindings.h'), bindings.c);
  copyFileSync(join(FIXTURES, 'core_task.rs'), join(dir, 'core_task.rs'));
  copyFileSync(join(FIXTURES, 'core_task.c'), join(dir, 'core_task.c'));
  rustc(path('rust-core'), ['--btf', `--core-btf=${VMLINUX}`]);
  rustc(path('rust-plain'), ['--btf']);
  sh('clang-22', ['-target', 'bpf', '-g', '-O2', '-c', join(dir, 'core_task.c'), '-o', path('c-core')]);
}, 120_000);

afterAll(() => {
  if (dir && !process.env.BPFL_KERNELS_KEEP) rmSync(dir, { recursive: true, force: true });
});

describe('the objects', () => {
  it('without the pass there is no CO-RE relocation; with it, the very relocations clang emits for the C twin', () => {
    expect(relocations(path('rust-plain'))).toEqual([]);
    const clang = relocations(path('c-core'));
    expect(clang).toEqual([
      'byte_off task_struct 0:1',
      'byte_off task_struct 0:2',
      'byte_off task_struct 0:6',
      'byte_off cred 0:1:0',
      'byte_off cred 0:2:0',
      'byte_off task_struct 0:4',
      'byte_off pid 0:1:0:0',
      'byte_off task_struct 0:8:1',
      'byte_off cred 0:4:0',
    ]);
    expect(relocations(path('rust-core'))).toEqual(clang);
  });
});

describe('the running kernel (root)', () => {
  const why = kernelLoadUnavailable();

  it.skipIf(why)('every object reads every field right (the bindings are this kernel\'s)', () => {
    expect(retvals(loadOnHost(OBJECTS.map(path), false, ['--run']))).toEqual({ 'rust-core': SUCCESS, 'rust-plain': SUCCESS, 'c-core': SUCCESS });
  });

  it.skipIf(why)("with 5.10's BTF as libbpf's btf_custom_path, the relocated objects read 5.10's offsets here (wrong pid), the plain one is unaffected", () => {
    const k = fetchKernel('5.10');
    if ('unavailable' in k) throw new Error(`Debian 5.10 kernel not available: ${k.unavailable}`);
    expect(retvals(loadOnHost(OBJECTS.map(path), false, ['--run', '--btf-custom', k.vmlinux]))).toEqual({ 'rust-core': 1, 'rust-plain': SUCCESS, 'c-core': 1 });
  });
});

describe.each(KERNELS)('Debian kernel %s under QEMU', (kernel) => {
  it('the relocated objects read every field right; the plain one reads another field for pid', (ctx) => {
    const k = fetchKernel(kernel);
    if ('unavailable' in k) ctx.skip(`Debian ${kernel} kernel not available here: ${k.unavailable}`);
    const run = loadInKernel(kernel, OBJECTS.map(path), ['--run']);
    expect(run.release.startsWith(`${kernel}.`)).toBe(true);
    expect(retvals(run)).toEqual({ 'rust-core': SUCCESS, 'rust-plain': 1, 'c-core': SUCCESS });
  }, 300_000);
});
