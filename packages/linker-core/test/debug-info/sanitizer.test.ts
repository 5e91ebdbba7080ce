/**
 * The --btf sanitizer on LLVM 19 and 22, in-process through linkSync: rustc-shaped debug info
 * (IR text that both versions read), and clang-19/clang-22 C bitcode. Properties are checked in
 * the BTF the BPF backend emits (through our reader) and in the IR we emit.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMemoryLogger, defaultLinkOptions, linkSync, type LinkOptions } from '@bpf-linker/core';
import { findType, findTypes, typeById, type Btf } from '../../src/object';
import { LLVM_MAJORS, compileC, llvmTool, makeTempDir, writeSource } from '../support/toolchain';
import { FIXTURES, btfOf, expectKernelAcceptableBtf, func, members, pointee, run } from './support';

const RULES_LL = join(FIXTURES, 'rules.ll');
const WARNING = 'debug info was not emitted for the following types:';

/** Two global C functions the export list internalizes: one inlined into the program, one not. */
const STEP_A_C = `
struct point { int x; int y; };
int weight(struct point *p) { return p->x * 3 + p->y; }
__attribute__((noinline)) int scale(struct point *p, int by) { int r = p->x * by; return r + p->y; }
__attribute__((section("xdp"), used)) int prog(void *ctx) {
  struct point *p = ctx;
  return weight(p) + scale(p, p->y);
}
`;

/** A C anonymous struct reached through a typedef (upstream tests/c/anon.c, rewritten). */
const ANON_C = `
typedef struct { int value; } incognito;
__attribute__((noinline)) int incognito_value(incognito *i) { return i->value + 1; }
__attribute__((section("xdp"), used)) int prog(void *ctx) {
  incognito i = { 41 };
  volatile incognito *keep = &i;
  return incognito_value((incognito *)keep);
}
`;

