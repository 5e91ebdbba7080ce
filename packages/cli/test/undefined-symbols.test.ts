/**
 * A reference that no input defines is an error naming the symbol and the input that refers to
 * it, with nothing written; kernel externs (__ksym, __kconfig) and weak references are not;
 * --allow-undefined writes the object anyway. clang-22 bitcode linked by the built CLI.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBpfObject } from '@bpf-linker/core';
import { compileC, makeArchive, makeTempDir, writeSource } from '../../linker-core/test/support/toolchain';
import { runCli } from './support/cli';

const SEED = join(__dirname, '../../../examples/seed');
const HINT =
  '  hint: add the object or archive that defines it (a library left off the command line?); a kernel function or variable needs __ksym ' +
  '(C: extern ... __ksym) or __kconfig; to link it later with libbpf (bpftool gen object), pass --allow-undefined';

/** Kernel externs and a weak reference: resolved (or zeroed) by libbpf when it loads the object. */
const KERNEL_EXTERNS_C = `
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;
extern unsigned int CONFIG_HZ __kconfig;
extern int maybe_there(int x) __attribute__((weak));
SEC("tp_btf/sys_enter") int on_enter(void *ctx) {
  bpf_rcu_read_lock();
  bpf_rcu_read_unlock();
  return CONFIG_HZ + (maybe_there ? maybe_there(1) : 0);
}
char LICENSE[] SEC("license") = "GPL";
`;

/** Two undefined references, one of them from a function inside an archive member. */
const CALLER_C = `
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
extern int helper_in_member(int x);
extern int missing_counter;
SEC("xdp") int prog(struct xdp_md *ctx) { return helper_in_member(ctx->ingress_ifindex) + missing_counter; }
char LICENSE[] SEC("license") = "GPL";
`;
const MEMBER_C = `
extern int missing_from_member(int x);
int helper_in_member(int x) { return missing_from_member(x) + 1; }
`;

describe('undefined symbols', () => {
  let dir: string;
  const bc = (name: string, source: string) => compileC({ major: 22, source, out: join(dir, `${name}.bc`), mode: 'bc' });
  beforeAll(() => {
    dir = makeTempDir('bpfl-undefined-');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the seed program without its library: one error naming the symbol and the input, exit 1, nothing written', () => {
    const program = bc('program', join(SEED, 'program.c'));
    const out = join(dir, 'seed.o');
    const r = runCli([program, '--btf', '-o', out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`Error: undefined symbol: 'lib_count' (referenced by ${program}): no input defines it\n${HINT}\n`);
    expect(existsSync(out)).toBe(false);
  });

  it('--allow-undefined writes the object, with the reference left for a later link', () => {
    const program = join(dir, 'program.bc');
    const out = join(dir, 'seed-partial.o');
    const r = runCli([program, '--btf', '--allow-undefined', '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(readBpfObject(readFileSync(out)).programs.find((p) => p.name === 'xdp_prog')?.calls).toContain('lib_count');
  });

  it('with the library the same link succeeds', () => {
    const r = runCli([join(dir, 'program.bc'), bc('lib', join(SEED, 'lib.c')), '--btf', '-o', join(dir, 'seed-full.o')]);
    expect(r.status, r.stderr).toBe(0);
  });

  it('names every undefined symbol and who refers to it, archive members included', () => {
    const caller = bc('caller', writeSource(dir, 'caller.c', CALLER_C));
    const archive = makeArchive(22, join(dir, 'libhelper.a'), [bc('member', writeSource(dir, 'member.c', MEMBER_C))]);
    const r = runCli([caller, archive, '-o', join(dir, 'two.o')]);
    expect(r.status).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(
      `Error: undefined symbols: 'missing_from_member' (referenced by ${archive}(member.bc)), 'missing_counter' (referenced by ${caller}): no input defines them`,
    );
  });

  it('IR text has no symbol table to tell who refers: the link\'s inputs are named', () => {
    const ll = writeSource(dir, 'caller.ll', 'target triple = "bpf"\ndeclare i32 @nowhere(i32)\ndefine i32 @prog(i32 %a) section "xdp" {\n  %r = call i32 @nowhere(i32 %a)\n  ret i32 %r\n}\n');
    const one = runCli([ll, '-o', join(dir, 'll.o')]);
    expect(one.stderr.split('\n')[0]).toBe(`Error: undefined symbol: 'nowhere' (referenced by ${ll}): no input defines it`);
    const two = runCli([ll, join(dir, 'lib.bc'), '--btf', '-o', join(dir, 'll.o')]);
    expect(two.stderr.split('\n')[0]).toBe(`Error: undefined symbol: 'nowhere' (referenced by one of ${ll}, ${join(dir, 'lib.bc')}): no input defines it`);
  });

  it('kernel functions (__ksym), Kconfig values (__kconfig) and weak references are left to libbpf', () => {
    const r = runCli([bc('kernel', writeSource(dir, 'kernel.c', KERNEL_EXTERNS_C)), '--btf', '-o', join(dir, 'kernel.o')]);
    expect(r.status, r.stderr).toBe(0);
  });

  it('IR output is not checked: it is linked further', () => {
    const r = runCli([join(dir, 'program.bc'), '--emit=llvm-ir', '-o', join(dir, 'partial.ll')]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'partial.ll'), 'utf8')).toContain('declare');
  });
});

describe.skipIf(process.getuid?.() !== 0)('verify on an object linked with --allow-undefined', () => {
  it("points at the missing definition, not at the object's format", () => {
    const dir = makeTempDir('bpfl-undefined-verify-');
    try {
      const program = compileC({ major: 22, source: join(SEED, 'program.c'), out: join(dir, 'program.bc'), mode: 'bc' });
      const out = join(dir, 'partial.o');
      expect(runCli([program, '--btf', '--allow-undefined', '-o', out]).status).toBe(0);
      const r = runCli(['verify', out]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain("failed to find BTF for extern 'lib_count'");
      expect(r.stderr).toContain("  hint: 'lib_count' is used but defined nowhere in the object: link it with the object or archive that defines it");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
