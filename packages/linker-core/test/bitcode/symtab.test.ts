/**
 * readBitcodeSymbols against llvm-nm of the same LLVM, on bitcode from clang-19/22 and on
 * Debian rustc's compiler_builtins: every defined and undefined name, weak, functions, sections.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BitcodeFormatError, readBitcodeSymbols, readSymbolTableBlobs } from '../../src/bitcode';
import { LLVM_MAJORS, compileC, llvmTool, makeTempDir, writeSource } from '../support/toolchain';

const SOURCE = `
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } counts SEC(".maps");
extern int lib_count(int x);
extern int weak_hook(int x) __attribute__((weak));
static int local_helper(int x) { return x + 1; }
int global_data = 3;
__attribute__((weak)) int weak_fn(int x) { return x * 2; }
SEC("xdp") int on_packet(struct xdp_md *ctx) { return lib_count(local_helper(ctx->ingress_ifindex)) + weak_fn(global_data) + (weak_hook ? weak_hook(1) : 0); }
char LICENSE[] SEC("license") = "GPL";
`;

/** `name kind` lines of llvm-nm for the non-local symbols, as `readBitcodeSymbols` should see them. */
function nm(major: 19 | 22, file: string): string[] {
  const out = execFileSync(llvmTool(major, 'llvm-nm'), ['--extern-only', '--no-sort', file], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => l.trim().split(/\s+/).slice(-2).reverse().join(' '))
    .filter((l) => !l.startsWith('llvm.'));
}

describe.each(LLVM_MAJORS)('readBitcodeSymbols, clang-%i', (major) => {
  let dir: string;
  let bc: string;
  beforeAll(() => {
    dir = makeTempDir('bpfl-symtab-');
    bc = compileC({ major, source: writeSource(dir, 'prog.c', SOURCE), out: join(dir, 'prog.bc'), mode: 'bc' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists what llvm-nm lists, with the same defined/undefined and weak kinds', () => {
    const symbols = readBitcodeSymbols(readFileSync(bc))!;
    const kinds = symbols.map((s) => `${s.name} ${s.undefined ? (s.weak ? 'w' : 'U') : s.weak ? (s.executable ? 'W' : 'V') : s.executable ? 'T' : 'D'}`);
    // llvm-nm prints D, B or R for data by section; compare the letter classes.
    const classOf = (line: string) => line.replace(/ [DBR]$/, ' D');
    expect(kinds.map(classOf).sort()).toEqual(nm(major, bc).map(classOf).sort());
    expect(symbols.find((s) => s.name === 'local_helper')).toBeUndefined();
  });

  it('gives sections and tells functions from data', () => {
    const byName = Object.fromEntries(readBitcodeSymbols(readFileSync(bc))!.map((s) => [s.name, s]));
    expect(byName.on_packet).toEqual({ name: 'on_packet', undefined: false, weak: false, executable: true, section: 'xdp' });
    expect(byName.counts).toMatchObject({ undefined: false, executable: false, section: '.maps' });
    expect(byName.LICENSE).toMatchObject({ undefined: false, section: 'license' });
    expect(byName.global_data).toEqual({ name: 'global_data', undefined: false, weak: false, executable: false });
    expect(byName.lib_count).toMatchObject({ undefined: true, weak: false, executable: true });
    expect(byName.weak_hook).toMatchObject({ undefined: true, weak: true });
    expect(byName.weak_fn).toMatchObject({ undefined: false, weak: true, executable: true });
  });

  it('reads nothing from a table of an unknown version, and refuses one whose ranges do not fit', () => {
    const copy = () => {
      const bytes = new Uint8Array(readFileSync(bc));
      // A view of the blob inside `bytes`: writing to it edits the file's copy.
      return { bytes, symtab: readSymbolTableBlobs(bytes).symtab! };
    };
    const unknown = copy();
    new DataView(unknown.symtab.buffer, unknown.symtab.byteOffset).setUint32(0, 99, true);
    expect(readBitcodeSymbols(unknown.bytes)).toBeUndefined();

    const broken = copy();
    // Symbols.Size (header word at byte 32): far more symbols than the blob holds.
    new DataView(broken.symtab.buffer, broken.symtab.byteOffset).setUint32(32, 1_000_000, true);
    expect(() => readBitcodeSymbols(broken.bytes)).toThrow(BitcodeFormatError);
  });
});

const RLIB_DIR = '/usr/lib/rustlib/bpfel-unknown-none/lib';
const builtinsRlib = existsSync(RLIB_DIR) ? readdirSync(RLIB_DIR).find((f) => /^libcompiler_builtins-.*\.rlib$/.test(f)) : undefined;

describe.skipIf(!builtinsRlib || !existsSync('/usr/lib/llvm-22/bin/llvm-nm'))("readBitcodeSymbols on Debian rustc's compiler_builtins", () => {
  it('finds memcpy and memmove defined (weak) in its members, as llvm-nm does', () => {
    const dir = makeTempDir('bpfl-symtab-rlib-');
    try {
      execFileSync(llvmTool(22, 'llvm-ar'), ['x', join(RLIB_DIR, builtinsRlib!)], { cwd: dir });
      const members = readdirSync(dir).filter((f) => f.endsWith('.rcgu.o'));
      expect(members.length).toBeGreaterThan(100);
      const defined = new Map<string, string>();
      for (const m of members) {
        const symbols = readBitcodeSymbols(readFileSync(join(dir, m)));
        expect(symbols, m).toBeDefined();
        for (const s of symbols!) if (!s.undefined) defined.set(s.name, m);
        for (const [i, line] of nm(22, join(dir, m)).entries()) {
          if (i > 50) break; // spot check each member
          const [name, kind] = line.split(' ');
          expect(symbols!.some((s) => s.name === name && s.undefined === (kind === 'U' || kind === 'w' || kind === 'v')), `${m}: ${line}`).toBe(true);
        }
      }
      for (const b of ['memcpy', 'memmove', 'memset', 'memcmp', 'bcmp']) expect(defined.has(b), b).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
