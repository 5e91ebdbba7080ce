/**
 * The bitstream reader against real clang/rustc bitcode (producer strings cross-checked with
 * llvm-bcanalyzer), against hand-built bitstreams for the format features clang does not use,
 * and against truncated and random input.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BitcodeFormatError,
  bitcodeBody,
  inspectBitcode,
  isBitcode,
  isBitcodeWrapper,
  isRawBitcode,
  parseProducerVersion,
  readBitcodeProducer,
} from '../../src/bitcode';
import { compileC, LLVM_MAJORS, type LlvmMajor, llvmTool, makeTempDir, writeSource } from '../support/toolchain';
import { prng } from '../support/prng';

const C_SOURCE = 'int add(int a, int b) { return a + b; }\nint counter;\n';

/** `clang --version` → "22.1.8". */
function clangVersion(major: LlvmMajor): string {
  const text = execFileSync(llvmTool(major, 'clang'), ['--version'], { encoding: 'utf8' });
  const m = /clang version (\d+\.\d+\.\d+)/.exec(text);
  if (!m) throw new Error(`cannot parse clang --version: ${text}`);
  return m[1];
}

/** What LLVM's own bitstream dumper says the IDENTIFICATION block's producer is. */
function bcanalyzerProducer(path: string): string {
  const dump = execFileSync(llvmTool(22, 'llvm-bcanalyzer'), ['-dump', path], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const ident = dump.slice(dump.indexOf('<IDENTIFICATION_BLOCK_ID'), dump.indexOf('</IDENTIFICATION_BLOCK_ID>'));
  // The STRING record's operands are the characters (bcanalyzer adds a decoded form only sometimes).
  const record = /<STRING\b[^>]*>/.exec(ident);
  if (!record) throw new Error('llvm-bcanalyzer shows no producer');
  return String.fromCharCode(...[...record[0].matchAll(/ op\d+=(\d+)/g)].map((m) => Number(m[1])));
}

/** The same, for bytes: hand-built streams are checked against LLVM's reading of them. */
function bcanalyzerProducerOfBytes(bytes: Uint8Array): string {
  const path = join(makeTempDir(), 'stream.bc');
  writeFileSync(path, bytes);
  return bcanalyzerProducer(path);
}

/** A bitcode wrapper header (magic, version, offset, size, cputype) around `body`. */
function wrap(body: Uint8Array, padBefore = 0, padAfter = 0): Uint8Array {
  const out = new Uint8Array(20 + padBefore + body.length + padAfter);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x0b17c0de, true);
  view.setUint32(4, 0, true);
  view.setUint32(8, 20 + padBefore, true);
  view.setUint32(12, body.length, true);
  view.setUint32(16, 0, true);
  out.set(body, 20 + padBefore);
  return out;
}


/** Runs `fn` and returns its result or the BitcodeFormatError; any other throw fails the test. */
function typedOutcome<T>(fn: () => T): T | BitcodeFormatError {
  try {
    return fn();
  } catch (e) {
    if (e instanceof BitcodeFormatError) return e;
    throw new Error(`expected only BitcodeFormatError, got ${String(e)}`, { cause: e });
  }
}

