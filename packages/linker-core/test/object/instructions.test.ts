import { describe, expect, it } from 'vitest';
import { readElf } from '../../src/inputs/elf';
import {
  BpfInsnFormatError,
  decodeInstructions,
  disassemble,
  findBackEdges,
  findBpfToBpfCalls,
  findHelperCalls,
  formatInsn,
  jumpTarget,
  usesAlu32,
  usesJmp32,
} from '../../src/object';
import { LLVM_MAJORS } from '../support/toolchain';
import { FixtureName, fixture, objdumpInsns, readBytes } from './fixtures';

/** Decoded instructions of every executable section, by section name. */
function sections(path: string) {
  const elf = readElf(readBytes(path));
  const out = new Map<string, ReturnType<typeof decodeInstructions>>();
  for (const s of elf.sections) {
    if ((s.flags & 4n) !== 0n && s.size > 0) out.set(s.name, decodeInstructions(elf.sectionData(s), elf.littleEndian));
  }
  return { elf, out };
}

const ALL: FixtureName[] = ['lib', 'program', 'loop', 'loopV1', 'loopV3', 'loopEb', 'linkage', 'zoo', 'zooEb', 'maps', 'v4'];

describe.each(LLVM_MAJORS)('instructions, LLVM %i', (major) => {
  it.each(ALL)('%s: same instructions, indexes and text as llvm-objdump', (name) => {
    const path = fixture(major, name);
    const ref = objdumpInsns(major, path);
    const { out } = sections(path);
    const ours = [...out].flatMap(([section, insns]) =>
      insns.map((i) => ({ section, index: i.index, text: formatInsn(i) })),
    );
    expect(ours.map((o) => `${o.section} ${o.index}: ${o.text}`)).toEqual(
      ref.map((r) => `${r.section} ${r.index}: ${r.text}`),
    );
  });
});

describe.each(LLVM_MAJORS)('instruction analyses, LLVM %i', (major) => {
  it.each(ALL)('%s: raw bytes line up with llvm-objdump and back-edges are its backward jumps', (name) => {
    const path = fixture(major, name);
    const ref = objdumpInsns(major, path);
    const { elf, out } = sections(path);
    const flat = [...out].flatMap(([section, insns]) => insns.map((i) => ({ section, i })));
    expect(flat.length).toBe(ref.length);
    flat.forEach(({ section, i }, k) => {
      const data = elf.sectionData(elf.section(section)!);
      expect([...data.subarray(i.byteOffset, i.byteOffset + 8 * i.slots)]).toEqual(ref[k].bytes);
    });
    for (const [section, insns] of out) {
      const refBack = ref
        .filter((r) => r.section === section && /\bgotol? -0x[0-9a-f]+$/.test(r.text))
        .map((r) => r.index);
      expect(findBackEdges(insns).map((b) => b.index)).toEqual(refBack);
      for (const b of findBackEdges(insns)) {
        expect(b.target).toBeLessThanOrEqual(b.index);
        expect(insns.some((x) => x.index === b.target)).toBe(true);
      }
    }
  });

  it('a loop kept by `unroll(disable)` has exactly one back-edge, at every -mcpu and in big-endian', () => {
    for (const name of ['loop', 'loopV1', 'loopV3', 'loopEb'] as const) {
      const { out } = sections(fixture(major, name));
      expect(findBackEdges(out.get('xdp')!)).toHaveLength(1);
    }
  });

  it('-mcpu=v3 uses ALU32 and JMP32, -mcpu=v1 neither', () => {
    const v1 = sections(fixture(major, 'loopV1')).out.get('xdp')!;
    const v3 = sections(fixture(major, 'loopV3')).out.get('xdp')!;
    expect([usesAlu32(v1), usesJmp32(v1)]).toEqual([false, false]);
    expect([usesAlu32(v3), usesJmp32(v3)]).toEqual([true, true]);
  });

  it('big-endian objects decode to the same instructions as little-endian ones', () => {
    const strip = (name: 'loop' | 'loopEb') =>
      sections(fixture(major, name)).out.get('xdp')!.map(({ code, dst, src, off, imm, imm64, slots }) => ({ code, dst, src, off, imm, imm64, slots }));
    expect(strip('loopEb')).toEqual(strip('loop'));
  });

  it('finds BPF-to-BPF calls through function and section symbols, and helper calls', () => {
    const { elf, out } = sections(fixture(major, 'zoo'));
    const symbols = elf.symbols();
    const relocs = elf.relocations(elf.section('tc')!).map((r) => {
      const s = symbols[r.symbolIndex];
      return { offset: Number(r.offset), symbol: { name: s.name, type: s.type, value: Number(s.value), sectionName: s.sectionName } };
    });
    const calls = findBpfToBpfCalls(out.get('tc')!, relocs);
    const slotOf = (n: string) => Number(symbols.find((s) => s.name === n)!.value) / 8;
    // static_helper is reached through the `.text` section symbol, the others by name.
    expect(calls.map((c) => [c.symbol, c.targetSection, c.targetIndex])).toEqual([
      [undefined, '.text', slotOf('static_helper')],
      ['global_helper', '.text', slotOf('global_helper')],
      ['core_read', '.text', slotOf('core_read')],
    ]);
    // Without relocations the pseudo-call bit still marks them.
    expect(findBpfToBpfCalls(out.get('tc')!)).toHaveLength(3);

    const lib = sections(fixture(major, 'lib')).out.get('.text')!;
    expect(findHelperCalls(lib)).toEqual([1]); // bpf_map_lookup_elem
    expect(findBpfToBpfCalls(lib)).toEqual([]);
  });

  it('a call to an extern function is a BPF-to-BPF call naming the undefined symbol', () => {
    const { elf, out } = sections(fixture(major, 'program'));
    const symbols = elf.symbols();
    const relocs = elf.relocations(elf.section('xdp')!).map((r) => {
      const s = symbols[r.symbolIndex];
      return { offset: Number(r.offset), symbol: { name: s.name, type: s.type, value: Number(s.value), sectionName: s.sectionName } };
    });
    const calls = findBpfToBpfCalls(out.get('xdp')!, relocs);
    expect(calls.map((c) => [c.index, c.symbol, c.targetSection])).toEqual([[1, 'lib_count', undefined]]);
  });
});

