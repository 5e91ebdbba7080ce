import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BtfType, formatBtfDump, formatBtfType, parseBtf, readObjectBtf } from '../../src/object';
import { LLVM_MAJORS, llvmTool, makeTempDir } from '../support/toolchain';
import { BtfBuilder, KIND } from './btf-builder';
import { FixtureName, bpftoolTypes, fixture, readBytes } from './fixtures';

const dumpOf = (path: string, opts = {}) => {
  const { btf, btfExt } = readObjectBtf(readBytes(path));
  return formatBtfDump(btf!, btfExt, opts);
};

/** Runs the real FileCheck over `input` with `checks` as the check file. */
function fileCheck(input: string, checks: string): void {
  const dir = makeTempDir('bpfl-filecheck-');
  writeFileSync(join(dir, 'in.txt'), input);
  writeFileSync(join(dir, 'checks.txt'), checks);
  execFileSync(llvmTool(22, 'FileCheck'), ['--input-file', join(dir, 'in.txt'), join(dir, 'checks.txt')], { stdio: 'pipe' });
}

describe('btfdump format', () => {
  it('prints every kind exactly as btfdump does', () => {
    const b = new BtfBuilder();
    b.type(KIND.INT, 'int', { sizeOrType: 4 }, (1 << 24) | 32); // 1
    b.type(KIND.INT, 'unsigned int', { sizeOrType: 4 }, 32); // 2
    b.type(KIND.INT, '_Bool', { sizeOrType: 1 }, (4 << 24) | 8); // 3
    b.type(KIND.INT, 'char', { sizeOrType: 1 }, (2 << 24) | (0 << 16) | 8); // 4
    b.type(KIND.PTR, '', { sizeOrType: 1 }); // 5
    b.type(KIND.ARRAY, '', {}, 1, 2, 4); // 6
    b.type(KIND.STRUCT, 'foo', { vlen: 2, kflag: true, sizeOrType: 8 }, b.str('a'), 1, 0, b.str('b'), 2, (3 << 24) | 32); // 7
    b.type(KIND.UNION, '', { vlen: 1, sizeOrType: 4 }, 0, 1, 0); // 8
    b.type(KIND.ENUM, 'E', { vlen: 2, sizeOrType: 4 }, b.str('A'), 0, b.str('B'), 0xffffffff); // 9
    b.type(KIND.ENUM64, 'E64', { vlen: 2, kflag: true, sizeOrType: 8 }, b.str('NEG'), 0xfffffffe, 0xffffffff, b.str('BIG'), 0, 1); // 10
    b.type(KIND.FWD, 'f', { kflag: true }); // 11
    b.type(KIND.TYPEDEF, 't', { sizeOrType: 7 }); // 12
    b.type(KIND.VOLATILE, '', { sizeOrType: 1 }); // 13
    b.type(KIND.CONST, '', { sizeOrType: 13 }); // 14
    b.type(KIND.RESTRICT, '', { sizeOrType: 5 }); // 15
    b.type(KIND.FUNC_PROTO, '', { vlen: 2, sizeOrType: 1 }, b.str('x'), 1, 0, 0); // 16
    b.type(KIND.FUNC, 'main', { vlen: 1, sizeOrType: 16 }); // 17
    b.type(KIND.FUNC, 'helper', { vlen: 0, sizeOrType: 16 }); // 18
    b.type(KIND.FUNC, 'ext', { vlen: 2, sizeOrType: 16 }); // 19
    b.type(KIND.VAR, 'v_static', { sizeOrType: 1 }, 0); // 20
    b.type(KIND.VAR, 'v_global', { sizeOrType: 1 }, 1); // 21
    b.type(KIND.VAR, 'v_extern', { sizeOrType: 1 }, 2); // 22
    b.type(KIND.DATASEC, '.data', { vlen: 2, sizeOrType: 8 }, 20, 0, 4, 21, 4, 4); // 23
    b.type(KIND.FLOAT, 'float', { sizeOrType: 4 }); // 24
    b.type(KIND.DECL_TAG, 'tag', { sizeOrType: 7 }, -1); // 25
    b.type(KIND.DECL_TAG, 'mtag', { sizeOrType: 7 }, 1); // 26
    b.type(KIND.TYPE_TAG, 'user', { sizeOrType: 1 }); // 27
    const expected = [
      '#0: <VOID>',
      "#1: <INT> 'int' bits:32 off:0 enc:signed",
      "#2: <INT> 'unsigned int' bits:32 off:0",
      "#3: <INT> '_Bool' bits:8 off:0 enc:bool",
      "#4: <INT> 'char' bits:8 off:0 enc:char",
      '#5: <PTR> --> [1]',
      '#6: <ARRAY> n:4 idx-->[2] val-->[1]',
      "#7: <STRUCT> 'foo' sz:8 n:2",
      "\t#00 'a' off:0 --> [1]",
      "\t#01 'b' off:32 sz:3 --> [2]",
      "#8: <UNION> '<anon>' sz:4 n:1",
      "\t#00 '<anon>' off:0 --> [1]",
      "#9: <ENUM> 'E' sz:4 n:2",
      '\t#00 A = 0',
      '\t#01 B = -1', // btfdump prints enum values as int32
      "#10: <ENUM64> 'E64' sz:8 n:2",
      '\t#00 NEG = -2',
      '\t#01 BIG = 4294967296',
      "#11: <FWD> 'f' kind:union",
      "#12: <TYPEDEF> 't' --> [7]",
      '#13: <VOLATILE> --> [1]',
      '#14: <CONST> --> [13]',
      '#15: <RESTRICT> --> [5]',
      '#16: <FUNC_PROTO> r-->[1] n:2',
      "\t#00 'x' --> [1]",
      "\t#01 '<anon>' --> [0]",
      "#17: <FUNC> 'main' --> global [16]",
      "#18: <FUNC> 'helper' --> static [16]",
      "#19: <FUNC> 'ext' --> extern [16]",
      "#20: <VAR> 'v_static' kind:static --> [1]",
      "#21: <VAR> 'v_global' kind:global-alloc --> [1]",
      "#22: <VAR> 'v_extern' kind:global-extern --> [1]",
      "#23: <DATASEC> '.data' sz:8 n:2",
      '\t#00 off:0 sz:4 --> [20]',
      '\t#01 off:4 sz:4 --> [21]',
      "#24: <FLOAT> 'float' sz:4",
      "#25: <DECL_TAG> 'tag' --> [7] comp_idx:4294967295", // btfdump prints comp_idx as uint32
      "#26: <DECL_TAG> 'mtag' --> [7] comp_idx:1",
      "#27: <TYPE_TAG> 'user' --> [1]",
    ];
    expect(formatBtfDump(parseBtf(b.build()))).toBe(expected.join('\n') + '\n');
    expect(formatBtfDump(parseBtf(b.build()), undefined, { types: false })).toBe('');
  });
});

