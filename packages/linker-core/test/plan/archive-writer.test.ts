/** The ar writer: read back by our reader and by real llvm-ar, deterministic, and linkable. */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readArchiveMembers } from '../../src/inputs/archive';
import { writeArchive } from '../../src/plan';
import { compileC, llvmTool, makeTempDir, writeSource } from '../support/toolchain';

const bytes = (text: string) => new Uint8Array(Buffer.from(text));

describe('writeArchive', () => {
  const members = [
    { name: 'a.bc', bytes: bytes('odd') },
    { name: 'src/a_member_with_a_long_name.bc', bytes: bytes('even') },
    { name: 'b.bc', bytes: new Uint8Array(0) },
    { name: 'another_long_member_name.bc', bytes: bytes('x') },
  ];

  it('round-trips through the reader, long names included, in order', () => {
    const back = readArchiveMembers(writeArchive(members));
    expect(back.map((m) => [m.name, Buffer.from(m.bytes).toString()])).toEqual([
      ['a.bc', 'odd'],
      ['a_member_with_a_long_name.bc', 'even'],
      ['b.bc', ''],
      ['another_long_member_name.bc', 'x'],
    ]);
  });

  it('is deterministic and readable by llvm-ar (listing and extraction)', () => {
    expect(Buffer.from(writeArchive(members)).equals(Buffer.from(writeArchive(members)))).toBe(true);
    const dir = makeTempDir('bpfl-ar-');
    const path = join(dir, 'lib.a');
    writeFileSync(path, writeArchive(members));
    const listed = execFileSync(llvmTool(22, 'llvm-ar'), ['tv', path], { encoding: 'utf8' });
    expect(listed.split('\n').filter(Boolean).map((l) => l.split(/\s+/).pop())).toEqual(['a.bc', 'a_member_with_a_long_name.bc', 'b.bc', 'another_long_member_name.bc']);
    expect(listed).toContain('rw-r--r-- 0/0');
    execFileSync(llvmTool(22, 'llvm-ar'), ['x', path, 'a_member_with_a_long_name.bc'], { cwd: dir });
    expect(readFileSync(join(dir, 'a_member_with_a_long_name.bc'), 'utf8')).toBe('even');
  });

  it('makes an archive of clang bitcode that llvm-link accepts', () => {
    const dir = makeTempDir('bpfl-ar-');
    const bc = compileC({ major: 22, source: writeSource(dir, 'lib.c', 'int lib_twice(int x) { return 2 * x; }\n'), out: join(dir, 'lib.bc'), mode: 'bc' });
    const archive = join(dir, 'liblib.a');
    writeFileSync(archive, writeArchive([{ name: 'lib.bc', bytes: readFileSync(bc) }]));
    const ir = execFileSync(llvmTool(22, 'llvm-link'), [archive, '-S', '-o', '-'], { encoding: 'utf8' });
    expect(ir).toMatch(/define .*i32 @lib_twice\(/);
  });
});