describe('real clang bitcode', () => {
  const files: Record<string, { path: string; major: LlvmMajor }> = {};
  beforeAll(() => {
    const dir = makeTempDir();
    const source = writeSource(dir, 'add.c', C_SOURCE);
    for (const major of LLVM_MAJORS) {
      files[`clang-${major} -emit-llvm -c`] = { path: compileC({ major, source, out: join(dir, `add${major}.bc`), mode: 'bc' }), major };
      files[`clang-${major} -flto -c`] = { path: compileC({ major, source, out: join(dir, `add${major}.o`), mode: 'flto' }), major };
    }
  });

  for (const major of LLVM_MAJORS) {
    for (const mode of ['-emit-llvm -c', '-flto -c']) {
      it(`reads the producer of clang-${major} ${mode} output as LLVM<clang version>`, () => {
        const { path } = files[`clang-${major} ${mode}`];
        const bytes = readFileSync(path);
        const expected = `LLVM${clangVersion(major)}`;
        expect(bcanalyzerProducer(path)).toBe(expected);
        expect(readBitcodeProducer(bytes)).toBe(expected);
        expect(inspectBitcode(bytes)).toEqual({ producer: expected, epoch: 0, modules: 1 });
        expect(parseProducerVersion(expected)?.major).toBe(major);
      });
    }
  }

  it('reads a wrapped file (offset, size) the same way, and LLVM accepts that wrapper', () => {
    const { path } = files['clang-22 -emit-llvm -c'];
    const raw = new Uint8Array(readFileSync(path));
    const wrapped = wrap(raw, 12, 4); // data before and after the body, as Darwin's padding does
    const wrappedPath = `${path}.wrapped.bc`;
    writeFileSync(wrappedPath, wrapped);
    // llvm-dis reading it proves the header is a real wrapper, not just one we agree with ourselves.
    execFileSync(llvmTool(22, 'llvm-dis'), [wrappedPath, '-o', '/dev/null']);

    expect(isBitcodeWrapper(wrapped)).toBe(true);
    expect(isRawBitcode(wrapped)).toBe(false);
    expect(isBitcode(wrapped)).toBe(true);
    expect(Buffer.from(bitcodeBody(wrapped)).equals(Buffer.from(raw))).toBe(true);
    expect(readBitcodeProducer(wrapped)).toBe(`LLVM${clangVersion(22)}`);
    expect(inspectBitcode(wrapped).modules).toBe(1);
  });

  it('reports every truncation of raw and wrapped bitcode as BitcodeFormatError, never anything else', () => {
    for (const { path } of Object.values(files)) {
      const raw = new Uint8Array(readFileSync(path));
      for (const bytes of [raw, wrap(raw)]) {
        for (let end = 0; end < bytes.length; end++) {
          const outcome = typedOutcome(() => inspectBitcode(bytes.subarray(0, end)));
          expect(outcome, `${path} cut at ${end}`).toBeInstanceOf(BitcodeFormatError);
        }
      }
    }
  });

  it('reads the producer from any prefix that holds the whole IDENTIFICATION block', () => {
    const { path, major } = files['clang-19 -emit-llvm -c'];
    const raw = new Uint8Array(readFileSync(path));
    const expected = `LLVM${clangVersion(major)}`;
    // bcanalyzer: the block has NumWords=5 after a 4-byte magic and an 8-byte block header.
    for (let end = 0; end < raw.length; end++) {
      const outcome = typedOutcome(() => readBitcodeProducer(raw.subarray(0, end)));
      if (end >= 4 + 8 + 5 * 4) expect(outcome, `cut at ${end}`).toBe(expected);
      else expect(outcome === undefined || outcome instanceof BitcodeFormatError, `cut at ${end}`).toBe(true);
    }
  });

  it('never throws anything but BitcodeFormatError on corrupted real bitcode', () => {
    const raw = new Uint8Array(readFileSync(files['clang-22 -flto -c'].path));
    const random = prng(1);
    for (let i = 0; i < 3000; i++) {
      const bytes = raw.slice();
      // Most damage near the start, where the reader actually looks.
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips; f++) {
        const at = Math.floor(random() * (random() < 0.7 ? 64 : bytes.length));
        bytes[at] = Math.floor(random() * 256);
      }
      typedOutcome(() => readBitcodeProducer(bytes));
      typedOutcome(() => inspectBitcode(bytes));
    }
  });
});