describe('instruction decoding edge cases', () => {
  const le = (...words: number[][]) => new Uint8Array(words.flat());

  it('decodes lddw as one instruction of two slots with a 64-bit immediate', () => {
    const insns = decodeInstructions(
      le([0x18, 0x01, 0, 0, 0x88, 0x77, 0x66, 0x55], [0, 0, 0, 0, 0x44, 0x33, 0x22, 0x11], [0x95, 0, 0, 0, 0, 0, 0, 0]),
    );
    expect(insns.map((i) => [i.index, i.cls, i.op, i.size, i.slots])).toEqual([
      [0, 'LD', 'imm', 'DW', 2],
      [2, 'JMP', 'exit', undefined, 1],
    ]);
    expect(insns[0].imm64).toBe(0x1122334455667788n);
    expect(formatInsn(insns[0])).toBe('r1 = 0x1122334455667788 ll');
  });

  it('treats gotol (JMP32|JA) offsets as imm and self-jumps as back-edges', () => {
    const insns = decodeInstructions(
      le(
        [0xb7, 0x01, 0, 0, 0, 0, 0, 0], // r1 = 0
        [0x16, 0x01, 0xff, 0xff, 5, 0, 0, 0], // if w1 == 5 goto -1 (itself)
        [0x06, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff], // gotol -2
        [0x05, 0, 2, 0, 0, 0, 0, 0], // goto +2 (forward)
        [0x85, 0x10, 0, 0, 1, 0, 0, 0], // call +1 (pseudo)
        [0x95, 0, 0, 0, 0, 0, 0, 0],
      ),
    );
    expect(insns.map(jumpTarget)).toEqual([undefined, 1, 1, 6, undefined, undefined]);
    expect(findBackEdges(insns).map((b) => [b.index, b.target])).toEqual([
      [1, 1],
      [2, 1],
    ]);
    expect(findBpfToBpfCalls(insns).map((c) => [c.index, c.targetIndex])).toEqual([[4, 6]]);
    expect(usesJmp32(insns)).toBe(true);
    expect(usesAlu32(insns)).toBe(false);
    expect(disassemble(insns)).toContain('gotol -0x2');
  });

  it('swaps the register nibbles for big-endian', () => {
    const [i] = decodeInstructions(new Uint8Array([0x79, 0x12, 0xff, 0xfc, 0, 0, 0, 7]), false);
    expect([i.dst, i.src, i.off, i.imm, formatInsn(i)]).toEqual([1, 2, -4, 7, 'r1 = *(u64 *)(r2 - 0x4)']);
  });

  it('does not count byte swaps (ALU-class even in v1) as ALU32', () => {
    const insns = decodeInstructions(le([0xdc, 0x01, 0, 0, 16, 0, 0, 0])); // r1 = be16 r1
    expect(formatInsn(insns[0])).toBe('r1 = be16 r1');
    expect(usesAlu32(insns)).toBe(false);
  });

  it('rejects truncated input with BpfInsnFormatError', () => {
    expect(() => decodeInstructions(new Uint8Array(7))).toThrow(BpfInsnFormatError);
    expect(() => decodeInstructions(le([0x18, 0x01, 0, 0, 0, 0, 0, 0]))).toThrow(BpfInsnFormatError);
  });

  it('names unassigned opcodes instead of failing', () => {
    const [i] = decodeInstructions(le([0xe5, 0, 0, 0, 0, 0, 0, 0]));
    expect(i.op).toBe('op0xe5');
    expect(formatInsn(i)).toBe('<unknown opcode 0xe5>');
    expect(findBackEdges([i])).toEqual([]);
  });
});
