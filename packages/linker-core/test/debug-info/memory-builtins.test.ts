/**
 * The memory builtins (memcpy, memmove, memset, memcmp, bcmp) that compiler_builtins defines stay
 * global ELF symbols, so LLVM's libcalls resolve, but their BTF FUNC is `static`: a global FUNC is
 * verified by the kernel on its own, and it refuses memmove (`Global function memmove() doesn't
 * return scalar`). Only Aya's loader patches that BTF; with static FUNCs the object loads with
 * bpftool (libbpf) unchanged. A builtin the user exports by name keeps its global FUNC.
 * Real Debian rustc 1.9x builds, linked by our built CLI, loaded into the running kernel.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTypes, readBpfObject, type Btf, type BpfObject } from '../../src/object';
import { MEMORY_BUILTINS } from '../../src/options';
import { kernelLoadUnavailable, loadIntoKernel, runInKernel } from '../support/kernel';
import { compileC, makeTempDir, writeSource } from '../support/toolchain';
import { CLI, btfOf, expectFreshCli, run, rustUnavailable, rustc } from './support';

const noRust = rustUnavailable();
const noKernel = kernelLoadUnavailable();

/** Linkage of every BTF FUNC named like a memory builtin. */
function builtinFuncs(btf: Btf): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of findTypes(btf, 'FUNC')) if (MEMORY_BUILTINS.includes(f.name)) out[f.name] = f.linkage;
  return out;
}

describe.skipIf(noRust)('memory builtins in BTF (Rust, --btf)', () => {
  let dir: string;
  let plainPath: string;
  let plain: BpfObject;
  let exportedPath: string;
  let exported: BpfObject;

  beforeAll(() => {
    expectFreshCli();
    dir = makeTempDir('bpfl-mem-builtins-');
    plainPath = join(dir, 'memory_builtins.o');
    rustc({ src: 'memory_builtins.rs', crateType: 'bin', out: plainPath, linkArgs: ['--btf'] });
    plain = readBpfObject(readFileSync(plainPath));
    exportedPath = join(dir, 'memory_builtins_exported.o');
    rustc({ src: 'memory_builtins.rs', crateType: 'bin', out: exportedPath, linkArgs: ['--btf', '--export', 'memmove'] });
    exported = readBpfObject(readFileSync(exportedPath));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the program calls memmove, a defined global function in the object', () => {
    expect(plain.programs.find((p) => p.name === 'shift')).toMatchObject({ section: 'socket', calls: expect.arrayContaining(['memmove']) });
    const memmove = plain.programs.find((p) => p.name === 'memmove');
    expect(memmove).toMatchObject({ section: '.text', isSubprogram: true });
    expect(memmove!.binding).not.toBe('local');
  });

  it('every memory builtin in BTF has a static FUNC; the program stays global', () => {
    const funcs = builtinFuncs(btfOf(readFileSync(plainPath)));
    expect(funcs.memmove).toBe('static');
    expect(Object.entries(funcs).filter(([, linkage]) => linkage !== 'static')).toEqual([]);
    expect(plain.programs.find((p) => p.name === 'shift')?.btfLinkage).toBe('global');
    expect(plain.programs.find((p) => p.name === 'memmove')?.btfLinkage).toBe('static');
  });

  // compiler_builtins' memmove ends its loops by comparing pointers, which the verifier cannot
  // follow; the link replaces it by a loop counted by an index (pipeline/verifiable-builtins.ts).
  it.skipIf(noKernel)('bpftool prog loadall accepts the object, and memmove moves the bytes right when it runs', () => {
    const data = new Uint8Array(62);
    const r = runInKernel(plainPath, 'shift', data);
    expect(r.ok, r.log).toBe(true);
    // skb->len is 62 - 14 = 48: buf[i] = 48 + i, then buf[4..16] = old buf[0..12] (an overlapping
    // copy upwards, which needs the backward loop), then the sum of all 24 bytes.
    const buf = Array.from({ length: 24 }, (_, i) => 48 + i);
    buf.splice(4, 12, ...buf.slice(0, 12));
    expect(r.retval).toBe(buf.reduce((a, b) => a + b, 0));
  });

  it('memmove is the linked replacement: a small function of its own that calls nothing', () => {
    const memmove = plain.programs.find((p) => p.name === 'memmove')!;
    // The replacement is small: compiler_builtins' has word-copy paths of several hundred instructions.
    expect(memmove.instructionCount).toBeLessThan(40);
    expect(memmove.calls).toEqual([]);
  });

  it('--export memmove: memmove is the product and keeps a global FUNC (the other builtins stay static)', () => {
    const funcs = builtinFuncs(btfOf(readFileSync(exportedPath)));
    expect(funcs.memmove).toBe('global');
    expect(Object.entries(funcs).filter(([name, linkage]) => name !== 'memmove' && linkage !== 'static')).toEqual([]);
    const memmove = exported.programs.find((p) => p.name === 'memmove');
    expect(memmove?.binding).not.toBe('local');
    expect(memmove?.btfLinkage).toBe('global');
  });
});

/**
 * A C source with its own memcpy (-fno-builtin-memcpy, so the calls stay calls), compiled by
 * clang-22 in a temporary directory, and a link of it with the built CLI.
 */
