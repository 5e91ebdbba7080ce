import { describe, expect, it } from 'vitest';
import {
  Btf,
  BtfFormatError,
  BtfType,
  describeType,
  findType,
  findTypes,
  parseBtf,
  readObjectBtf,
  resolveType,
  typeById,
  typeSize,
} from '../../src/object';
import { LLVM_MAJORS } from '../support/toolchain';
import { BtfBuilder, KIND } from './btf-builder';
import { BpftoolType, FixtureName, bpftoolTypes, fixture, readBytes } from './fixtures';

const btfOf = (path: string): Btf => {
  const { btf } = readObjectBtf(readBytes(path));
  if (!btf) throw new Error(`${path} has no .BTF`);
  return btf;
};

const ENCODING = { none: '(none)', signed: 'SIGNED', char: 'CHAR', bool: 'BOOL' } as const;
const anon = (s: string) => s || '(anon)';

/** Our record in the shape of bpftool's JSON, field for field. */
function asBpftool(t: BtfType): Record<string, unknown> {
  const base = { id: t.id, kind: t.kind, name: anon(t.name) };
  switch (t.kind) {
    case 'INT':
      return { ...base, size: t.size, bits_offset: t.bitOffset, nr_bits: t.bits, encoding: ENCODING[t.encoding] };
    case 'PTR':
    case 'TYPEDEF':
    case 'VOLATILE':
    case 'CONST':
    case 'RESTRICT':
    case 'TYPE_TAG':
      return { ...base, type_id: t.typeId };
    case 'ARRAY':
      return { ...base, type_id: t.elemTypeId, index_type_id: t.indexTypeId, nr_elems: t.nelems };
    case 'STRUCT':
    case 'UNION':
      return {
        ...base,
        size: t.size,
        vlen: t.members.length,
        members: t.members.map((m) => ({
          name: anon(m.name),
          type_id: m.typeId,
          bits_offset: m.bitOffset,
          ...(m.bitfieldSize ? { bitfield_size: m.bitfieldSize } : {}),
        })),
      };
    case 'ENUM':
    case 'ENUM64':
      return {
        ...base,
        encoding: t.signed ? 'SIGNED' : 'UNSIGNED',
        size: t.size,
        vlen: t.values.length,
        values: t.values.map((v) => ({ name: v.name, val: BigInt(v.value) })),
      };
    case 'FWD':
      return { ...base, fwd_kind: t.fwdKind };
    case 'FUNC':
      return { ...base, type_id: t.typeId, linkage: t.linkage };
    case 'FUNC_PROTO':
      return {
        ...base,
        ret_type_id: t.returnTypeId,
        vlen: t.params.length,
        params: t.params.map((p) => ({ name: anon(p.name), type_id: p.typeId })),
      };
    case 'VAR':
      return { ...base, type_id: t.typeId, linkage: t.linkage };
    case 'DATASEC':
      return {
        ...base,
        size: t.size,
        vlen: t.vars.length,
        vars: t.vars.map((v) => ({ type_id: v.typeId, offset: v.offset, size: v.size })),
      };
    case 'FLOAT':
      return { ...base, size: t.size };
    case 'DECL_TAG':
      return { ...base, type_id: t.typeId, component_idx: t.componentIdx };
  }
}

/** bpftool's JSON with enum values as bigint; it prints unsigned 32-bit values sign-extended to 64 bits. */
function normalizeBpftool(t: BpftoolType): Record<string, unknown> {
  if (t.kind !== 'ENUM' && t.kind !== 'ENUM64') return t;
  const values = (t.values as { name: string; val: number | string }[]).map((v) => {
    let val = BigInt(v.val);
    if (t.encoding === 'UNSIGNED') val = BigInt.asUintN(t.kind === 'ENUM' ? 32 : 64, val);
    return { name: v.name, val };
  });
  return { ...t, values };
}

const FIXTURES_WITH_BTF: FixtureName[] = ['lib', 'program', 'loop', 'linkage', 'zoo', 'zooEb', 'maps', 'v4'];

