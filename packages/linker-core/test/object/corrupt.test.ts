/**
 * Corrupt BTF / BTF.ext / instructions: every failure is a typed error, never a RangeError,
 * a hang, or a silently wrong parse of an obviously broken header.
 */
import { describe, expect, it } from 'vitest';
import { readElf } from '../../src/inputs/elf';
import {
  BpfInsnFormatError,
  BpfObjectError,
  Btf,
  BtfFormatError,
  describeType,
  formatBtfDump,
  parseBtf,
  parseBtfExt,
  readBpfObject,
  resolveType,
  typeSize,
} from '../../src/object';
import { ElfFormatError } from '../../src/inputs/elf';
import { BtfBuilder, KIND, prng } from './btf-builder';
import { fixture, readBytes } from './fixtures';

function sections(path: string) {
  const bytes = readBytes(path);
  const elf = readElf(bytes);
  const copy = (name: string) => new Uint8Array(elf.sectionData(elf.section(name)!));
  return { bytes, elf, btf: copy('.BTF'), ext: copy('.BTF.ext') };
}

/** Runs `f`; passes when it returns or throws one of `allowed`, fails on anything else. */
function onlyTyped(f: () => unknown, allowed: (new (...a: never[]) => Error)[], what: string): 'ok' | 'error' {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (allowed.some((A) => e instanceof A)) return 'error';
    throw new Error(`${what}: unexpected ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
}

/** Everything a caller might do with a parsed BTF; none of it may throw anything but BtfFormatError. */
function exercise(btf: Btf): void {
  formatBtfDump(btf);
  for (const t of btf.types) {
    for (const f of [() => resolveType(btf, t.id), () => typeSize(btf, t.id), () => describeType(btf, t.id)]) {
      onlyTyped(f, [BtfFormatError], `type #${t.id}`);
    }
  }
}

const seedLib = () => sections(fixture(19, 'lib'));