describe('rustc bitcode', () => {
  it('reads the producer of rustc --emit=llvm-bc for bpfel-unknown-none', (ctx) => {
    const rustc = '/usr/bin/rustc';
    const coreDir = '/usr/lib/rustlib/bpfel-unknown-none/lib';
    ctx.skip(!existsSync(rustc), `${rustc} is not installed`);
    ctx.skip(
      !existsSync(coreDir) || !readdirSync(coreDir).some((f) => /^libcore-.*\.rlib$/.test(f)),
      `no prebuilt core rlib in ${coreDir}`,
    );
    const dir = makeTempDir();
    const lib = writeSource(
      dir,
      'lib.rs',
      '#![no_std]\n#[no_mangle]\npub extern "C" fn add(a: u32, b: u32) -> u32 { a.wrapping_add(b) }\n' +
        '#[panic_handler]\nfn panic(_: &core::panic::PanicInfo) -> ! { loop {} }\n',
    );
    const out = join(dir, 'lib.bc');
    execFileSync(rustc, ['--target', 'bpfel-unknown-none', '--crate-type', 'cdylib', '-C', 'panic=abort', '--emit=llvm-bc', lib, '-o', out], {
      stdio: 'pipe',
    });
    const info = execFileSync(rustc, ['-vV'], { encoding: 'utf8' });
    const llvm = /^LLVM version: (\S+)$/m.exec(info)?.[1];
    const release = /^release: (\S+)$/m.exec(info)?.[1];

    const producer = readBitcodeProducer(readFileSync(out));
    expect(producer).toBe(bcanalyzerProducer(out));
    // A rustup rustc uses its own LLVM and says so; a distribution rustc uses the system LLVM.
    expect([`LLVM${llvm}`, `LLVM${llvm}-rust-${release}`]).toContain(producer);
    expect(parseProducerVersion(producer!)?.major).toBe(Number(llvm!.split('.')[0]));
  });
});

describe('parseProducerVersion', () => {
  it.each([
    ['LLVM22.1.8', { major: 22, minor: 1, patch: 8 }],
    ['LLVM19.1.7', { major: 19, minor: 1, patch: 7 }],
    ['LLVM22.1.4-rust-1.97.0-nightly', { major: 22, minor: 1, patch: 4, rustc: '1.97.0-nightly' }],
    ['LLVM22.1.8-rust-1.99.0-nightly', { major: 22, minor: 1, patch: 8, rustc: '1.99.0-nightly' }],
    ['LLVM21.0.0git', { major: 21, minor: 0, patch: 0 }],
    ['LLVM20.1.0rc2', { major: 20, minor: 1, patch: 0 }],
  ])('%s', (producer, expected) => {
    expect(parseProducerVersion(producer)).toEqual(expected);
  });

  it.each(['APPLE_1_1500.3.9.4_0', '', 'LLVM', 'LLVM22', 'LLVM22.1', 'llvm22.1.8', ' LLVM22.1.8'])('rejects %j', (producer) => {
    expect(parseProducerVersion(producer)).toBeUndefined();
  });
});

describe('magic and wrapper', () => {
  it('recognises raw and wrapper magic only', () => {
    expect(isBitcode(Uint8Array.of(0x42, 0x43, 0xc0, 0xde))).toBe(true);
    expect(isBitcode(Uint8Array.of(0xde, 0xc0, 0x17, 0x0b))).toBe(true);
    expect(isBitcode(Uint8Array.of(0x42, 0x43, 0xc0))).toBe(false);
    expect(isBitcode(Uint8Array.of(0x7f, 0x45, 0x4c, 0x46))).toBe(false);
    expect(isBitcode(new Uint8Array(0))).toBe(false);
  });

  it('returns raw bitcode itself as the body', () => {
    const raw = Uint8Array.of(0x42, 0x43, 0xc0, 0xde, 1, 2, 3, 4);
    expect(bitcodeBody(raw)).toBe(raw);
  });

  it('rejects wrapper headers that are short or point outside the file', () => {
    const body = Uint8Array.of(0x42, 0x43, 0xc0, 0xde);
    expect(() => bitcodeBody(wrap(body).subarray(0, 16))).toThrow(/wrapper header is truncated/);
    const lying = wrap(body);
    new DataView(lying.buffer).setUint32(12, 1000, true);
    expect(() => bitcodeBody(lying)).toThrow(BitcodeFormatError);
    expect(() => bitcodeBody(lying)).toThrow(/points at bytes 20\.\.1020 but the file has 24 bytes/);
    expect(() => bitcodeBody(Uint8Array.of(1, 2, 3, 4))).toThrow(/not LLVM bitcode/);
  });
});

