/**
 * The ar reader against archives written by real llvm-ar (GNU and BSD variants, both LLVM
 * versions) and rustc, checked against `llvm-ar t`, plus damaged archives.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ArchiveFormatError, isArchive, isThinArchive, readArchiveMembers } from '../../src/inputs';
import { compileC, LLVM_MAJORS, llvmTool, makeArchive, makeTempDir, writeSource } from '../support/toolchain';

let dir: string;
/** Members in the order they are archived: bitcode, ELF and text; short, long and odd-sized. */
let memberPaths: string[];

beforeAll(() => {
  dir = makeTempDir();
  const source = writeSource(dir, 'lib.c', 'int lib_count(int k) { return k * 3; }\nint lib_value = 7;\n');
  const other = writeSource(dir, 'other.c', 'int other_function(int k) { return k - 1; }\n');
  memberPaths = [
    compileC({ major: 22, source, out: join(dir, 'lib.bc'), mode: 'bc' }),
    compileC({ major: 22, source: other, out: join(dir, 'a_member_with_a_long_name.bc'), mode: 'flto' }),
    writeSource(dir, 'odd.txt', 'five\n'),
    compileC({ major: 22, source: other, out: join(dir, 'another_long_member_name.o'), mode: 'obj' }),
    writeSource(dir, 'x.txt', 'even'),
  ];
});

