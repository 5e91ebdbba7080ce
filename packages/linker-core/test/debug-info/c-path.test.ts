/**
 * The debug-info stage's C path: when every compile unit is clang's C, none of the (Rust) rules
 * runs, nothing is walked without internalized functions, and with them the walk only repoints
 * the replaced subprograms without entering file-scope types. The bar: objects byte-identical
 * (.BTF, .BTF.ext and everything else) to the full rule walk, which BPF_LINKER_BTF_RULES=all
 * still runs. Each side is a separate CLI process with arguments and environment of the same
 * sizes: LLVM orders BTF's forward declarations by the addresses of their nodes, so two links in
 * one process, or processes whose argv or environment differ in length, can order them
 * differently (the same link, bytes apart in memory).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readInputs } from '../../src/inputs';
import { readElf } from '../../src/inputs/elf';
import { LlvmContext } from '../../src/llvm/context';
import { compileUnits, isClangC } from '../../src/llvm/debug-info';
import { loadLlvmLibrary, type LlvmLibrary } from '../../src/llvm/library';
import type { ModuleRef } from '../../src/llvm/types';
import { silentLogger } from '../../src/log';
import { findType, findTypes } from '../../src/object';
import { linkModules } from '../../src/pipeline/link-modules';
import { LLVM_MAJORS, compileC, llvmTool, makeTempDir, writeSource, type LlvmMajor } from '../support/toolchain';
import { CLI, FIXTURES, btfOf, expectFreshCli, func, run } from './support';

/**
 * What C debug info has: bitfields, unions, anonymous members, a flexible array, enums, typedef
 * chains, a BTF-defined map, CO-RE accesses, a kfunc declaration, and inside the functions that
 * get internalized local structs, a local typedef and a static local (all scoped to the subprogram
 * that is replaced).
 */
const PROGRAM_C = `
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum color { RED, GREEN = 5, BLUE };
typedef unsigned int u32_t;
typedef u32_t key_t;
struct flags { unsigned a : 3; unsigned b : 5; unsigned c : 12; unsigned long long wide : 40; };
struct packet {
  u32_t len;
  union { __u32 v4; __u8 v6[16]; } addr;
  struct { __u16 sport, dport; };
  struct flags f;
  enum color color;
  struct packet *next;
  char data[];
};
struct task_view { int pid; int tgid; } __attribute__((preserve_access_index));

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, key_t);
  __type(value, struct packet);
} packets SEC(".maps");

extern int bpf_example_kfunc(struct packet *p) __ksym __weak;
int shared(struct packet *p, int k);

__attribute__((noinline)) int count_bits(struct packet *p) {
  struct local_acc { int sum; struct flags copy; struct local_acc *self; } acc = { .sum = p->f.a, .copy = p->f };
  typedef int local_int;
  static local_int calls;
  acc.self = &acc;
  calls++;
  return acc.self->sum + acc.copy.b + calls;
}

static __attribute__((noinline)) int view(struct task_view *v) { return v->pid ^ v->tgid; }

SEC("xdp") int prog(struct xdp_md *ctx) {
  key_t key = ctx->ingress_ifindex;
  struct packet *p = bpf_map_lookup_elem(&packets, &key);
  if (!p) return XDP_PASS;
  int r = count_bits(p) + shared(p, 3) + view((struct task_view *)ctx);
  if (bpf_example_kfunc) r += bpf_example_kfunc(p);
  return r & 1 ? XDP_DROP : XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`;

/** A second compile unit: global functions that --internalize makes static, one inlined into the other. */
const LIBRARY_C = `
#include <linux/types.h>
struct packet;
struct point { int x; int y; };
static inline int square(int v) { struct sq { int v; } s = { v * v }; return s.v; }
__attribute__((noinline)) int distance(struct point *a) { return square(a->x) + square(a->y); }
int shared(struct packet *p, int k) {
  struct point pt = { k, (int)(long)p };
  return distance(&pt) + square(k);
}
`;

const CILIUM_LOADER = '/usr/share/gocode/src/github.com/cilium/ebpf/testdata/loader.c';

const section = (bytes: Uint8Array, name: string) => {
  const s = readElf(bytes).sections.find((x) => x.name === name);
  return s ? Buffer.from(bytes.subarray(Number(s.offset), Number(s.offset) + Number(s.size))) : undefined;
};

