/** Content detection: every magic, on real files where a tool makes them and on bytes otherwise. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { detectInputKind, type InputKind } from '../../src/inputs';
import { compileC, llvmTool, makeArchive, makeTempDir, writeSource } from '../support/toolchain';

const bytesOf = (...parts: (string | number[])[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));

describe('real files', () => {
  const files: Record<string, string> = {};
  beforeAll(() => {
    const dir = makeTempDir();
    const source = writeSource(dir, 'p.c', 'int f(int x) { return x * 2; }\n');
    files.bc = compileC({ major: 22, source, out: join(dir, 'p.bc'), mode: 'bc' });
    files.flto = compileC({ major: 19, source, out: join(dir, 'p.lto.o'), mode: 'flto' });
    files.obj = compileC({ major: 22, source, out: join(dir, 'p.o'), mode: 'obj' });
    files.ll = compileC({ major: 22, source, out: join(dir, 'p.ll'), mode: 'll' });
    files.gnu = makeArchive(22, join(dir, 'gnu.a'), [files.bc, files.obj]);
    files.bsd = makeArchive(22, join(dir, 'bsd.a'), [files.bc], 'bsd');
    files.thin = join(dir, 'thin.a');
    execFileSync(llvmTool(22, 'llvm-ar'), ['--thin', 'rcs', files.thin, files.bc]);
    // llvm-as output, named like an object: the name must not matter.
    files.asm = join(dir, 'looks-like.o');
    execFileSync(llvmTool(22, 'llvm-as'), [files.ll, '-o', files.asm]);
  });

  it.each<[string, InputKind]>([
    ['bc', 'bitcode'],
    ['flto', 'bitcode'],
    ['asm', 'bitcode'],
    ['obj', 'elf'],
    ['ll', 'ir-text'],
    ['gnu', 'archive'],
    ['bsd', 'archive'],
    ['thin', 'archive'],
  ])('%s → %s', (name, kind) => {
    expect(detectInputKind(new Uint8Array(readFileSync(files[name])))).toBe(kind);
  });
});

describe('magic bytes', () => {
  it.each<[string, Uint8Array, InputKind]>([
    ['ar', bytesOf('!<arch>\n'), 'archive'],
    ['thin ar', bytesOf('!<thin>\n'), 'archive'],
    ['ar without the newline', bytesOf('!<arch>'), 'unknown'],
    ['raw bitcode', bytesOf([0x42, 0x43, 0xc0, 0xde]), 'bitcode'],
    ['bitcode wrapper', bytesOf([0xde, 0xc0, 0x17, 0x0b, 0, 0, 0, 0]), 'bitcode'],
    ['ELF', bytesOf([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), 'elf'],
    ['Mach-O 64 LE', bytesOf([0xcf, 0xfa, 0xed, 0xfe]), 'macho'],
    ['Mach-O 32 LE', bytesOf([0xce, 0xfa, 0xed, 0xfe]), 'macho'],
    ['Mach-O 64 BE', bytesOf([0xfe, 0xed, 0xfa, 0xcf]), 'macho'],
    ['Mach-O 32 BE', bytesOf([0xfe, 0xed, 0xfa, 0xce]), 'macho'],
    ['a 3-byte ELF magic', bytesOf([0x7f, 0x45, 0x4c]), 'unknown'],
    ['a 3-byte bitcode magic', bytesOf([0x42, 0x43, 0xc0]), 'unknown'],
    ['empty', bytesOf(), 'unknown'],
    ['whitespace only', bytesOf(' \n\t'), 'unknown'],
    ['text', bytesOf('hello world\n'), 'unknown'],
    ['a COFF object', bytesOf([0x64, 0x86, 0x01, 0x00]), 'unknown'],
  ])('%s → %s', (_name, bytes, kind) => {
    expect(detectInputKind(bytes)).toBe(kind);
  });
});

describe('LLVM IR text', () => {
  const prefixes = ['; ModuleID', 'source_filename', 'target datalayout', 'target triple', 'define ', 'declare ', '!llvm'];

  it.each(prefixes)('starts with %j, after any leading ASCII whitespace', (prefix) => {
    for (const lead of ['', ' ', '\n\n', '\t \r\n', '\v\f ']) {
      expect(detectInputKind(bytesOf(`${lead}${prefix} = "x"\n`))).toBe('ir-text');
    }
  });

  it.each([
    ['a plain comment', '; just a comment\n'],
    ['a global first', '@x = global i32 0\n'],
    ['a named type first', '%T = type { i32 }\n'],
    ['define without a space', 'definefoo\n'],
    ['a truncated prefix', 'target\n'],
    ['a UTF-8 byte order mark', '\u00ef\u00bb\u00bfdefine void @f() {\n'],
    ['a NUL before the text', '\0define void @f() {\n'],
  ])('is not recognised with %s', (_name, text) => {
    expect(detectInputKind(bytesOf(text))).toBe('unknown');
  });
});