describe.each(LLVM_MAJORS)('BTF, LLVM %i', (major) => {
  it.each(FIXTURES_WITH_BTF)('%s: every type id matches bpftool (kind, name, linkage, members)', (name) => {
    const path = fixture(major, name);
    const ours = btfOf(path);
    const ref = bpftoolTypes(path).map(normalizeBpftool);
    expect(ours.types.map(asBpftool)).toEqual(ref);
    ours.types.forEach((t, i) => expect(t.id).toBe(i + 1));
  });

  it('reads the header in both byte orders', () => {
    const le = btfOf(fixture(major, 'zoo'));
    const be = btfOf(fixture(major, 'zooEb'));
    expect([le.littleEndian, be.littleEndian]).toEqual([true, false]);
    for (const b of [le, be]) {
      expect(b.header).toMatchObject({ magic: 0xeb9f, version: 1, flags: 0, hdrLen: 24, typeOff: 0 });
      expect(b.header.strOff).toBe(b.header.typeLen);
    }
    // The same source gives the same types whatever the byte order.
    expect(be.types).toEqual(le.types);
  });

  it('decodes the C type zoo exactly', () => {
    const btf = btfOf(fixture(major, 'zoo'));
    expect(findType(btf, 'STRUCT', 'bits').members).toEqual([
      { name: 'a', typeId: findType(btf, 'INT', 'unsigned int').id, bitOffset: 0, bitfieldSize: 3 },
      { name: 'b', typeId: findType(btf, 'INT', 'unsigned int').id, bitOffset: 3, bitfieldSize: 5 },
      { name: 'c', typeId: findType(btf, 'INT', 'int').id, bitOffset: 32, bitfieldSize: 0 },
      { name: 'd', typeId: findType(btf, 'INT', 'long long').id, bitOffset: 64, bitfieldSize: 40 },
    ]);
    expect(findType(btf, 'STRUCT', 'bits').kindFlag).toBe(true);
    expect(findType(btf, 'UNION', 'un')).toMatchObject({ size: 4, kindFlag: false });
    expect(findType(btf, 'UNION', 'un').members.map((m) => [m.name, m.bitOffset])).toEqual([
      ['i', 0],
      ['f', 0],
      ['c', 0],
    ]);
    expect(findType(btf, 'ENUM', 'color')).toMatchObject({
      size: 4,
      signed: true,
      values: [
        { name: 'RED', value: 0 },
        { name: 'GREEN', value: 1 },
        { name: 'BLUE', value: -2 },
      ],
    });
    expect(findType(btf, 'ENUM', 'ucolor')).toMatchObject({
      signed: false,
      values: [
        { name: 'UA', value: 0xffffffff },
        { name: 'UB', value: 7 },
      ],
    });
    expect(findType(btf, 'ENUM64', 'big')).toMatchObject({
      size: 8,
      signed: false,
      values: [
        { name: 'HUGE', value: 0xffffffffffn },
        { name: 'SMALL', value: 1n },
      ],
    });
    expect(findType(btf, 'FWD', 'fwd_only').fwdKind).toBe('struct');
    expect(findType(btf, 'FLOAT', 'double').size).toBe(8);
    expect(findType(btf, 'DECL_TAG', 'zoo_tag')).toMatchObject({
      typeId: findType(btf, 'STRUCT', 'outer').id,
      componentIdx: -1,
    });
    expect(resolveType(btf, findType(btf, 'TYPE_TAG', 'user').typeId).name).toBe('int');
    expect(findTypes(btf, 'RESTRICT')).toHaveLength(1);
    expect(findType(btf, 'INT', 'int')).toMatchObject({ size: 4, bits: 32, bitOffset: 0, encoding: 'signed' });
    expect(findType(btf, 'INT', 'char').encoding).toBe('signed');
  });

  it('gives FUNC linkage static, global and extern, and VAR linkage static and global', () => {
    const zoo = btfOf(fixture(major, 'zoo'));
    const linkage = (b: Btf, n: string) => findType(b, 'FUNC', n).linkage;
    expect(linkage(zoo, 'static_helper')).toBe('static');
    expect(linkage(zoo, 'global_helper')).toBe('global');
    expect(linkage(zoo, 'zoo_prog')).toBe('global');
    expect(findType(zoo, 'VAR', 'static_var').linkage).toBe('static');
    expect(findType(zoo, 'VAR', 'counter').linkage).toBe('global');
    const linked = btfOf(fixture(major, 'linkage'));
    expect(linkage(linked, 'static_helper')).toBe('static');
    expect(linkage(linked, 'global_helper')).toBe('global');
    expect(linkage(btfOf(fixture(major, 'program')), 'lib_count')).toBe('extern');
  });

  it('resolves through typedefs and qualifiers, sizes and spells types', () => {
    const btf = btfOf(fixture(major, 'zoo'));
    const outer = findType(btf, 'STRUCT', 'outer');
    const member = (n: string) => outer.members.find((m) => m.name === n)!.typeId;
    const p = typeById(btf, member('p'));
    expect(p.kind).toBe('PTR');
    if (p.kind !== 'PTR') return;
    expect(resolveType(btf, p.typeId)).toMatchObject({ kind: 'INT', name: 'unsigned int' });
    expect(describeType(btf, member('p'))).toBe('const volatile u32_t *');
    expect(describeType(btf, member('arr'))).toBe('int[4][2]');
    expect(typeSize(btf, member('arr'))).toBe(32);
    expect(typeSize(btf, outer.id)).toBe(outer.size);
    expect(typeSize(btf, member('p'))).toBe(8);
    expect(typeSize(btf, findType(btf, 'TYPEDEF', 'u32_t').id)).toBe(4);
    expect(typeSize(btf, member('big'))).toBe(8);
    expect(describeType(btf, member('anon'))).toBe('struct <anon>');
    expect(describeType(btf, member('fwd'))).toBe('struct fwd_only *');
    expect(typeById(btf, 0)).toMatchObject({ kind: 'VOID', id: 0 });
    expect(() => typeById(btf, btf.types.length + 1)).toThrow(BtfFormatError);
  });
});