function memcpyFixture(prefix: string, file: string, source: string) {
  const f = { dir: '', bc: '' };
  beforeAll(() => {
    expectFreshCli();
    f.dir = makeTempDir(prefix);
    f.bc = compileC({ major: 22, source: writeSource(f.dir, file, source), out: join(f.dir, file.replace(/\.c$/, '.bc')), mode: 'bc', flags: ['-g', '-O2', '-fno-builtin-memcpy'] });
  });
  afterAll(() => {
    if (f.dir) rmSync(f.dir, { recursive: true, force: true });
  });
  const link = (name: string, extra: string[]): string => {
    const out = join(f.dir, name);
    const r = run(process.execPath, [CLI, f.bc, '--btf', ...extra, '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    return out;
  };
  return { f, link };
}

/**
 * C that defines memcpy itself (a global function with default visibility, with -g) and calls it.
 * The copy goes to global data, as a static callee may not return a stack pointer; the loop
 * counts with a scalar, which the verifier follows in the caller's context.
 */
const MEMCPY_C = `
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__attribute__((noinline)) void *memcpy(void *dst, const void *src, unsigned long n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  for (unsigned long i = 0; i < n; i++) d[i] = s[i];
  return dst;
}

unsigned char copy[8];

SEC("socket") int prog(struct __sk_buff *skb) {
  unsigned char a[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
  a[0] = skb->len;
  memcpy(copy, a, sizeof a);
  return copy[0] + copy[7];
}

char LICENSE[] SEC("license") = "GPL";
`;

describe.skipIf(!existsSync(CLI) || !existsSync('/usr/lib/llvm-22/bin/clang'))('memory builtins in BTF (C, --btf, no export list)', () => {
  const fixture = memcpyFixture('bpfl-mem-builtins-c-', 'memcpy.c', MEMCPY_C);
  const dir = () => fixture.f.dir;
  const link = (name: string, extra: string[]) => {
    const out = fixture.link(name, extra);
    return { btf: btfOf(readFileSync(out)), obj: readBpfObject(readFileSync(out)) };
  };

  it('a C memcpy keeps its global symbol (the default mode keeps source linkage) and gets a static FUNC', () => {
    const { btf, obj } = link('default.o', []);
    expect(builtinFuncs(btf)).toEqual({ memcpy: 'static' });
    expect(obj.programs.find((p) => p.name === 'memcpy')?.binding).toBe('global');
    expect(obj.programs.find((p) => p.name === 'prog')).toMatchObject({ btfLinkage: 'global', calls: ['memcpy'] });
  });

  // libbpf makes hidden functions static in BTF itself; memcpy here has default visibility, so
  // the kernel sees the linkage the linker wrote.
  it.skipIf(noKernel)('bpftool prog loadall accepts it: the verifier follows memcpy in the caller', () => {
    const r = loadIntoKernel(join(dir(), 'default.o'));
    expect(r.ok, r.log).toBe(true);
  });

  it('--export memcpy keeps its FUNC global', () => {
    const { btf, obj } = link('exported.o', ['--export', 'memcpy,prog,LICENSE,copy']);
    expect(builtinFuncs(btf)).toEqual({ memcpy: 'global' });
    expect(obj.programs.find((p) => p.name === 'memcpy')?.binding).toBe('global');
  });

  it.skipIf(noKernel)('--export memcpy: the kernel verifies the global memcpy on its own and refuses it (why it is static otherwise)', () => {
    const r = loadIntoKernel(join(dir(), 'exported.o'));
    expect(r.ok).toBe(false);
    expect(r.log).toContain("Global function memcpy() doesn't return scalar");
  });
});

/**
 * A weak memcpy in C stands for compiler_builtins' (which is weak): the link replaces it. One
 * program ignores the result and copies to the stack (the replacement returns null: the verifier
 * refuses a function returning a stack pointer); the other uses the result, so the replacement
 * returns the destination, here global data.
 */
const WEAK_MEMCPY_C = `
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* Ends its loop by comparing pointers, as compiler_builtins does: the verifier cannot follow it. */
__attribute__((weak, noinline)) void *memcpy(void *dst, const void *src, unsigned long n) {
  unsigned char *d = dst, *end = d + n;
  const unsigned char *s = src;
  while (d < end) *d++ = *s++;
  return dst;
}

unsigned char out[8];

SEC("socket") int to_stack(struct __sk_buff *skb) {
  unsigned char a[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, b[8];
  a[0] = skb->len;
  memcpy(b, a, sizeof b);
  return b[0] + b[7];
}

SEC("socket") int uses_result(struct __sk_buff *skb) {
  unsigned char a[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
  a[7] = skb->len;
  unsigned char *p = memcpy(out, a, sizeof a);
  return p[0] + p[7];
}

char LICENSE[] SEC("license") = "GPL";
`;

describe.skipIf(!existsSync(CLI) || !existsSync('/usr/lib/llvm-22/bin/clang'))('a weak memory builtin is replaced by loops the verifier follows', () => {
  const { link } = memcpyFixture('bpfl-weak-memcpy-', 'weak.c', WEAK_MEMCPY_C);

  it.skipIf(noKernel)('both programs load and copy: the result used is the destination', () => {
    const object = link('replaced.o', []);
    const data = new Uint8Array(64); // skb->len = 50
    expect(runInKernel(object, 'to_stack', data)).toMatchObject({ ok: true, retval: 50 + 8 });
    expect(runInKernel(object, 'uses_result', data)).toMatchObject({ ok: true, retval: 1 + 50 });
  });

  it.skipIf(noKernel)('--disable-memory-builtins keeps the weak memcpy as written, which the verifier cannot follow', () => {
    const object = link('kept.o', ['--disable-memory-builtins']);
    const r = loadIntoKernel(object);
    expect(r.ok).toBe(false);
  });
});