describe.each(LLVM_MAJORS)('LLVM %i', (major) => {
  const llvmPath = `/usr/lib/llvm-${major}`;
  let dir: string;

  const link = (inputs: string[], overrides: Partial<LinkOptions> = {}) => {
    const logger = createMemoryLogger('warn');
    const result = linkSync(defaultLinkOptions({ inputs, btf: true, llvmPath, ...overrides }), { logger });
    expect(result.llvm.version.startsWith(`${major}.`)).toBe(true);
    return { result, warnings: logger.lines };
  };

  beforeAll(() => {
    dir = makeTempDir(`bpfl-sanitize-${major}-`);
  });

  describe('rustc-shaped debug info (rules.ll)', () => {
    let btf: Btf;
    let warnings: string[];
    let ir: string;
    beforeAll(() => {
      const obj = link([RULES_LL], { exports: ['prog'] });
      btf = btfOf(obj.result.bytes);
      warnings = obj.warnings;
      ir = Buffer.from(link([RULES_LL], { exports: ['prog'], emit: 'llvm-ir' }).result.bytes).toString('utf8');
    });

    it('escapes generic type and function names', () => {
      expect(findTypes(btf, 'STRUCT', 'Foo_3C_u32_3E_')).toHaveLength(1);
      expect(findTypes(btf, 'UNION', 'MaybeUninit_3C_u8_3E_')).toHaveLength(1);
      expect(findTypes(btf, 'FUNC', 'helper_3C_u32_3E_')).toHaveLength(1);
      expect(ir).toContain('name: "Foo_3C_u32_3E_"');
      expect(ir).toContain('name: "helper_3C_u32_3E_"');
      // linkage names are not BTF names and stay as rustc wrote them
      expect(ir).toContain('linkageName: "_ZN5rules6helper17h0000000000000002E"');
      const unsanitized = ir.split('\n').filter((l) => /name: "[^"]*[<>:]/.test(l) && !l.includes('DIFlagFwdDecl'));
      expect(unsanitized).toEqual([]);
    });

    it('leaves an exact forward declaration alone', () => {
      expect(findType(btf, 'FWD', 'Opaque<u8>').fwdKind).toBe('struct');
      expect(ir).toMatch(/DICompositeType\(tag: DW_TAG_structure_type, name: "Opaque<u8>".*flags: DIFlagFwdDecl/);
    });

    it('removes pointer names', () => {
      expect(findTypes(btf, 'PTR').map((p) => p.name)).toEqual(['', '', '', '', '']);
      expect(ir).not.toMatch(/DW_TAG_pointer_type, name:/);
    });

    it('sorts members by offset and drops non-member elements', () => {
      expect(members(btf, 'STRUCT', 'Mixed')).toEqual([['b', 0], ['d', 64], ['c', 96], ['a', 112]]);
      expect(members(btf, 'STRUCT', 'Foo_3C_u32_3E_')).toEqual([['x', 0], ['flag', 32]]);
      expect(members(btf, 'UNION', 'MaybeUninit_3C_u8_3E_')).toEqual([['uninit', 0], ['value', 0]]);
      // the method declaration listed among Mixed's elements is gone from the IR
      expect(ir).not.toContain('name: "total"');
    });

    it('empties the data-carrying enum and warns about it once', () => {
      const shape = findType(btf, 'STRUCT', 'Shape');
      expect(shape.size).toBe(8);
      expect(shape.members).toEqual([]);
      expect(pointee(btf, 'prog', 'shape')).toBe(shape);
      expect(warnings.filter((l) => l.includes(WARNING))).toEqual([`WARN ${WARNING} Shape`]);
    });

    it('keeps a C-like enum as an ENUM', () => {
      const e = findType(btf, 'ENUM', 'SimpleEnum');
      expect(e.size).toBe(1);
      expect(e.values).toEqual([
        { name: 'First', value: 0 },
        { name: 'Second', value: 1 },
        { name: 'Third', value: 2 },
      ]);
    });

    it('makes the internalized function static and keeps parameter names', () => {
      expect(func(btf, 'prog')).toEqual({ linkage: 'global', params: ['foo', 'shape', 'mixed', 'slot', 'simple'] });
      expect(func(btf, 'helper_3C_u32_3E_')).toEqual({ linkage: 'static', params: ['foo', 'opaque'] });
    });

    it('gives BTF the kernel accepts (besides the untouched FWD)', () => {
      expectKernelAcceptableBtf(btf);
    });

    it('emits IR the LLVM verifier accepts', () => {
      const path = join(dir, 'rules.out.ll');
      writeFileSync(path, ir);
      const r = run(llvmTool(major, 'opt'), ['-passes=verify', '-disable-output', path]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });

    it.runIf(major === 19)('changes what plain llc-19 emits from the same IR (control)', () => {
      // llc-22 crashes on this input (BTFDebug casts every struct element to a member), which is
      // another reason non-member elements are dropped.
      const raw = join(dir, 'rules-llc.o');
      const r = run(llvmTool(19, 'llc'), ['-march=bpfel', '-filetype=obj', RULES_LL, '-o', raw]);
      expect(r.status, r.stderr).toBe(0);
      const plain = btfOf(readFileSync(raw));
      expect(findTypes(plain, 'STRUCT', 'Foo<u32>')).toHaveLength(1);
      expect(findTypes(plain, 'PTR').map((p) => p.name)).toContain('&rules::Foo<u32>');
      // declaration order, and the method declaration turned into a bogus member
      expect(findType(plain, 'STRUCT', 'Mixed').members.map((m) => m.name)).toEqual(['a', 'b', 'c', 'd', 'total']);
      expect(findType(plain, 'STRUCT', 'Shape').members).toHaveLength(1);
      expect(findType(plain, 'FUNC', 'helper<u32>').linkage).toBe('global');
    });
  });

  describe('C: internalized functions get local-to-unit subprograms', () => {
    let btf: Btf;
    let ir: string;
    let irPath: string;
    beforeAll(() => {
      const bc = compileC({ major, source: writeSource(dir, 'step-a.c', STEP_A_C), out: join(dir, 'step-a.bc'), mode: 'bc' });
      btf = btfOf(link([bc], { exports: ['prog'] }).result.bytes);
      ir = Buffer.from(link([bc], { exports: ['prog'], emit: 'llvm-ir' }).result.bytes).toString('utf8');
      irPath = join(dir, 'step-a.out.ll');
      writeFileSync(irPath, ir);
    });

    it('exported functions are BTF global, internalized ones static with their parameter names', () => {
      expect(func(btf, 'prog')).toEqual({ linkage: 'global', params: ['ctx'] });
      expect(func(btf, 'scale')).toEqual({ linkage: 'static', params: ['p', 'by'] });
    });

    it('leaves no reference to a replaced subprogram (inlined scopes and variables repointed)', () => {
      // An unreferenced node is not printed: one subprogram per name means none is left behind.
      const subprograms = (name: string) => ir.match(new RegExp(`DISubprogram\\(name: "${name}"[^\\n]*`, 'g')) ?? [];
      expect(subprograms('scale')).toHaveLength(1);
      expect(subprograms('scale')[0]).toContain('DISPFlagLocalToUnit');
      // clang had inlined weight everywhere: it is dead, deleted by the optimizer, and its
      // subprogram (still the scope of its inlined code) is left as it was
      expect(subprograms('weight')).toHaveLength(1);
      expect(ir).toMatch(/inlinedAt:/);
    });

    it('emits IR the LLVM verifier accepts, debug info included', () => {
      if (major === 22) {
        // clang-22 uses Key Instructions: the copies made local cannot, so their atoms must go
        const input = run(llvmTool(22, 'llvm-dis'), [join(dir, 'step-a.bc'), '-o', '-']).stdout;
        expect(input).toContain('keyInstructions: true');
        expect(input).toContain('atomGroup:');
      }
      const r = run(llvmTool(major, 'opt'), ['-passes=verify', '-disable-output', irPath]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });

    it('without an export list nothing is internalized and every function stays global', () => {
      const bc = join(dir, 'step-a.bc');
      const all = btfOf(link([bc]).result.bytes);
      expect(func(all, 'scale').linkage).toBe('global');
    });
  });

  describe('C: an anonymous struct behind a typedef stays anonymous', () => {
    it('gives TYPEDEF incognito --> STRUCT <anon> sz:4 n:1', () => {
      const bc = compileC({ major, source: writeSource(dir, 'anon.c', ANON_C), out: join(dir, 'anon.bc'), mode: 'bc' });
      const btf = btfOf(link([bc], { exports: ['prog'] }).result.bytes);
      const td = findType(btf, 'TYPEDEF', 'incognito');
      const target = typeById(btf, td.typeId);
      expect(target).toMatchObject({ kind: 'STRUCT', name: '', size: 4 });
      expect(members(btf, 'STRUCT', '')).toEqual([['value', 0]]);
      expect(func(btf, 'incognito_value')).toEqual({ linkage: 'static', params: ['i'] });
    });
  });
});
