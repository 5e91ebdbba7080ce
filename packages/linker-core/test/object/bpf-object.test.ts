import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BpfFunction, readBpfObject } from '../../src/object';
import { LLVM_MAJORS, MULTIARCH_INCLUDE, llvmTool, makeTempDir } from '../support/toolchain';
import { FixtureName, SEED_DIR, bpftoolTypes, fixture, objdumpInsns, readBytes } from './fixtures';

const read = (major: 19 | 22, name: FixtureName) => readBpfObject(readBytes(fixture(major, name)));
const fn = (fns: BpfFunction[], name: string) => {
  const f = fns.find((x) => x.name === name);
  if (!f) throw new Error(`no function ${name}`);
  return f;
};

describe.each(LLVM_MAJORS)('readBpfObject, LLVM %i', (major) => {
  it('seed lib.o: the BTF-defined map, the helper and its helper call', () => {
    const obj = read(major, 'lib');
    expect(obj.maps).toEqual([
      {
        name: 'counters',
        section: '.maps',
        binding: 'global',
        symbolSize: 32,
        source: 'btf',
        type: 2,
        typeName: 'array',
        keySize: 4,
        valueSize: 8,
        maxEntries: 16,
        keyTypeId: expect.any(Number),
        valueTypeId: expect.any(Number),
        keyType: '__u32',
        valueType: '__u64',
        fields: { type: 2, max_entries: 16 },
      },
    ]);
    const lib = fn(obj.programs, 'lib_count');
    expect(lib).toMatchObject({ section: '.text', binding: 'global', isSubprogram: true, calls: [], helperCalls: [1], btfLinkage: 'global' });
    expect(obj.license).toBeUndefined();
  });

  it('seed program.o: two programs calling the extern helper, license, BTF summary', () => {
    const obj = read(major, 'program');
    expect(obj.programs.map((p) => [p.name, p.section, p.isSubprogram, p.calls, p.btfLinkage])).toEqual([
      ['xdp_prog', 'xdp', false, ['lib_count'], 'global'],
      ['kprobe_prog', 'kprobe/do_nanosleep', false, ['lib_count'], 'global'],
    ]);
    expect(obj.license).toBe('GPL');
    expect(obj.maps).toEqual([]);
    expect(obj.btfSummary!.funcs).toContainEqual({ name: 'lib_count', linkage: 'extern' });
    const byKind: Record<string, number> = {};
    for (const t of bpftoolTypes(fixture(major, 'program'))) byKind[t.kind] = (byKind[t.kind] ?? 0) + 1;
    expect(obj.btfSummary!.kinds).toEqual(byKind);
    expect(obj.btfSummary!.typeCount).toBe(Object.values(byKind).reduce((a, b) => a + b, 0));
    expect(obj.btfSummary!.funcInfoCount).toBe(2);
  });

  it.each(['lib', 'program', 'loop', 'linkage', 'zoo', 'zooEb', 'maps', 'v4'] as FixtureName[])(
    '%s: instruction counts and back-edges agree with llvm-objdump',
    (name) => {
      const obj = read(major, name);
      const ref = objdumpInsns(major, fixture(major, name));
      for (const s of obj.codeSections) {
        expect(s.instructionCount).toBe(ref.filter((r) => r.section === s.name).length);
        expect(s.slotCount * 8).toBe(s.size);
      }
      expect(obj.programs.reduce((n, p) => n + p.instructionCount, 0)).toBe(ref.length);
      const refBack = ref.filter((r) => /\bgotol? -0x/.test(r.text)).map((r) => `${r.section}:${r.index}`);
      expect(obj.programs.flatMap((p) => p.backEdges.map((b) => `${p.section}:${b.index}`))).toEqual(refBack);
    },
  );

  it('a loop kept as a loop shows as a back-edge of its program', () => {
    const p = fn(read(major, 'loop').programs, 'loop_prog');
    expect(p.backEdges).toHaveLength(1);
    expect(p.backEdges[0].target).toBeLessThan(p.backEdges[0].index);
  });

  it('static vs global helper: BTF linkage, symbol binding and resolved calls', () => {
    const obj = read(major, 'linkage');
    expect(fn(obj.programs, 'static_helper')).toMatchObject({ binding: 'local', btfLinkage: 'static', isSubprogram: true });
    expect(fn(obj.programs, 'global_helper')).toMatchObject({ binding: 'global', btfLinkage: 'global', isSubprogram: true });
    expect([...fn(obj.programs, 'linkage_prog').calls].sort()).toEqual(['global_helper', 'static_helper']);
    expect(obj.license).toBe('Dual BSD/GPL');
  });

  it('-mcpu=v3 vs -mcpu=v1: ALU32/JMP32 present/absent', () => {
    const v1 = read(major, 'loopV1');
    const v3 = read(major, 'loopV3');
    expect([v1.codeSections[0].usesAlu32, v1.codeSections[0].usesJmp32]).toEqual([false, false]);
    expect([v3.codeSections[0].usesAlu32, v3.codeSections[0].usesJmp32]).toEqual([true, true]);
    expect(fn(v3.programs, 'loop_prog')).toMatchObject({ usesAlu32: true, usesJmp32: true });
  });

  it('global variables with their BTF types and linkage', () => {
    const obj = read(major, 'zoo');
    const g = Object.fromEntries(obj.globals.map((x) => [x.name, x]));
    expect(Object.keys(g).sort()).toEqual(['counter', 'global_outer', 'rodata_knob', 'static_var']);
    expect(g.counter).toMatchObject({ section: '.data', binding: 'global', size: 4, type: 'int', btfLinkage: 'global' });
    expect(g.rodata_knob).toMatchObject({ section: '.rodata', type: 'const volatile int' });
    expect(g.global_outer).toMatchObject({ section: '.bss', size: 112, type: 'struct outer' });
    expect(g.static_var).toMatchObject({ section: '.bss', binding: 'local', btfLinkage: 'static', offset: 112 });
    expect(fn(obj.programs, 'zoo_prog').calls).toEqual(['static_helper', 'global_helper', 'core_read']);
    expect(obj.btfSummary!.coreReloCount).toBe(1);
  });

  it('legacy `maps` definitions and BTF maps with __uint/__type fields', () => {
    const maps = read(major, 'maps').maps;
    expect(maps.find((m) => m.name === 'old_hash')).toMatchObject({
      section: 'maps',
      source: 'legacy',
      type: 1,
      typeName: 'hash',
      keySize: 4,
      valueSize: 16,
      maxEntries: 1024,
      mapFlags: 1,
    });
    expect(maps.find((m) => m.name === 'new_hash')).toMatchObject({
      section: '.maps',
      source: 'btf',
      type: 1,
      maxEntries: 64,
      mapFlags: 1,
      keySize: 8,
      keyType: '__u64',
      valueSize: 4,
      valueType: 'struct bpf_spin_lock',
      fields: { type: 1, max_entries: 64, map_flags: 1 },
    });
  });

  it('big-endian objects give the same facts as little-endian ones', () => {
    const le = read(major, 'zoo');
    const be = read(major, 'zooEb');
    expect(be.littleEndian).toBe(false);
    expect(be.programs).toEqual(le.programs);
    expect(be.globals).toEqual(le.globals);
    expect(be.codeSections).toEqual(le.codeSections);
    expect(be.license).toBe(le.license);
    expect(be.btfSummary).toEqual(le.btfSummary);
  });

  it('reads an object without debug info: no BTF, maps without a definition', () => {
    const dir = makeTempDir();
    const out = join(dir, 'lib-nog.o');
    execFileSync(llvmTool(major, 'clang'), ['-target', 'bpf', MULTIARCH_INCLUDE, '-O2', '-c', join(SEED_DIR, 'lib.c'), '-o', out]);
    const obj = readBpfObject(readBytes(out));
    expect(obj.btf).toBeUndefined();
    expect(obj.btfSummary).toBeUndefined();
    expect(obj.maps).toEqual([{ name: 'counters', section: '.maps', binding: 'global', symbolSize: 32, source: 'none', fields: {} }]);
    expect(fn(obj.programs, 'lib_count')).toMatchObject({ helperCalls: [1] });
    expect(fn(obj.programs, 'lib_count').btfLinkage).toBeUndefined();
  });

  it('is plain data', () => {
    const obj = read(major, 'zoo');
    expect(structuredClone(obj)).toEqual(obj);
  });
});
