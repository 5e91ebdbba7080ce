/**
 * readInputs on real files: clang bitcode, IR text, ELF objects with and without .llvmbc,
 * llvm-ar archives, rustc rlibs; and on missing, empty, unknown, truncated and random inputs,
 * which must all end in a LinkError that names the input.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LinkError } from '../../src/errors';
import { readInputs } from '../../src/inputs';
import { createMemoryLogger } from '../../src/log';
import type { LinkInput } from '../../src/options';
import {
  compileC,
  embedBitcodeInElf,
  type LlvmMajor,
  llvmTool,
  makeArchive,
  makeTempDir,
  writeSource,
} from '../support/toolchain';
import { prng } from '../support/prng';

const PROGRAM = `
int helper(int x) { return x * 5; }
int entry(int x) { return helper(x) + 1; }
`;

let dir: string;
const f: Record<string, string> = {};

function clangProducer(major: LlvmMajor): string {
  const text = execFileSync(llvmTool(major, 'clang'), ['--version'], { encoding: 'utf8' });
  return `LLVM${/clang version (\d+\.\d+\.\d+)/.exec(text)![1]}`;
}

const read = (path: string) => new Uint8Array(readFileSync(path));
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/** Runs readInputs and returns the LinkError it throws; fails on success or another error type. */
function linkError(inputs: LinkInput[]): LinkError {
  try {
    readInputs(inputs, createMemoryLogger());
  } catch (e) {
    if (e instanceof LinkError) return e;
    throw new Error(`expected a LinkError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected readInputs to fail');
}

/** An ar archive assembled by hand, for members llvm-ar would refuse to index (corrupt bitcode). */
function handMadeArchive(members: [string, Uint8Array][]): Uint8Array {
  const parts: Buffer[] = [Buffer.from('!<arch>\n')];
  for (const [name, bytes] of members) {
    const header = `${name}/`.padEnd(16) + '0'.padEnd(12) + '0'.padEnd(6) + '0'.padEnd(6) + '644'.padEnd(8) + String(bytes.length).padEnd(10) + '`\n';
    parts.push(Buffer.from(header, 'latin1'), Buffer.from(bytes));
    if (bytes.length % 2) parts.push(Buffer.from('\n'));
  }
  return new Uint8Array(Buffer.concat(parts));
}

beforeAll(() => {
  dir = makeTempDir();
  const source = writeSource(dir, 'program.c', PROGRAM);
  f.bc22 = compileC({ major: 22, source, out: join(dir, 'program22.bc'), mode: 'bc' });
  f.bc19 = compileC({ major: 19, source, out: join(dir, 'program19.bc'), mode: 'bc' });
  f.flto = compileC({ major: 22, source, out: join(dir, 'program_flto_with_a_long_name.o'), mode: 'flto' });
  f.obj = compileC({ major: 22, source, out: join(dir, 'symbols.o'), mode: 'obj' });
  f.ll = compileC({ major: 22, source, out: join(dir, 'program.ll'), mode: 'll' });
  f.embedded = embedBitcodeInElf(22, f.obj, f.bc22, join(dir, 'embedded.o'));
  f.fembed = compileC({ major: 22, source, out: join(dir, 'fembed.o'), mode: 'obj', flags: ['-O2', '-fembed-bitcode'] });
  f.marker = compileC({ major: 22, source, out: join(dir, 'marker.o'), mode: 'obj', flags: ['-O2', '-fembed-bitcode=marker'] });
  f.text = writeSource(dir, 'notes.txt', 'not an object\n');
});

describe('single files', () => {
  it('reads raw bitcode with its producer', () => {
    const logger = createMemoryLogger();
    const result = readInputs([f.bc22, f.bc19], logger);
    expect(result.skipped).toEqual([]);
    expect(result.units.map((u) => [u.origin, u.kind, u.producer])).toEqual([
      [{ file: f.bc22 }, 'bitcode', clangProducer(22)],
      [{ file: f.bc19 }, 'bitcode', clangProducer(19)],
    ]);
    expect(same(result.units[0].bytes, read(f.bc22))).toBe(true);
    expect(logger.lines).toContain(`DEBUG ${f.bc22}: bitcode (producer ${clangProducer(22)})`);
  });

  it('reads clang -flto objects as bitcode whatever the extension', () => {
    const [unit] = readInputs([f.flto], createMemoryLogger()).units;
    expect(unit).toMatchObject({ origin: { file: f.flto }, kind: 'bitcode', producer: clangProducer(22) });
  });

  it('reads LLVM IR text as an ir-text unit without a producer', () => {
    const [unit] = readInputs([f.ll], createMemoryLogger()).units;
    expect(unit.kind).toBe('ir-text');
    expect(unit.producer).toBeUndefined();
    expect(same(unit.bytes, read(f.ll))).toBe(true);
  });

  it('names in-memory inputs in_memory::<name>', () => {
    const result = readInputs([{ name: 'prog.bc', bytes: read(f.bc22) }], createMemoryLogger());
    expect(result.units[0].origin).toEqual({ file: 'in_memory::prog.bc' });
    const error = linkError([{ name: 'junk', bytes: new Uint8Array([1, 2, 3]) }]);
    expect(error.message).toMatch(/^in_memory::junk: invalid input file/);
    expect(error.file).toBe('in_memory::junk');
  });

  it('keeps the order of the inputs', () => {
    const units = readInputs([f.ll, f.bc19, f.embedded, f.bc22], createMemoryLogger()).units;
    expect(units.map((u) => u.origin.file)).toEqual([f.ll, f.bc19, f.embedded, f.bc22]);
  });
});

describe('ELF objects', () => {
  it('takes the .llvmbc section as a bitcode unit equal to the embedded file', () => {
    const [unit] = readInputs([f.embedded], createMemoryLogger()).units;
    expect(unit).toMatchObject({ origin: { file: f.embedded }, kind: 'bitcode', producer: clangProducer(22) });
    expect(same(unit.bytes, read(f.bc22))).toBe(true);
  });

  it('takes the first section named exactly .llvmbc', () => {
    const objcopy = llvmTool(22, 'llvm-objcopy');
    const step1 = join(dir, 'multi1.o');
    const step2 = join(dir, 'multi2.o');
    const out = join(dir, 'multi.o');
    execFileSync(objcopy, ['--add-section', `.llvmbc.old=${f.bc22}`, f.obj, step1]);
    execFileSync(objcopy, ['--add-section', `.llvmbc=${f.bc19}`, step1, step2]);
    execFileSync(objcopy, ['--add-section', `.llvmbc=${f.bc22}`, step2, out]);
    const [unit] = readInputs([out], createMemoryLogger()).units;
    expect(same(unit.bytes, read(f.bc19))).toBe(true);
    expect(unit.producer).toBe(clangProducer(19));
  });

  it('reads clang -fembed-bitcode objects', () => {
    const [unit] = readInputs([f.fembed], createMemoryLogger()).units;
    expect(unit).toMatchObject({ kind: 'bitcode', producer: clangProducer(22) });
  });

  it('rejects the empty .llvmbc of -fembed-bitcode=marker as NO_BITCODE', () => {
    const error = linkError([f.marker]);
    expect(error.code).toBe('NO_BITCODE');
    expect(error.file).toBe(f.marker);
    expect(error.message).toBe(`${f.marker}: the .llvmbc section of this ELF object is empty (built with -fembed-bitcode=marker?)`);
    expect(error.hint).toMatch(/-fembed-bitcode=all/);
  });

  it('skips an ELF object without .llvmbc with a warning', () => {
    const logger = createMemoryLogger();
    const result = readInputs([f.obj, f.bc22], logger);
    expect(result.units.map((u) => u.origin.file)).toEqual([f.bc22]);
    expect(result.skipped).toEqual([{ origin: { file: f.obj }, reason: "ELF object without a .llvmbc section (e.g. rustc's symbols.o)" }]);
    expect(logger.lines).toContain(`WARN ${f.obj}: ELF object without a .llvmbc section (e.g. rustc's symbols.o): skipped`);
  });

  it('reports a .llvmbc section that does not hold bitcode as corrupt', () => {
    const out = join(dir, 'bad-llvmbc.o');
    execFileSync(llvmTool(22, 'llvm-objcopy'), ['--add-section', `.llvmbc=${f.text}`, f.obj, out]);
    const error = linkError([out]);
    expect(error.code).toBe('CORRUPT_INPUT');
    expect(error.message).toBe(`${out}: the .llvmbc section of this ELF object does not hold LLVM bitcode`);
  });

  it('skips Mach-O objects with an info line', () => {
    const logger = createMemoryLogger();
    const macho = new Uint8Array([0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1]);
    const result = readInputs([{ name: 'lib.rmeta.o', bytes: macho }], logger);
    expect(result.units).toEqual([]);
    expect(result.skipped).toEqual([{ origin: { file: 'in_memory::lib.rmeta.o' }, reason: 'Mach-O object' }]);
    expect(logger.lines).toContain('INFO in_memory::lib.rmeta.o: Mach-O object: skipped');
  });
});

describe('archives', () => {
  it('links every member in order, with member names, and skips what is not code', () => {
    const dataFile = writeSource(dir, 'data_file_with_long_name.txt', 'plain data\n');
    const archive = makeArchive(22, join(dir, 'mixed.a'), [f.bc22, f.flto, f.ll, f.obj, dataFile, f.embedded]);
    const logger = createMemoryLogger();
    const result = readInputs([archive], logger);
    expect(result.units.map((u) => [u.origin, u.kind])).toEqual([
      [{ file: archive, member: 'program22.bc' }, 'bitcode'],
      [{ file: archive, member: 'program_flto_with_a_long_name.o' }, 'bitcode'],
      [{ file: archive, member: 'program.ll' }, 'ir-text'],
      [{ file: archive, member: 'embedded.o' }, 'bitcode'],
    ]);
    expect(same(result.units[1].bytes, read(f.flto))).toBe(true);
    expect(same(result.units[3].bytes, read(f.bc22))).toBe(true);
    expect(result.skipped.map((s) => s.origin.member)).toEqual(['symbols.o', 'data_file_with_long_name.txt']);
    expect(logger.lines).toContain(`WARN ${archive}(symbols.o): ELF object without a .llvmbc section (e.g. rustc's symbols.o): skipped`);
    expect(logger.lines).toContain(`INFO ${archive}(data_file_with_long_name.txt): not LLVM bitcode, LLVM IR or an ELF object: skipped`);
  });

  it('reads BSD archives the same way', () => {
    const archive = makeArchive(19, join(dir, 'bsd.a'), [f.bc19, f.flto], 'bsd');
    const units = readInputs([archive], createMemoryLogger()).units;
    expect(units.map((u) => u.origin.member)).toEqual(['program19.bc', 'program_flto_with_a_long_name.o']);
    expect(units.map((u) => u.producer)).toEqual([clangProducer(19), clangProducer(22)]);
  });

  it('skips an rlib-like lib.rmeta ELF member (info: rustc always passes rlibs)', () => {
    const rlibDir = join(dir, 'rlib');
    mkdirSync(rlibDir, { recursive: true });
    const rmeta = join(rlibDir, 'lib.rmeta');
    writeFileSync(rmeta, readFileSync(f.obj));
    const archive = makeArchive(22, join(dir, 'libfake.rlib'), [rmeta, f.bc22]);
    const logger = createMemoryLogger();
    const result = readInputs([archive], logger);
    expect(result.units.map((u) => u.origin.member)).toEqual(['program22.bc']);
    expect(result.skipped).toEqual([{ origin: { file: archive, member: 'lib.rmeta' }, reason: 'rustc metadata (lib.rmeta), not code' }]);
    expect(logger.lines).toContain(`INFO ${archive}(lib.rmeta): rustc metadata (lib.rmeta), not code: skipped`);
  });

  it('reads a real rustc rlib: the codegen units, not lib.rmeta', (ctx) => {
    ctx.skip(!existsSync('/usr/bin/rustc'), '/usr/bin/rustc is not installed');
    ctx.skip(!existsSync('/usr/lib/rustlib/bpfel-unknown-none/lib'), 'no bpfel-unknown-none sysroot in /usr/lib/rustlib');
    const lib = writeSource(dir, 'dep.rs', '#![no_std]\n#[no_mangle]\npub extern "C" fn dep_add(a: u32) -> u32 { a + 1 }\n');
    const rlib = join(dir, 'libdep.rlib');
    execFileSync('/usr/bin/rustc', ['--target', 'bpfel-unknown-none', '--crate-type', 'rlib', '-C', 'panic=abort', lib, '-o', rlib], {
      stdio: 'pipe',
    });
    const logger = createMemoryLogger();
    const result = readInputs([rlib], logger);
    expect(result.units.length).toBeGreaterThan(0);
    for (const unit of result.units) {
      expect(unit.origin.member).toMatch(/\.rcgu\.o$/);
      expect(unit.kind).toBe('bitcode');
      expect(unit.producer).toMatch(/^LLVM\d+\.\d+\.\d+/);
    }
    expect(result.skipped.map((s) => s.origin.member)).toEqual(['lib.rmeta']);
    expect(logger.lines.filter((l) => l.startsWith('WARN'))).toEqual([]);
    expect(logger.lines).toContain(`INFO ${rlib}(lib.rmeta): rustc metadata (lib.rmeta), not code: skipped`);
  });

  it('rejects an archive inside an archive, naming both', () => {
    const inner = makeArchive(22, join(dir, 'inner.a'), [f.bc22]);
    const outer = makeArchive(22, join(dir, 'outer.a'), [f.bc19, inner]);
    const error = linkError([outer]);
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.file).toBe(outer);
    expect(error.member).toBe('inner.a');
    expect(error.message).toBe(`${outer}(inner.a): invalid input: an archive inside an archive`);
  });

  it('rejects a thin archive as INVALID_INPUT', () => {
    const thin = join(dir, 'thin.a');
    execFileSync(llvmTool(22, 'llvm-ar'), ['--thin', 'rcs', thin, f.bc22]);
    const error = linkError([thin]);
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toMatch(new RegExp(`^${thin}: thin archives`));
  });

  it('reports a corrupt bitcode member with the archive and the member', () => {
    const bitcode = read(f.bc22);
    const archive = handMadeArchive([
      ['good.bc', bitcode],
      ['cut.bc', bitcode.subarray(0, 600)],
    ]);
    const error = linkError([{ name: 'lib.a', bytes: archive }]);
    expect(error.code).toBe('CORRUPT_INPUT');
    expect(error.file).toBe('in_memory::lib.a');
    expect(error.member).toBe('cut.bc');
    expect(error.message).toMatch(/^in_memory::lib\.a\(cut\.bc\): corrupt LLVM bitcode: MODULE block at byte \d+ is truncated/);
  });

  it('reports a damaged archive as CORRUPT_INPUT', () => {
    const bytes = read(makeArchive(22, join(dir, 'whole.a'), [f.bc22]));
    const error = linkError([{ name: 'cut.a', bytes: bytes.subarray(0, 300) }]);
    expect(error.code).toBe('CORRUPT_INPUT');
    expect(error.message).toMatch(
      /^in_memory::cut\.a: corrupt ar archive: member "program22\.bc\/" at offset \d+ is truncated: its size is \d+ bytes but only \d+ remain$/,
    );
  });
});