/**
 * Writes bitstreams bit by bit, so tests can use the format features (unabbreviated records,
 * fixed/literal/blob operands, BLOCKINFO) that clang's IDENTIFICATION block does not.
 */
class BitWriter {
  readonly bits: number[] = [];
  fixed(value: number, width: number): this {
    for (let i = 0; i < width; i++) this.bits.push(Math.floor(value / 2 ** i) % 2);
    return this;
  }
  vbr(value: number, width: number): this {
    const data = 2 ** (width - 1);
    do {
      const chunk = value % data;
      value = Math.floor(value / data);
      this.fixed(chunk + (value > 0 ? data : 0), width);
    } while (value > 0);
    return this;
  }
  align32(): this {
    while (this.bits.length % 32 !== 0) this.bits.push(0);
    return this;
  }
  append(other: BitWriter): this {
    this.bits.push(...other.bits);
    return this;
  }
  /** ENTER_SUBBLOCK with the real length word, the contents, END_BLOCK. */
  block(outerWidth: number, id: number, width: number, contents: (w: BitWriter) => void): this {
    this.fixed(1, outerWidth).vbr(id, 8).vbr(width, 4).align32();
    const inner = new BitWriter();
    contents(inner);
    inner.fixed(0, width).align32();
    return this.fixed(inner.bits.length / 32, 32).append(inner);
  }
  unabbrevRecord(width: number, code: number, ops: number[]): this {
    this.fixed(3, width).vbr(code, 6).vbr(ops.length, 6);
    for (const op of ops) this.vbr(op, 6);
    return this;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(Math.ceil(this.bits.length / 8));
    this.bits.forEach((b, i) => (out[i >> 3] |= b << (i & 7)));
    return out;
  }
}

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
const TOP = 2;

/** Magic + the given top-level content + a version-2 MODULE + STRTAB, as LLVM lays files out. */
function stream(before: (w: BitWriter) => void, withModule = true): Uint8Array {
  const w = new BitWriter().fixed(0xdec04342, 32);
  before(w);
  if (withModule) {
    w.block(TOP, 8, 3, (m) => m.unabbrevRecord(3, 1, [2]));
    w.block(TOP, 23, 3, (s) => s.unabbrevRecord(3, 1, []));
  }
  return w.align32().bytes();
}