describe('BTF from hand-built bytes', () => {
  it('decodes kinds clang does not emit for C (signed ENUM64, union FWD, extern VAR, vararg proto)', () => {
    const b = new BtfBuilder();
    const int = b.type(KIND.INT, 'int', { sizeOrType: 4 }, (1 << 24) | 32);
    const e64 = b.type(KIND.ENUM64, 'e', { vlen: 2, kflag: true, sizeOrType: 8 }, b.str('NEG'), 0xfffffffe, 0xffffffff, b.str('POS'), 5, 1);
    const fwd = b.type(KIND.FWD, 'u', { kflag: true });
    const v = b.type(KIND.VAR, 'ext', { sizeOrType: int }, 2);
    const proto = b.type(KIND.FUNC_PROTO, '', { vlen: 2, sizeOrType: int }, b.str('fmt'), int, 0, 0);
    const fn = b.type(KIND.FUNC, 'printf', { vlen: 2, sizeOrType: proto });
    const btf = parseBtf(b.build());
    expect(typeById(btf, e64)).toMatchObject({ signed: true, values: [{ name: 'NEG', value: -2n }, { name: 'POS', value: (1n << 32n) | 5n }] });
    expect(typeById(btf, fwd)).toMatchObject({ kind: 'FWD', fwdKind: 'union' });
    expect(typeById(btf, v)).toMatchObject({ kind: 'VAR', linkage: 'extern' });
    expect(typeById(btf, proto)).toMatchObject({ params: [{ name: 'fmt', typeId: int }, { name: '', typeId: 0 }] });
    expect(typeById(btf, fn)).toMatchObject({ kind: 'FUNC', linkage: 'extern' });
    expect(describeType(btf, proto)).toBe('int (int, ...)');
    // Big-endian bytes of the same records read the same.
    expect(parseBtf(b.build(false)).types).toEqual(btf.types);
  });

  it('reports a typedef cycle instead of looping', () => {
    const b = new BtfBuilder();
    b.type(KIND.TYPEDEF, 'a', { sizeOrType: 2 });
    b.type(KIND.TYPEDEF, 'b', { sizeOrType: 1 });
    const btf = parseBtf(b.build());
    expect(() => resolveType(btf, 1)).toThrow(BtfFormatError);
    expect(() => typeSize(btf, 1)).toThrow(BtfFormatError);
  });

  it('reports an array cycle in typeSize instead of looping', () => {
    const b = new BtfBuilder();
    b.type(KIND.ARRAY, '', {}, 1, 1, 2);
    expect(() => typeSize(parseBtf(b.build()), 1)).toThrow(BtfFormatError);
  });
});
