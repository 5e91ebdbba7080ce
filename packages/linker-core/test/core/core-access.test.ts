/**
 * CO-RE for Rust, from rustc to the object: Debian's rustc builds the fixtures with our built CLI
 * as its linker, and the tests read the .BTF.ext relocations, the link report and the messages.
 * (Loading and running on real kernels: e2e/kernels/core-rust.test.ts.)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeAccess, readBpfObject, type CoreReport } from '@bpf-linker/core';
import { CLI, RUSTC, expectFreshCli, run, rustUnavailable } from '../debug-info/support';
import { compileC, makeTempDir, writeSource } from '../support/toolchain';

const FIXTURES = join(__dirname, '../fixtures/rust-core');
const VMLINUX = '/sys/kernel/btf/vmlinux';
const noRust = rustUnavailable();
const noVmlinux = existsSync(VMLINUX) ? null : `${VMLINUX} is missing`;

/** rustc with our CLI as the linker; returns the run (status, output). */
function rustc(src: string, out: string, linkArgs: string[]) {
  return run(RUSTC, [
    '--edition', '2021',
    '--target', 'bpfel-unknown-none',
    '--crate-type', 'bin',
    '-C', 'panic=abort',
    '-C', 'opt-level=2',
    '-C', 'debuginfo=2',
    '-C', `linker=${CLI}`,
    ...linkArgs.flatMap((a) => ['-C', `link-arg=${a}`]),
    '-o', out,
    join(FIXTURES, src),
  ], { RUSTC });
}

/** Every CO-RE relocation of an object as `kind path (access)`, by section. */
function relocations(file: string): string[] {
  const o = readBpfObject(readFileSync(file));
  return (o.btfExt?.coreRelos ?? []).flatMap((s) => s.records.map((r) => `${s.section}: ${r.kind} ${describeAccess(o.btf!, r)} (${r.accessString})`));
}

