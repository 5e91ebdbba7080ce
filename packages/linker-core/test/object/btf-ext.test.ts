import { describe, expect, it } from 'vitest';
import { readElf } from '../../src/inputs/elf';
import { describeAccess, extRecordsFor, findType, readObjectBtf, typeById } from '../../src/object';
import { LLVM_MAJORS } from '../support/toolchain';
import { FixtureName, fixture, readBytes, sourceText } from './fixtures';

const CODE_FIXTURES: FixtureName[] = ['lib', 'program', 'loop', 'linkage', 'zoo', 'maps'];

describe.each(LLVM_MAJORS)('BTF.ext, LLVM %i', (major) => {
  it.each(CODE_FIXTURES)('%s: func_info names every function at its offset, per section', (name) => {
    const bytes = readBytes(fixture(major, name));
    const elf = readElf(bytes);
    const { btf, btfExt } = readObjectBtf(bytes);
    expect(btf && btfExt).toBeTruthy();
    if (!btf || !btfExt) return;
    expect(btfExt.header).toMatchObject({ magic: 0xeb9f, version: 1, hdrLen: 32 });
    const codeSections = elf.sections.filter((s) => (s.flags & 4n) !== 0n && s.size > 0).map((s) => s.name);
    expect(btfExt.funcInfo.map((s) => s.section).sort()).toEqual([...codeSections].sort());
    for (const section of codeSections) {
      const expected = elf
        .symbols()
        .filter((s) => s.type === 'func' && s.sectionName === section)
        .map((s) => ({ insnOff: Number(s.value), name: s.name }))
        .sort((a, b) => a.insnOff - b.insnOff);
      const got = extRecordsFor(btfExt.funcInfo, section).map((r) => {
        const f = typeById(btf, r.typeId);
        expect(f.kind).toBe('FUNC');
        expect(r.insnIndex).toBe(r.insnOff / 8);
        return { insnOff: r.insnOff, name: f.name };
      });
      expect(got).toEqual(expected);
    }
  });

  it.each(CODE_FIXTURES)('%s: line_info carries the file, line and source text', (name) => {
    const bytes = readBytes(fixture(major, name));
    const { btfExt } = readObjectBtf(bytes);
    const lines = sourceText(name).split('\n');
    const records = btfExt!.lineInfo.flatMap((s) => s.records);
    expect(records.length).toBeGreaterThan(0);
    for (const r of records) {
      expect(r.fileName.endsWith('.c')).toBe(true);
      expect(r.lineText).toBe(lines[r.line - 1]);
      expect(r.column).toBeLessThanOrEqual(lines[r.line - 1].length + 1);
    }
    // Within a section, records are in instruction order.
    for (const s of btfExt!.lineInfo) {
      const offs = s.records.map((r) => r.insnOff);
      expect(offs).toEqual([...offs].sort((a, b) => a - b));
    }
  });

  it('reads a CO-RE field relocation', () => {
    const { btf, btfExt } = readObjectBtf(readBytes(fixture(major, 'zoo')));
    const relos = btfExt!.coreRelos.flatMap((s) => s.records.map((r) => ({ section: s.section, ...r })));
    expect(relos).toHaveLength(1);
    expect(relos[0]).toMatchObject({
      section: '.text',
      typeId: findType(btf!, 'STRUCT', 'task').id,
      accessString: '0:1',
      access: [0, 1],
      kind: 'byte_off',
    });
    expect(describeAccess(btf!, relos[0])).toBe('struct task.tgid');
    expect(btfExt!.coreRelos.every((s) => s.recordSize === 16)).toBe(true);
  });

  it('big-endian BTF.ext reads the same records', () => {
    const le = readObjectBtf(readBytes(fixture(major, 'zoo'))).btfExt!;
    const be = readObjectBtf(readBytes(fixture(major, 'zooEb'))).btfExt!;
    expect([le.littleEndian, be.littleEndian]).toEqual([true, false]);
    expect(be.header).toEqual(le.header);
    expect(be.funcInfo).toEqual(le.funcInfo);
    expect(be.coreRelos).toEqual(le.coreRelos);
    // Only the file name differs: the fixtures are compiled from differently named copies.
    const strip = (x: typeof le) => x.lineInfo.map((s) => s.records.map(({ fileName: _, ...r }) => r));
    expect(strip(be)).toEqual(strip(le));
    expect(be.lineInfo[0].records[0].fileName).toMatch(/zooEb\.c$/);
  });
});
