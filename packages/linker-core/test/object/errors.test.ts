/**
 * What the object readers report about a corrupt object: a LinkError (OBJECT_INVALID) saying
 * which part is broken, turned by objectError() into a message that names the file. Found by
 * the fuzz harness (e2e/fuzz): before, `inspect` and `verify` printed `internal error` and a
 * stack trace for most corrupt objects.
 */
import { describe, expect, it } from 'vitest';
import { LinkError } from '../../src/errors';
import { readElf } from '../../src/inputs/elf';
import {
  BtfFormatError,
  CORRUPT_OBJECT_HINT,
  describeType,
  inspectObject,
  objectError,
  parseBtf,
  quoteName,
  readBpfObject,
  readingObject,
  typeSize,
} from '../../src/object';
import { BtfBuilder, KIND } from './btf-builder';
import { fixture, readBytes } from './fixtures';

/** A copy of the object with a little-endian field of `size` bytes at `at` set to `value`. */
function patched(bytes: Uint8Array, at: number, size: 2 | 4 | 8, value: number | bigint): Uint8Array {
  const b = new Uint8Array(bytes);
  const v = new DataView(b.buffer);
  if (size === 2) v.setUint16(at, Number(value), true);
  else if (size === 4) v.setUint32(at, Number(value), true);
  else v.setBigUint64(at, BigInt(value), true);
  return b;
}

const shoff = (bytes: Uint8Array) => Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(40, true));
/** Offset of a field of section `name`'s header (ELF64: sh_offset +24, sh_size +32). */
const shField = (bytes: Uint8Array, name: string, field: number) => shoff(bytes) + readElf(bytes).section(name)!.index * 64 + field;

/** The message objectError gives for what `read` throws on `bytes`. */
function reported(bytes: Uint8Array, read: (b: Uint8Array) => unknown = inspectObject): LinkError {
  try {
    readingObject('prog.o', () => read(bytes));
  } catch (e) {
    expect(e).toBeInstanceOf(LinkError);
    return e as LinkError;
  }
  throw new Error('no error');
}

describe('format errors are LinkErrors', () => {
  it('BtfFormatError is an OBJECT_INVALID LinkError with the corrupt-object hint', () => {
    const e = new BtfFormatError('bad');
    expect(e).toBeInstanceOf(LinkError);
    expect(e.code).toBe('OBJECT_INVALID');
    expect(e.hint).toBe(CORRUPT_OBJECT_HINT);
    expect(e.name).toBe('BtfFormatError');
  });

  it('objectError names the file; a LinkError that names one already passes unchanged', () => {
    const e = objectError('x.o', new BtfFormatError('bad BTF magic 0x1234'));
    expect(e.message).toBe('x.o: not a valid BPF object: bad BTF magic 0x1234');
    expect(e.file).toBe('x.o');
    expect(e.code).toBe('OBJECT_INVALID');
    const named = new LinkError('INPUT_NOT_FOUND', 'cannot read y.o: ENOENT', { file: 'y.o' });
    expect(objectError('y.o', named)).toBe(named);
  });

  it('an unexpected error (a missing check in a reader) is reported as one, without a stack', () => {
    const e = objectError('x.o', new RangeError('Offset is outside the bounds of the DataView'));
    expect(e.message).toBe('x.o: not a valid BPF object: unexpected RangeError in the object reader: Offset is outside the bounds of the DataView');
    expect(e.hint).toMatch(/report this with the file$/);
    expect(e.format()).not.toMatch(/\n\s+at /);
  });

  it('quoteName escapes control bytes and shortens long names', () => {
    expect(quoteName('xdp')).toBe("'xdp'");
    expect(quoteName('a\nb\x00')).toBe("'a\\x0ab\\x00'");
    expect(quoteName('s'.repeat(100))).toBe(`'${'s'.repeat(64)}…'`);
  });
});