describe('corrupt .BTF', () => {
  it('every truncation is a BtfFormatError', () => {
    const { btf } = seedLib();
    for (let len = 0; len < btf.length; len++) {
      expect(() => parseBtf(btf.subarray(0, len)), `length ${len}`).toThrow(BtfFormatError);
    }
    expect(parseBtf(btf).types.length).toBeGreaterThan(0);
  });

  it('rejects a bad magic, version and header length', () => {
    const { btf } = seedLib();
    const patched = (at: number, v: number) => {
      const b = new Uint8Array(btf);
      b[at] = v;
      return b;
    };
    expect(() => parseBtf(patched(0, 0x00))).toThrow(/magic/);
    expect(() => parseBtf(patched(2, 2))).toThrow(/version/);
    expect(() => parseBtf(patched(4, 8))).toThrow(BtfFormatError); // hdr_len 8
    expect(() => parseBtf(patched(14, 0x7f))).toThrow(/type section/); // type_len far too big
    expect(() => parseBtf(patched(22, 0x7f))).toThrow(/string section/); // str_len far too big
  });

  it('rejects string offsets outside the string section', () => {
    const b = new BtfBuilder();
    b.type(KIND.INT, 'int', { sizeOrType: 4 }, 32);
    const bytes = b.build();
    new DataView(bytes.buffer).setUint32(24, 0x00ffffff, true); // first type's name_off
    expect(() => parseBtf(bytes)).toThrow(/string offset 16777215 is out of range/);
  });

  it('rejects a string section that does not start with NUL or whose last string is unterminated', () => {
    const b = new BtfBuilder();
    b.type(KIND.INT, 'int', { sizeOrType: 4 }, 32);
    const bytes = b.build();
    const unterminated = new Uint8Array(bytes);
    unterminated[unterminated.length - 1] = 0x41;
    expect(() => parseBtf(unterminated)).toThrow(/not NUL-terminated/);
    const noLeadingNul = new Uint8Array(bytes);
    noLeadingNul[24 + 16] = 0x41;
    expect(() => parseBtf(noLeadingNul)).toThrow(/empty string/);
  });

  it('rejects unknown kinds, encodings and linkages', () => {
    const one = (kind: number, opts: { vlen?: number }, ...extra: number[]) => {
      const b = new BtfBuilder();
      b.type(kind, 'x', { sizeOrType: 1, ...opts }, ...extra);
      return b.build();
    };
    expect(() => parseBtf(one(25, {}))).toThrow(/unknown BTF kind 25/);
    expect(() => parseBtf(one(0, {}))).toThrow(/unknown BTF kind 0/);
    expect(() => parseBtf(one(KIND.INT, {}, 3 << 24))).toThrow(/INT encoding/);
    expect(() => parseBtf(one(KIND.FUNC, { vlen: 3 }))).toThrow(/FUNC linkage/);
    expect(() => parseBtf(one(KIND.VAR, {}, 7))).toThrow(/VAR linkage/);
  });

  it('a huge vlen fails fast instead of reading past the end', () => {
    const b = new BtfBuilder();
    b.type(KIND.STRUCT, 's', { vlen: 0xffff, sizeOrType: 4 }, 0, 1, 0);
    const t0 = Date.now();
    expect(() => parseBtf(b.build())).toThrow(/truncated BTF type section/);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('random byte corruption gives a parse or a BtfFormatError, nothing else', () => {
    const { btf } = seedLib();
    const rnd = prng(0xb7f);
    let parsed = 0;
    let rejected = 0;
    for (let n = 0; n < 3000; n++) {
      const b = new Uint8Array(btf);
      const flips = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < flips; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      const r = onlyTyped(() => exercise(parseBtf(b)), [BtfFormatError], `mutation #${n}`);
      if (r === 'ok') parsed++;
      else rejected++;
    }
    // Both outcomes occur; the split depends only on the seed.
    expect(parsed).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(0);
  });
});

describe('corrupt .BTF.ext', () => {
  it('every truncation is a BtfFormatError', () => {
    const { btf, ext } = seedLib();
    const parsed = parseBtf(btf);
    for (let len = 0; len < ext.length; len++) {
      expect(() => parseBtfExt(ext.subarray(0, len), parsed), `length ${len}`).toThrow(BtfFormatError);
    }
  });

  it('rejects bad magic, a record size below the minimum and huge record counts', () => {
    const { btf, ext } = seedLib();
    const parsed = parseBtf(btf);
    const le = new DataView(ext.buffer, ext.byteOffset);
    const hdrLen = le.getUint32(4, true);
    const badMagic = new Uint8Array(ext);
    badMagic[1] = 0;
    expect(() => parseBtfExt(badMagic, parsed)).toThrow(/magic/);
    const smallRec = new Uint8Array(ext);
    new DataView(smallRec.buffer).setUint32(hdrLen + le.getUint32(8, true), 4, true);
    expect(() => parseBtfExt(smallRec, parsed)).toThrow(/record size 4/);
    const hugeCount = new Uint8Array(ext);
    new DataView(hugeCount.buffer).setUint32(hdrLen + le.getUint32(8, true) + 8, 0x7fffffff, true);
    expect(() => parseBtfExt(hugeCount, parsed)).toThrow(BtfFormatError);
  });

  it('random byte corruption gives a parse or a BtfFormatError, nothing else', () => {
    const { btf, ext } = sections(fixture(19, 'zoo'));
    const parsed = parseBtf(btf);
    const rnd = prng(0xe47);
    for (let n = 0; n < 3000; n++) {
      const b = new Uint8Array(ext);
      const flips = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < flips; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      onlyTyped(() => formatBtfDump(parsed, parseBtfExt(b, parsed), { funcInfo: true, lineInfo: true }), [BtfFormatError], `mutation #${n}`);
    }
  });
});

describe('corrupt objects', () => {
  it('readBpfObject reports corrupt BTF, truncated ELF and non-BPF ELF with typed errors', () => {
    const { bytes, elf } = sections(fixture(19, 'zoo'));
    const btfSec = elf.section('.BTF')!;
    const badBtf = new Uint8Array(bytes);
    badBtf[btfSec.offset] = 0x12;
    expect(() => readBpfObject(badBtf)).toThrow(BtfFormatError);
    expect(() => readBpfObject(bytes.subarray(0, 100))).toThrow(ElfFormatError);
    expect(() => readBpfObject(new Uint8Array([1, 2, 3]))).toThrow(ElfFormatError);
    const x86 = new Uint8Array(bytes);
    new DataView(x86.buffer).setUint16(18, 62, true); // e_machine = EM_X86_64
    expect(() => readBpfObject(x86)).toThrow(BpfObjectError);
  });

  it('a code section whose size is not a multiple of 8 is a BpfInsnFormatError', () => {
    const { bytes, elf } = sections(fixture(19, 'loop'));
    const xdp = elf.section('xdp')!;
    const shoff = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(40, true));
    const b = new Uint8Array(bytes);
    // sh_size of section #xdp.index (64-byte headers, size at +32)
    new DataView(b.buffer).setBigUint64(shoff + xdp.index * 64 + 32, BigInt(xdp.size - 3), true);
    expect(() => readBpfObject(b)).toThrow(BpfInsnFormatError);
  });
});