function llvmArList(path: string): string[] {
  return execFileSync(llvmTool(22, 'llvm-ar'), ['t', path], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1);

describe('archives written by llvm-ar', () => {
  for (const major of LLVM_MAJORS) {
    for (const format of ['gnu', 'bsd'] as const) {
      it(`reads every ${format} member of llvm-ar-${major} in order, with exact names and bytes`, () => {
        const archive = makeArchive(major, join(dir, `lib-${format}-${major}.a`), memberPaths, format);
        const bytes = new Uint8Array(readFileSync(archive));
        // The symbol table is really there, so leaving it out is really tested.
        expect(Buffer.from(bytes).includes(format === 'gnu' ? '!<arch>\n/ ' : '__.SYMDEF')).toBe(true);

        const members = readArchiveMembers(bytes);
        expect(members.map((m) => m.name)).toEqual(memberPaths.map(basename));
        expect(members.map((m) => m.name)).toEqual(llvmArList(archive));
        members.forEach((m, i) => {
          expect(Buffer.from(m.bytes).equals(readFileSync(memberPaths[i])), m.name).toBe(true);
        });
      });
    }
  }

  it('reads a real rustc rlib: lib.rmeta and the codegen unit', (ctx) => {
    ctx.skip(!existsSync('/usr/bin/rustc'), '/usr/bin/rustc is not installed');
    ctx.skip(!existsSync('/usr/lib/rustlib/bpfel-unknown-none/lib'), 'no bpfel-unknown-none sysroot in /usr/lib/rustlib');
    const lib = writeSource(dir, 'dep.rs', '#![no_std]\n#[no_mangle]\npub extern "C" fn dep_add(a: u32) -> u32 { a + 1 }\n');
    const rlib = join(dir, 'libdep.rlib');
    execFileSync('/usr/bin/rustc', ['--target', 'bpfel-unknown-none', '--crate-type', 'rlib', '-C', 'panic=abort', lib, '-o', rlib], {
      stdio: 'pipe',
    });
    const members = readArchiveMembers(new Uint8Array(readFileSync(rlib)));
    expect(members.map((m) => m.name)).toEqual(llvmArList(rlib));
    expect(members[0].name).toBe('lib.rmeta');
    expect(members.some((m) => /\.rcgu\.o$/.test(m.name))).toBe(true);
  });

  it('rejects a thin archive and says why', () => {
    const thin = join(dir, 'thin.a');
    execFileSync(llvmTool(22, 'llvm-ar'), ['--thin', 'rcs', thin, ...memberPaths], { stdio: 'pipe' });
    const bytes = new Uint8Array(readFileSync(thin));
    expect(isThinArchive(bytes)).toBe(true);
    expect(isArchive(bytes)).toBe(false);
    let error: unknown;
    try {
      readArchiveMembers(bytes);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ArchiveFormatError);
    expect((error as ArchiveFormatError).unsupported).toBe(true);
    expect((error as Error).message).toMatch(/thin archives .* are not supported/);
  });

  it('reports every truncation as ArchiveFormatError unless it falls on a member boundary', () => {
    for (const format of ['gnu', 'bsd'] as const) {
      const bytes = new Uint8Array(readFileSync(makeArchive(22, join(dir, `cut-${format}.a`), memberPaths, format)));
      const full = readArchiveMembers(bytes);
      for (let end = 0; end < bytes.length; end++) {
        let members;
        try {
          members = readArchiveMembers(bytes.subarray(0, end));
        } catch (e) {
          expect(e, `${format} cut at ${end}`).toBeInstanceOf(ArchiveFormatError);
          continue;
        }
        // A cut between members leaves a shorter, valid archive: it must be a prefix.
        expect(members.map((m) => m.name)).toEqual(full.slice(0, members.length).map((m) => m.name));
        members.forEach((m, i) => expect(Buffer.from(m.bytes).equals(Buffer.from(full[i].bytes))).toBe(true));
      }
    }
  });
});

/** A 60-byte header: name, zeros for date/uid/gid/mode, size, terminator. */
function header(name: string, size: number | string, terminator = '`\n'): string {
  return name.padEnd(16) + '0'.padEnd(12) + '0'.padEnd(6) + '0'.padEnd(6) + '644'.padEnd(8) + String(size).padEnd(10) + terminator;
}

const archiveOf = (...parts: string[]) => new Uint8Array(Buffer.from('!<arch>\n' + parts.join(''), 'latin1'));

describe('archive layouts', () => {
  it('reads short GNU names, long names through //, BSD #1/ names and skips all symbol tables', () => {
    const names = 'first_long_member_name.o/\nsecond_long_member_name.o/\n';
    const bytes = archiveOf(
      header('/', 4),
      '\0\0\0\0',
      header('//', names.length),
      names + '\n', // 53 bytes: padded
      header('short.o/', 3),
      'abc\n', // odd size: one padding byte
      header('/26', 2),
      'xy',
      header('/0', 1),
      'z\n',
      header('#1/12', 12 + 2),
      'bsd_name.o\0\0',
      'hi',
      header('__.SYMDEF SORTED', 0),
      header('with space.o/', 0),
      header('plain', 5),
      'plain', // odd and last: the padding byte may be missing
    );
    expect(readArchiveMembers(bytes).map((m) => [m.name, Buffer.from(m.bytes).toString('latin1')])).toEqual([
      ['short.o', 'abc'],
      ['second_long_member_name.o', 'xy'],
      ['first_long_member_name.o', 'z'],
      ['bsd_name.o', 'hi'],
      ['with space.o', ''],
      ['plain', 'plain'],
    ]);
  });

  it('reads an empty archive as no members', () => {
    expect(readArchiveMembers(archiveOf())).toEqual([]);
  });

  it.each<[string, Uint8Array, RegExp]>([
    ['bad magic', new Uint8Array(Buffer.from('!<arch>x')), /not an ar archive/],
    ['a short header', archiveOf(header('a.o/', 1).slice(0, 10)), /member header at offset 8 is truncated \(10 of 60 bytes\)/],
    ['a bad terminator', archiveOf(header('a.o/', 1, 'XX'), 'a'), /member header at offset 8 does not end with/],
    ['a non-numeric size', archiveOf(header('a.o/', '12a'), 'a'), /member header at offset 8 has an invalid size field "12a"/],
    ['data past the end', archiveOf(header('a.o/', 100), 'abc'), /member "a\.o\/" at offset 8 is truncated: its size is 100 bytes but only 3 remain/],
    ['a long name without a name table', archiveOf(header('/0', 1), 'a'), /refers to long name \/0 before any name table/],
    ['a long name outside the table', archiveOf(header('//', 4), 'a/\n\n', header('/9', 1), 'a'), /refers to long name \/9 outside the 4-byte name table/],
    ['a BSD name longer than the member', archiveOf(header('#1/20', 4), 'abcd'), /invalid BSD name length "#1\/20"/],
  ])('rejects %s', (_name, bytes, message) => {
    expect(() => readArchiveMembers(bytes)).toThrow(ArchiveFormatError);
    expect(() => readArchiveMembers(bytes)).toThrow(message);
  });

  it('keeps symbol-table-like names only when they are real members', () => {
    // "/" alone is the symbol table; "x/" is a member named "x".
    const bytes = archiveOf(header('/', 0), header('x/', 0));
    expect(readArchiveMembers(bytes).map((m) => m.name)).toEqual(['x']);
  });
});