describe('unusable inputs', () => {
  it('reports a missing file as INPUT_NOT_FOUND with a hint', () => {
    const missing = join(dir, 'nope.o');
    const error = linkError([f.bc22, missing]);
    expect(error.code).toBe('INPUT_NOT_FOUND');
    expect(error.file).toBe(missing);
    expect(error.message).toBe(`${missing}: no such file`);
    expect(error.hint).toBe('check the path');
    expect(linkError(['relative/nope.o']).hint).toMatch(/relative paths are resolved against \//);
  });

  it('reports a directory as INPUT_UNREADABLE', () => {
    const error = linkError([dir]);
    expect(error.code).toBe('INPUT_UNREADABLE');
    expect(error.message).toBe(`${dir}: is a directory, not an input file`);
  });

  it('reports an empty file as INVALID_INPUT', () => {
    const empty = writeSource(dir, 'empty.o', '');
    const error = linkError([empty]);
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toBe(`${empty}: invalid input file: empty file`);
  });

  it('reports an unknown file as INVALID_INPUT with a hint', () => {
    const error = linkError([f.text]);
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.file).toBe(f.text);
    expect(error.message).toBe(`${f.text}: invalid input file: not LLVM bitcode, LLVM IR, an ELF object with .llvmbc or an ar archive`);
    expect(error.hint).toMatch(/ar archive of these/);
  });
});