describe.skipIf(noRust || noVmlinux)('CO-RE accesses in Rust', () => {
  let dir: string;
  beforeAll(() => {
    expectFreshCli();
    dir = makeTempDir('bpfl-core-');
  });

  it('maps each access shape to the member path clang would relocate, and leaves a member the kernel lacks alone', () => {
    const out = join(dir, 'shapes.o');
    const report = join(dir, 'shapes.report.json');
    const log = join(dir, 'shapes.log');
    // rustc shows the linker's output only when it fails: the log goes to a file.
    const r = rustc('shapes.rs', out, ['--btf', `--core-btf=${VMLINUX}`, '--core-types=outer', `--report=${report}`, '--log-level=info', `--log-file=${log}`]);
    expect(r.status, r.stderr).toBe(0);
    expect(relocations(out).filter((l) => l.startsWith('raw_tp/'))).toEqual([
      // At offset 0 there is no getelementptr: the probe_read's source is the struct pointer itself.
      'raw_tp/sys_enter: byte_off struct outer.first (0:0)',
      'raw_tp/sys_enter: byte_off struct outer.y (0:2)',
      'raw_tp/sys_enter: byte_off struct outer.nested.arr[2] (0:3:2:2)',
      // A union member at offset 0, chosen by the access's type (read::<u16>).
      'raw_tp/sys_enter: byte_off struct outer.e.half (0:4:1)',
      'raw_tp/sys_enter: byte_off struct outer.ptr (0:5)',
    ]);
    const core = (JSON.parse(readFileSync(report, 'utf8')) as { core: CoreReport }).core;
    expect(core.btf).toBe(VMLINUX);
    expect(core.types).toEqual(['outer']);
    expect(core.rewritten.filter((a) => a.function !== 'direct').map((a) => [a.function, a.path, a.access])).toEqual([
      ['shapes', 'outer.first', '0:0'],
      ['shapes', 'outer.y', '0:2'],
      ['shapes', 'outer.nested.arr[2]', '0:3:2:2'],
      ['shapes', 'outer.e.half', '0:4:1'],
      ['shapes', 'outer.ptr', '0:5'],
    ]);
    // Lines are the caller's (the read helper is inlined): the fixture's `let first = …` line.
    const src = readFileSync(join(FIXTURES, 'shapes.rs'), 'utf8').split('\n');
    expect(src[core.rewritten.find((a) => a.function === 'shapes')!.line! - 1]).toContain('let first = read(');
    expect(core.skipped).toEqual([
      {
        function: 'missing_member',
        line: src.findIndex((l) => l.includes('not_in_kernel))')) + 1,
        type: 'task_struct',
        offset: 64,
        reason: `not in ${VMLINUX}: task_struct.not_in_kernel: no such member in the kernel's struct`,
      },
    ]);
    expect(readFileSync(log, 'utf8')).toContain(`[INFO] CO-RE: missing_member (line ${core.skipped[0].line}): struct task_struct + 64 left as it is: not in ${VMLINUX}`);
  });

  it('follows a pointer loaded from a member to the struct it points to (direct loads)', () => {
    const out = join(dir, 'direct.o');
    const r = rustc('shapes.rs', out, ['--btf', '--core-types=outer,inner']);
    expect(r.status, r.stderr).toBe(0);
    expect(relocations(out).filter((l) => l.startsWith('tp_btf/'))).toEqual([
      'tp_btf/sched_switch: byte_off struct outer.ptr (0:5)',
      'tp_btf/sched_switch: byte_off struct inner.b (0:1)',
    ]);
  });

  it('--core-strict refuses the link when an access cannot be relocated', () => {
    const out = join(dir, 'strict.o');
    const r = rustc('shapes.rs', out, ['--btf', `--core-btf=${VMLINUX}`, '--core-types=outer', '--core-strict']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('1 access to kernel types could not be made CO-RE relocatable (--core-strict):');
    expect(r.stderr).toContain(`missing_member (line`);
    expect(r.stderr).toContain(`task_struct + 64: not in ${VMLINUX}: task_struct.not_in_kernel: no such member in the kernel's struct`);
    expect(existsSync(out)).toBe(false);
  });

  it('without CO-RE options nothing is rewritten, and --core=auto is --core-btf of the running kernel', () => {
    const plain = join(dir, 'plain.o');
    const off = join(dir, 'off.o');
    const auto = join(dir, 'auto.o');
    const explicit = join(dir, 'explicit.o');
    expect(rustc('shapes.rs', plain, ['--btf']).status).toBe(0);
    expect(rustc('shapes.rs', off, ['--btf', '--core=off']).status).toBe(0);
    expect(rustc('shapes.rs', auto, ['--btf', '--core=auto', '--core-types=outer']).status).toBe(0);
    expect(rustc('shapes.rs', explicit, ['--btf', `--core-btf=${VMLINUX}`, '--core-types=outer']).status).toBe(0);
    expect(relocations(plain)).toEqual([]);
    expect(readFileSync(off).equals(readFileSync(plain))).toBe(true);
    expect(relocations(auto)).toHaveLength(6);
    expect(readFileSync(auto).equals(readFileSync(explicit))).toBe(true);
  });

  it('leaves C untouched: the object is byte-identical with and without --core-btf', () => {
    const src = writeSource(dir, 'task.c', [
      'struct task_struct { int pad[300]; int pid; };',
      'static long (*probe_read_kernel)(void *dst, unsigned int size, const void *src) = (void *)113;',
      'static unsigned long long (*get_current_task)(void) = (void *)35;',
      '__attribute__((section("raw_tp/sys_enter"))) int prog(void *ctx) {',
      '  struct task_struct *t = (void *)get_current_task(); int pid;',
      '  probe_read_kernel(&pid, 4, &t->pid); return pid; }',
      'char LICENSE[] __attribute__((section("license"))) = "GPL";',
    ].join('\n'));
    const bc = compileC({ major: 22, source: src, out: join(dir, 'task.bc'), mode: 'bc' });
    const a = join(dir, 'c-plain.o');
    const b = join(dir, 'c-core.o');
    expect(run(CLI, [bc, '--btf', '-o', a]).status).toBe(0);
    const r = run(CLI, [bc, '--btf', `--core-btf=${VMLINUX}`, '--core-types=task_struct', '-o', b, '--log-level=debug']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('CO-RE: no Rust compile unit, nothing to rewrite');
    expect(readFileSync(b).equals(readFileSync(a))).toBe(true);
  });

  it.each([
    [['--core-btf=/nonexistent/vmlinux', '--btf'], 'Error: cannot read the CO-RE target BTF /nonexistent/vmlinux: no such file'],
    [[`--core-btf=${VMLINUX}`], `Error: CO-RE relocations (--core-btf) are written into .BTF.ext, which needs --btf`],
    [['--core=off', `--core-btf=${VMLINUX}`, '--btf'], 'Error: --core=off contradicts --core-btf'],
    [['--core=on', '--btf'], 'Error: invalid CO-RE mode on'],
  ])('refuses %j with one clear message', (flags, message) => {
    const r = run(CLI, [join(FIXTURES, 'shapes.rs'), ...flags, '-o', join(dir, 'never.o')]);
    expect(r.status).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(message);
    expect(r.stderr).toMatch(/hint: /);
    expect(existsSync(join(dir, 'never.o'))).toBe(false);
  });

  it('names a --core-btf file that is not BTF, with the fix', () => {
    const notBtf = join(dir, 'not-btf');
    writeFileSync(notBtf, 'hello: this file is not BTF at all, and long enough for a header');
    const out = join(dir, 'bad.o');
    const r = rustc('shapes.rs', out, ['--btf', `--core-btf=${notBtf}`]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`the CO-RE target BTF ${notBtf} is not usable: no BTF magic (0xeb9f)`);
    expect(r.stderr).toContain('hint: pass a kernel BTF: /sys/kernel/btf/vmlinux, or a vmlinux built with CONFIG_DEBUG_INFO_BTF');
    expect(existsSync(out)).toBe(false);
  });
});