const FIXTURES: FixtureName[] = ['lib', 'program', 'loop', 'linkage', 'zoo', 'zooEb', 'maps', 'anon'];

describe.each(LLVM_MAJORS)('btfdump of real objects, LLVM %i', (major) => {
  it.each(FIXTURES)('%s: one entry per bpftool type, with its kind, name and member count', (name) => {
    const path = fixture(major, name);
    const ref = bpftoolTypes(path);
    const lines = dumpOf(path, { coreRelos: false }).trimEnd().split('\n');
    const entries = lines.filter((l) => l.startsWith('#'));
    expect(entries[0]).toBe('#0: <VOID>');
    expect(entries.length).toBe(ref.length + 1);
    ref.forEach((t, i) => {
      const line = entries[i + 1];
      expect(line.startsWith(`#${t.id}: <${t.kind}>`)).toBe(true);
      const named = !['PTR', 'ARRAY', 'VOLATILE', 'CONST', 'RESTRICT', 'FUNC_PROTO'].includes(t.kind);
      if (named) expect(line).toContain(`'${t.name === '(anon)' ? '<anon>' : t.name}'`);
    });
    // Member lines follow their type: as many as bpftool's vlen.
    const subCounts = new Map<number, number>();
    let cur = -1;
    for (const l of lines) {
      if (l.startsWith('#')) cur = Number(/^#(\d+):/.exec(l)![1]);
      else if (l.startsWith('\t#')) subCounts.set(cur, (subCounts.get(cur) ?? 0) + 1);
    }
    for (const t of ref) {
      const vlen = ['STRUCT', 'UNION', 'ENUM', 'ENUM64', 'FUNC_PROTO', 'DATASEC'].includes(t.kind) ? (t.vlen as number) : 0;
      expect(subCounts.get(t.id) ?? 0).toBe(vlen);
    }
  });

  it('passes FileCheck checks written the way upstream writes them', () => {
    fileCheck(
      dumpOf(fixture(major, 'program')),
      [
        'CHECK: #0: <VOID>',
        "CHECK: #[[P:[0-9]+]]: <FUNC_PROTO> r-->[{{[0-9]+}}] n:1",
        "CHECK-NEXT: #00 'ctx' --> [{{[0-9]+}}]",
        "CHECK: <FUNC> 'xdp_prog' --> global [[[P]]]",
        "CHECK: <FUNC> 'lib_count' --> extern [",
        "CHECK: <FUNC> 'kprobe_prog' --> global",
        "CHECK: <VAR> 'LICENSE' kind:global-alloc --> [",
        "CHECK: <DATASEC> 'license' sz:0 n:1",
        'CHECK-NEXT: #00 off:0 sz:4 --> [',
        '',
      ].join('\n'),
    );
    fileCheck(
      dumpOf(fixture(major, 'anon')),
      [
        "CHECK-DAG: <TYPEDEF> 'incognito' --> [[[M:[0-9]+]]]",
        "CHECK-DAG: #[[M]]: <STRUCT> '<anon>' sz:4 n:1",
        "CHECK-DAG: <FUNC> 'use_incognito' --> global",
        '',
      ].join('\n'),
    );
  });

  it('prints func_info, line_info and CO-RE relocations like btfdump', () => {
    const dump = dumpOf(fixture(major, 'zoo'), { funcInfo: true, lineInfo: true });
    expect(dump).toMatch(/\nFunc section #\d+ '\.text':\n#0: func: insn #0 --> \[\d+\]\n/);
    expect(dump).toMatch(/\nLine section #\d+ 'tc':\n#0: line: insn #0 --> \d+:\d+ @ .*zoo\.c\n\tint zoo_prog\(struct __sk_buff \*skb\)\n/);
    expect(dump).toMatch(/\nCore reloc section #0 '\.text':\n#0: core_reloc: insn #\d+ --> \[\d+\] \+ 0:1: byte_off --> struct task\.tgid\n/);
    // btfdump's default datasets: types and CO-RE relocations, no func/line info.
    const dflt = dumpOf(fixture(major, 'zoo'));
    expect(dflt).toContain('Core reloc section');
    expect(dflt).not.toContain('Func section');
  });
});

describe('formatBtfType', () => {
  it('is the text after `#id: `', () => {
    const t: BtfType = { id: 3, kind: 'TYPEDEF', name: 'x', kindFlag: false, typeId: 1 };
    expect(formatBtfType(t)).toBe("<TYPEDEF> 'x' --> [1]");
  });
});