/** readInputs's outcome: a result or a LinkError naming `file`; anything else fails. */
function outcome(name: string, bytes: Uint8Array): 'ok' | LinkError {
  try {
    readInputs([{ name, bytes }], createMemoryLogger());
    return 'ok';
  } catch (e) {
    if (!(e instanceof LinkError)) throw new Error(`${name}: expected a LinkError, got ${String(e)}`, { cause: e });
    expect(e.message, name).toContain(`in_memory::${name}`);
    expect(e.file, name).toBe(`in_memory::${name}`);
    return e;
  }
}

describe('damaged and random input', () => {
  const wrap = (body: Uint8Array) => {
    const out = new Uint8Array(20 + body.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, 0x0b17c0de, true);
    view.setUint32(8, 20, true);
    view.setUint32(12, body.length, true);
    out.set(body, 20);
    return out;
  };

  it('reports every truncation of bitcode, wrapped bitcode and ELF as a LinkError naming the input', () => {
    const kinds: Record<string, Uint8Array> = {
      bitcode: read(f.flto),
      wrapper: wrap(read(f.bc19)),
      elf: read(f.embedded),
    };
    for (const [kind, bytes] of Object.entries(kinds)) {
      expect(outcome(kind, bytes)).toBe('ok');
      for (let end = 0; end < bytes.length; end++) {
        expect(outcome(`${kind}-cut-${end}`, bytes.subarray(0, end)), `${kind} cut at ${end}`).toBeInstanceOf(LinkError);
      }
    }
  });

  it('reports every truncation of an archive as a LinkError, except cuts between members', () => {
    const bytes = read(makeArchive(22, join(dir, 'cut.a'), [f.bc22, f.flto, f.ll]));
    const boundaries: number[] = [];
    for (let end = 0; end < bytes.length; end++) {
      if (outcome(`archive-cut-${end}`, bytes.subarray(0, end)) === 'ok') boundaries.push(end);
    }
    // The only complete prefixes: the magic, and after the symbol table, the name table and
    // each member (a cut can also drop an odd member's trailing padding byte).
    expect(boundaries.length).toBeGreaterThan(0);
    expect(boundaries.length).toBeLessThanOrEqual(1 + 2 * 5);
  });

  it('names a truncated file on disk in the error', () => {
    const bytes = read(f.bc22);
    for (const end of [3, 4, 17, 40, 100, 1000, bytes.length - 4]) {
      const path = join(dir, `truncated-${end}.bc`);
      writeFileSync(path, bytes.subarray(0, end));
      const error = linkError([path]);
      expect(error.file).toBe(path);
      expect(error.message.startsWith(`${path}: `)).toBe(true);
    }
  });

  it('never throws anything but a LinkError on random bytes behind every magic', () => {
    const random = prng(7);
    const magics = [[], [0x42, 0x43, 0xc0, 0xde], [0xde, 0xc0, 0x17, 0x0b], [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], [...Buffer.from('!<arch>\n')]];
    for (let i = 0; i < 4000; i++) {
      const magic = magics[i % magics.length];
      const tail = Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256));
      outcome(`random-${i}`, new Uint8Array([...magic, ...tail]));
    }
  });

  it('never throws anything but a LinkError on damaged real inputs', () => {
    const random = prng(11);
    const sources = [read(f.bc22), read(f.embedded), read(makeArchive(22, join(dir, 'fuzz.a'), [f.bc22, f.flto]))];
    for (let i = 0; i < 3000; i++) {
      const bytes = sources[i % sources.length].slice();
      for (let n = 1 + Math.floor(random() * 3); n > 0; n--) {
        const at = random() < 0.5 ? Math.floor(random() * 128) : Math.floor(random() * bytes.length);
        bytes[at] = Math.floor(random() * 256);
      }
      outcome(`damaged-${i}`, bytes);
    }
  });
});