describe.each(LLVM_MAJORS)('clang-%i C: the C path against the full rule walk', (major) => {
  let dir: string;
  const inputs: Record<string, string[]> = {};

  beforeAll(() => {
    expectFreshCli();
    dir = makeTempDir(`bpfl-c-path-${major}-`);
    const program = writeSource(dir, 'program.c', PROGRAM_C);
    const library = writeSource(dir, 'library.c', LIBRARY_C);
    for (const target of ['bpfel', 'bpfeb']) {
      const flags = ['-g', '-O2', '-target', target];
      inputs[target] = [
        compileC({ major, source: program, out: join(dir, `program-${target}.bc`), mode: 'bc', flags }),
        compileC({ major, source: library, out: join(dir, `library-${target}.bc`), mode: 'bc', flags }),
      ];
      if (existsSync(CILIUM_LOADER)) {
        inputs[`cilium-${target}`] = [
          compileC({ major, source: CILIUM_LOADER, out: join(dir, `loader-${target}.bc`), mode: 'bc', flags: [...flags, '-Wall'] }),
        ];
      }
    }
  });

  /**
   * Links twice (the C path, then every rule), each in its own process with same-size arguments
   * and environment; the objects and the debug lines.
   */
  const both = (name: string, files: string[], flags: string[]) => {
    const out = (tag: string) => join(dir, `${name}-${flags.join('').replace(/\W/g, '') || 'default'}-${tag}.o`);
    const args = (o: string) => [...files, '--btf', '--cpu', 'v3', ...flags, '--log-level', 'debug', '-o', o];
    const c = run(process.execPath, [CLI, ...args(out('cpt'))], { BPF_LINKER_BTF_RULES: 'off' });
    expect(c.status, c.stderr).toBe(0);
    const all = run(process.execPath, [CLI, ...args(out('all'))], { BPF_LINKER_BTF_RULES: 'all' });
    expect(all.status, all.stderr).toBe(0);
    const line = (s: string) => s.split('\n').find((l) => l.includes('debug info is clang') || l.includes('debug info sanitized')) ?? '';
    return { c: readFileSync(out('cpt')), all: readFileSync(out('all')), cLine: line(c.stderr), allLine: line(all.stderr) };
  };

  const MODES: [string, string[]][] = [
    ['default', []],
    ['internalize', ['--internalize']],
    ['export', ['--export', 'prog,packets,LICENSE']],
  ];

  for (const target of ['bpfel', 'bpfeb']) {
    for (const [mode, flags] of MODES) {
      it(`${target}, ${mode}: byte-identical objects (.BTF and .BTF.ext included)`, () => {
        const r = both(`program-${target}`, inputs[target], flags);
        expect(r.allLine).toContain('debug info sanitized');
        expect(r.cLine).toContain("debug info is clang's C");
        if (mode === 'default') expect(r.cLine).toContain('nothing walked');
        else expect(r.cLine).toMatch(/[1-9]\d* references repointed/);
        expect(section(r.c, '.BTF')!.equals(section(r.all, '.BTF')!)).toBe(true);
        expect(section(r.c, '.BTF.ext')!.equals(section(r.all, '.BTF.ext')!)).toBe(true);
        expect(Buffer.compare(r.c, r.all)).toBe(0);
        const btf = btfOf(r.c);
        expect(findTypes(btf, 'STRUCT', 'packet')).toHaveLength(1);
        const linkage = mode === 'default' ? 'global' : 'static';
        expect(func(btf, 'count_bits').linkage).toBe(linkage);
        expect(func(btf, 'distance')).toEqual({ linkage, params: ['a'] });
      });
    }
    it.runIf(existsSync(CILIUM_LOADER))(`${target}: cilium's loader.c, byte-identical in every mode`, () => {
      for (const [, flags] of MODES.slice(0, 2)) {
        const r = both(`loader-${target}`, inputs[`cilium-${target}`], flags);
        expect(r.cLine).toContain("debug info is clang's C");
        expect(Buffer.compare(r.c, r.all)).toBe(0);
      }
    });
  }

  it('repoints every reference to a replaced subprogram, local types and static locals included; the IR verifies', () => {
    const ll = join(dir, 'internalized.ll');
    const r = run(process.execPath, [CLI, ...inputs.bpfel, '--btf', '--internalize', '--emit', 'llvm-ir', '-o', ll]);
    expect(r.status, r.stderr).toBe(0);
    const ir = readFileSync(ll, 'utf8');
    // An unreferenced node is not printed: one subprogram per name means none is left behind.
    for (const name of ['count_bits', 'distance', 'shared']) {
      const sps = ir.match(new RegExp(`DISubprogram\\(name: "${name}"[^\\n]*`, 'g')) ?? [];
      expect(sps, name).toHaveLength(1);
      expect(sps[0]).toContain('DISPFlagLocalToUnit');
    }
    const countBits = ir.match(/^(![0-9]+) = distinct !DISubprogram\(name: "count_bits"/m)![1];
    expect(ir).toMatch(new RegExp(`DICompositeType\\(tag: DW_TAG_structure_type, name: "local_acc", scope: ${countBits},`));
    expect(ir).toMatch(new RegExp(`DIDerivedType\\(tag: DW_TAG_typedef, name: "local_int", scope: ${countBits},`));
    expect(ir).toMatch(new RegExp(`DIGlobalVariable\\(name: "calls", scope: ${countBits},`));
    const v = run(llvmTool(major, 'opt'), ['-passes=verify', '-disable-output', ll]);
    expect(v.stderr).toBe('');
    expect(v.status).toBe(0);
  });

  it("leaves names that are not kernel identifiers as clang wrote them (the rules would escape them)", () => {
    // clang accepts $ in identifiers; the kernel does not in BTF names, in clang's object or ours.
    const src = writeSource(dir, 'dollar.c', 'struct a$b { int x; };\n__attribute__((noinline)) int get$x(struct a$b *p) { return p->x; }\n__attribute__((section("xdp"), used)) int prog(struct a$b *p) { return get$x(p); }\n');
    const bc = compileC({ major, source: src, out: join(dir, 'dollar.bc'), mode: 'bc' });
    const r = both('dollar', [bc], []);
    expect(findTypes(btfOf(r.c), 'STRUCT', 'a$b')).toHaveLength(1);
    expect(findTypes(btfOf(r.c), 'FUNC', 'get$x')).toHaveLength(1);
    expect(findTypes(btfOf(r.all), 'STRUCT', 'a_24_b')).toHaveLength(1);
    expect(findTypes(btfOf(r.all), 'FUNC', 'get_24_x')).toHaveLength(1);
    const ref = join(dir, 'dollar.ref.o');
    compileC({ major, source: src, out: ref, mode: 'obj', flags: ['-g', '-O2', '-mcpu=v3'] });
    expect(findType(btfOf(readFileSync(ref)), 'STRUCT', 'a$b').size).toBe(4);
  });
});

describe.each(LLVM_MAJORS)('isClangC (LLVM %i)', (major) => {
  let lib: LlvmLibrary;
  let dir: string;
  const open: { ctx: LlvmContext; m: ModuleRef }[] = [];
  beforeAll(() => {
    lib = loadLlvmLibrary(`/usr/lib/llvm-${major}/lib/libLLVM.so.${major}.1`);
    dir = makeTempDir(`bpfl-isc-${major}-`);
  });
  afterEach(() => {
    for (const o of open.splice(0)) {
      lib.api.LLVMDisposeModule(o.m);
      o.ctx.dispose();
    }
  });
  const load = (files: string[]) => {
    const ctx = new LlvmContext(lib);
    const m = linkModules(ctx, readInputs(files, silentLogger).units, silentLogger);
    open.push({ ctx, m });
    return m;
  };
  const c = (name: string, text: string, flags = ['-g', '-O2']) =>
    compileC({ major: major as LlvmMajor, source: writeSource(dir, name, text), out: join(dir, `${name}.bc`), mode: 'bc', flags });

  it("is true for clang's C, in every C standard, and for several C units", () => {
    const a = c('a.c', 'int a(int x) { return x + 1; }\n', ['-g', '-O2', '-std=gnu89']);
    const b = c('b.c', 'int b(int x) { return x + 2; }\n', ['-g', '-O2', '-std=c17']);
    const d = c('d.c', 'int d(int x) { return x + 3; }\n', ['-g', '-O2', '-std=c99']);
    const m = load([a, b, d]);
    expect(compileUnits(lib, m)).toHaveLength(3);
    expect(isClangC(lib, m)).toBe(true);
  });

  it('is false for rustc-shaped debug info, and for C linked with it', () => {
    expect(isClangC(lib, load([join(FIXTURES, 'rules.ll')]))).toBe(false);
    const a = c('mixed.c', 'int mixed_c(int x) { return x; }\n');
    expect(isClangC(lib, load([a, join(FIXTURES, 'rules.ll')]))).toBe(false);
  });

  it('is false for C++ from clang, and for another front end that claims C', () => {
    const cxx = join(dir, 'x.bc');
    const src = writeSource(dir, 'x.cc', 'template <typename T> struct Box { T v; };\nint get(Box<int> *b) { return b->v; }\n');
    run(llvmTool(major as LlvmMajor, 'clang'), ['-target', 'bpf', '-x', 'c++', '-g', '-O2', '-emit-llvm', '-c', src, '-o', cxx]);
    expect(isClangC(lib, load([cxx]))).toBe(false);
    const ll = join(dir, 'zig.ll');
    const text = readFileSync(join(FIXTURES, 'rules.ll'), 'utf8')
      .replace('language: DW_LANG_Rust', 'language: DW_LANG_C99')
      .replace(/producer: "[^"]*"/, 'producer: "zig 0.13.0"');
    writeFileSync(ll, text);
    expect(isClangC(lib, load([ll]))).toBe(false);
  });

  it('is true for a module without debug info', () => {
    expect(isClangC(lib, load([c('nodebug.c', 'int nodebug(int x) { return x; }\n', ['-O2'])]))).toBe(true);
  });
});