describe('corrupt clang objects: what is wrong, and where', () => {
  const zoo = () => readBytes(fixture(22, 'zoo'));
  const loop = () => readBytes(fixture(22, 'loop'));

  it('a truncated file: the section header table lies outside it', () => {
    const bytes = zoo().subarray(0, 300);
    expect(reported(bytes).message).toMatch(/^prog\.o: not a valid BPF object: truncated or corrupt ELF: section header table at offset \d+ \(\+64\) lies outside the 300-byte file$/);
  });

  it('a section whose contents lie outside the file', () => {
    const bytes = zoo();
    const b = patched(bytes, shField(bytes, '.rodata', 32), 8, 0x10000000);
    expect(reported(b).message).toMatch(/^prog\.o: not a valid BPF object: section '\.rodata': truncated or corrupt ELF: contents of section #\d+ at offset \d+ \(\+268435456\) lies outside the \d+-byte file$/);
  });

  it('the .BTF header: magic, version, hdr_len', () => {
    const bytes = zoo();
    const btf = readElf(bytes).section('.BTF')!.offset;
    const magic = new Uint8Array(bytes);
    magic[btf + 1] = 0x12;
    expect(reported(magic).message).toBe('prog.o: not a valid BPF object: .BTF section: bad BTF magic 0x9f12 (expected 0xeb9f in either byte order)');
    const version = new Uint8Array(bytes);
    version[btf + 2] = 2;
    expect(reported(version).message).toBe('prog.o: not a valid BPF object: .BTF section: unsupported BTF version 2');
    expect(reported(patched(bytes, btf + 4, 4, 8)).message).toMatch(/^prog\.o: not a valid BPF object: \.BTF section: bad BTF hdr_len 8 /);
  });

  it('the .BTF.ext record size', () => {
    const bytes = zoo();
    const ext = readElf(bytes).section('.BTF.ext')!.offset;
    const v = new DataView(bytes.buffer, bytes.byteOffset);
    const funcInfo = ext + v.getUint32(ext + 4, true) + v.getUint32(ext + 8, true);
    expect(reported(patched(bytes, funcInfo, 4, 4)).message).toBe(
      'prog.o: not a valid BPF object: .BTF.ext section: BTF.ext record size 4 is below the minimum 8',
    );
  });

  it('a code section whose size is not a multiple of 8', () => {
    const bytes = loop();
    const b = patched(bytes, shField(bytes, 'xdp', 32), 8, BigInt(readElf(bytes).section('xdp')!.size - 3));
    expect(reported(b, readBpfObject).message).toMatch(/^prog\.o: not a valid BPF object: code section 'xdp': instruction bytes are \d+ long, not a multiple of 8$/);
  });

  it('a DATASEC entry pointing past the last type', () => {
    const bytes = zoo();
    const elf = readElf(bytes);
    const btfOff = elf.section('.BTF')!.offset;
    const btf = parseBtf(elf.sectionData(elf.section('.BTF')!));
    // The first DATASEC's first entry (its type id): walk the type records to find its byte offset.
    const ds = btf.types.find((t) => t.kind === 'DATASEC' && t.vars.length > 0)!;
    const recordSize = (t: (typeof btf.types)[number]): number => {
      switch (t.kind) {
        case 'INT':
        case 'VAR':
        case 'DECL_TAG':
          return 16;
        case 'ARRAY':
          return 24;
        case 'STRUCT':
        case 'UNION':
          return 12 + 12 * t.members.length;
        case 'ENUM':
          return 12 + 8 * t.values.length;
        case 'ENUM64':
          return 12 + 12 * t.values.length;
        case 'FUNC_PROTO':
          return 12 + 8 * t.params.length;
        case 'DATASEC':
          return 12 + 12 * t.vars.length;
        default:
          return 12;
      }
    };
    let off = btfOff + btf.header.hdrLen + btf.header.typeOff;
    for (const t of btf.types) {
      if (t === ds) break;
      off += recordSize(t);
    }
    const b = patched(bytes, off + 12, 4, 0xfffff);
    expect(reported(b).message).toMatch(new RegExp(`^prog\\.o: not a valid BPF object: \\.BTF section: DATASEC '${ds.name.replace('.', '\\.')}' entry #0: type id 1048575 is out of range \\(\\d+ types\\)$`));
  });
});

describe('corrupt BTF cannot make the readers hang', () => {
  it('a FUNC_PROTO whose parameters are itself is spelled in bounded time', () => {
    const b = new BtfBuilder();
    const params = Array.from({ length: 16 }, () => [0, 1]).flat();
    b.type(KIND.FUNC_PROTO, '', { vlen: 16, sizeOrType: 1 }, ...params);
    const btf = parseBtf(b.build());
    const started = Date.now();
    const text = describeType(btf, 1);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(text).toContain('…');
    expect(typeSize(btf, 1)).toBe(0);
  });

  it('a typedef cycle is an error, not a loop', () => {
    const b = new BtfBuilder();
    b.type(KIND.TYPEDEF, 'a', { sizeOrType: 2 });
    b.type(KIND.TYPEDEF, 'b', { sizeOrType: 1 });
    const btf = parseBtf(b.build());
    expect(() => typeSize(btf, 1)).toThrow(/cycle/);
  });
});