describe('hand-built bitstreams', () => {
  it('reads an unabbreviated STRING record and the EPOCH', () => {
    const bytes = stream((w) =>
      w.block(TOP, 13, 4, (b) => b.unabbrevRecord(4, 1, ascii('LLVM7.0.0-custom build')).unabbrevRecord(4, 2, [0])),
    );
    expect(inspectBitcode(bytes)).toEqual({ producer: 'LLVM7.0.0-custom build', epoch: 0, modules: 1 });
    expect(bcanalyzerProducerOfBytes(bytes)).toBe('LLVM7.0.0-custom build');
  });

  it('reads records through literal, fixed, array and blob abbreviations, skipping blobs and nested blocks', () => {
    const bytes = stream((w) =>
      w.block(TOP, 13, 5, (b) => {
        // abbrev 4: [literal 1 (STRING), array of fixed(8)]
        b.fixed(2, 5).vbr(3, 5).fixed(1, 1).vbr(1, 8).fixed(0, 1).fixed(3, 3).fixed(0, 1).fixed(1, 3).vbr(8, 5);
        // abbrev 5: [literal 9 (unknown code), fixed(7), blob]
        b.fixed(2, 5).vbr(3, 5).fixed(1, 1).vbr(9, 8).fixed(0, 1).fixed(1, 3).vbr(7, 5).fixed(0, 1).fixed(5, 3);
        // a record with a 5-byte blob, then a nested unknown block, then the producer
        b.fixed(5, 5).fixed(100, 7).vbr(5, 6).align32().append(new BitWriter().fixed(0x6867666564, 40)).align32();
        b.block(5, 77, 3, (inner) => inner.unabbrevRecord(3, 1, [1, 2, 3]));
        const producer = ascii('LLVM22.1.4-rust-1.97.0-nightly');
        b.fixed(4, 5).vbr(producer.length, 6);
        for (const c of producer) b.fixed(c, 8);
      }),
    );
    expect(readBitcodeProducer(bytes)).toBe('LLVM22.1.4-rust-1.97.0-nightly');
    expect(inspectBitcode(bytes).producer).toBe('LLVM22.1.4-rust-1.97.0-nightly');
    expect(bcanalyzerProducerOfBytes(bytes)).toBe('LLVM22.1.4-rust-1.97.0-nightly');
  });

  it('uses abbreviations a top-level BLOCKINFO defines for the IDENTIFICATION block, after skipping unknown blocks', () => {
    const bytes = stream((w) => {
      w.block(TOP, 99, 3, (b) => b.unabbrevRecord(3, 5, [1, 2, 3, 4]));
      w.block(TOP, 0, 2, (b) => {
        b.unabbrevRecord(2, 1, [13]); // SETBID 13
        // [literal 1, array of char6]
        b.fixed(2, 2).vbr(3, 5).fixed(1, 1).vbr(1, 8).fixed(0, 1).fixed(3, 3).fixed(0, 1).fixed(4, 3);
      });
      w.block(TOP, 13, 3, (b) => {
        const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._';
        const text = `LLVM18.1.8_${chars}`; // every char6 character
        b.fixed(4, 3).vbr(text.length, 6);
        for (const c of text) b.fixed(chars.indexOf(c), 6);
      });
    });
    const expected = 'LLVM18.1.8_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._';
    expect(readBitcodeProducer(bytes)).toBe(expected);
    expect(bcanalyzerProducerOfBytes(bytes)).toBe(expected);
  });

  it('returns no producer when there is no IDENTIFICATION block before the module', () => {
    const bytes = stream(() => {});
    expect(readBitcodeProducer(bytes)).toBeUndefined();
    expect(inspectBitcode(bytes)).toEqual({ modules: 1 });
  });

  it('stops at the first MODULE block when reading the producer only', () => {
    // An IDENTIFICATION block after the module is not looked at.
    const bytes = stream((w) => w.block(TOP, 8, 3, (m) => m.unabbrevRecord(3, 1, [2])).block(TOP, 13, 4, (b) => b.unabbrevRecord(4, 1, ascii('X'))), false);
    expect(readBitcodeProducer(bytes)).toBeUndefined();
  });

  const identification = (w: BitWriter) => w.block(TOP, 13, 4, (b) => b.unabbrevRecord(4, 1, ascii('LLVM22.1.8')));

  it.each<[string, () => Uint8Array, RegExp]>([
    ['an IDENTIFICATION block without a module', () => stream(identification, false), /not followed by a MODULE block/],
    [
      'an IDENTIFICATION block followed by another block',
      () => stream((w) => identification(w).block(TOP, 23, 3, () => {})),
      /followed by a STRTAB block, not a MODULE block/,
    ],
    [
      'a version-2 module without STRTAB',
      () => stream((w) => identification(w).block(TOP, 8, 3, (m) => m.unabbrevRecord(3, 1, [2])).fixed(0, 64), false),
      /STRTAB block\) is missing/,
    ],
    ['END_BLOCK at the top level', () => stream((w) => w.fixed(0, 2).align32().fixed(0, 64)), /END_BLOCK outside any block/],
    ['a record using an undefined abbreviation', () => stream((w) => w.block(TOP, 13, 4, (b) => b.fixed(6, 4))), /undefined abbreviation id 6/],
    [
      'a VBR operand of width 1',
      () => stream((w) => w.block(TOP, 13, 4, (b) => b.fixed(2, 4).vbr(2, 5).fixed(1, 1).vbr(1, 8).fixed(0, 1).fixed(2, 3).vbr(1, 5))),
      /VBR abbreviation operand of width 1/,
    ],
    [
      'an array that is not second to last',
      () => stream((w) => w.block(TOP, 13, 4, (b) => b.fixed(2, 4).vbr(2, 5).fixed(1, 1).vbr(1, 8).fixed(0, 1).fixed(3, 3))),
      /array abbreviation operand is not second to last/,
    ],
    [
      'an array of literals',
      () =>
        stream((w) =>
          w.block(TOP, 13, 4, (b) => b.fixed(2, 4).vbr(3, 5).fixed(1, 1).vbr(1, 8).fixed(0, 1).fixed(3, 3).fixed(1, 1).vbr(7, 8)),
        ),
      /array abbreviation with literal elements/,
    ],
    [
      'a blob that is not last',
      () =>
        stream((w) =>
          w.block(TOP, 13, 4, (b) => b.fixed(2, 4).vbr(3, 5).fixed(1, 1).vbr(1, 8).fixed(0, 1).fixed(5, 3).fixed(1, 1).vbr(1, 8)),
        ),
      /blob abbreviation operand is not last/,
    ],
    [
      'an unknown operand encoding',
      () => stream((w) => w.block(TOP, 13, 4, (b) => b.fixed(2, 4).vbr(1, 5).fixed(0, 1).fixed(7, 3))),
      /unknown abbreviation operand encoding 7/,
    ],
    [
      'a record claiming 2^40 operands',
      () => stream((w) => w.block(TOP, 13, 4, (b) => b.fixed(3, 4).vbr(1, 6).vbr(2 ** 40, 6))),
      /truncated: needs/,
    ],
    [
      'a VBR longer than 64 bits',
      () => stream((w) => w.block(TOP, 13, 4, (b) => { b.fixed(3, 4); for (let i = 0; i < 14; i++) b.fixed(0x3f, 6); })),
      /longer than 64 bits/,
    ],
    [
      'a block longer than the file',
      () => {
        const bytes = stream(identification);
        new DataView(bytes.buffer).setUint32(8, 0x10000, true); // the IDENTIFICATION block's length word
        return bytes;
      },
      /IDENTIFICATION block at byte 4 is truncated: it declares 262144 bytes/,
    ],
    ['a size that is not a multiple of 4', () => stream(identification).subarray(0, 30), /not a multiple of 4/],
    ['a wrapped body without the BC magic', () => wrap(Uint8Array.of(1, 2, 3, 4)), /does not start with the 'BC' 0xC0DE magic/],
    ['only the magic', () => Uint8Array.of(0x42, 0x43, 0xc0, 0xde), /no MODULE block/],
  ])('rejects %s', (_name, make, message) => {
    const bytes = make();
    expect(() => inspectBitcode(bytes)).toThrow(BitcodeFormatError);
    expect(() => inspectBitcode(bytes)).toThrow(message);
  });

  it('never hangs or throws anything but BitcodeFormatError on random bitstreams', () => {
    const random = prng(42);
    const started = Date.now();
    for (let i = 0; i < 5000; i++) {
      const length = 4 * Math.floor(random() * 80);
      const tail = Uint8Array.from({ length }, () => Math.floor(random() * 256));
      const raw = new Uint8Array(4 + length);
      raw.set([0x42, 0x43, 0xc0, 0xde]);
      raw.set(tail, 4);
      for (const bytes of [raw, wrap(raw), tail]) {
        typedOutcome(() => readBitcodeProducer(bytes));
        typedOutcome(() => inspectBitcode(bytes));
      }
    }
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
