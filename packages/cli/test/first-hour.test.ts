/**
 * Mistakes a new user makes, each answered by one clear message (issue 16, part 6): a mistyped
 * command, a missing object for verify, and an LLVM that is too old. The built CLI, real files.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileC, makeTempDir } from '../../linker-core/test/support/toolchain';
import { CLI, runCli } from './support/cli';

describe('a new user\'s mistakes', () => {
  it("'veriffy' is taken for 'verify' when no file has that name", () => {
    const r = runCli(['veriffy', 'prog.o']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("Error: unknown command 'veriffy' (and no file of that name)\n  hint: did you mean 'verify'? (bpf-linker verify --help); a file of that name would be linked\n");
  });

  it('a file named like a mistyped command is still an input', () => {
    const dir = makeTempDir('bpfl-first-hour-');
    try {
      writeFileSync(join(dir, 'inspekt'), 'not bitcode');
      const r = spawnSync(process.execPath, [CLI, 'inspekt', '-o', join(dir, 'out.o')], { cwd: dir, encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stderr).not.toContain('unknown command');
      expect(r.stderr).toContain('inspekt');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('verify on a missing file says so in words', () => {
    const r = runCli(['verify', '/nonexistent/prog.o']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^Error: cannot read \/nonexistent\/prog\.o: no such file or directory\n/);
  });

  it.skipIf(!existsSync('/usr/lib/llvm-14/lib/libLLVM-14.so'))('BPF_LINKER_LLVM at LLVM 14: too old, and which versions work', () => {
    const dir = makeTempDir('bpfl-old-llvm-');
    try {
      const bc = compileC({ major: 19, source: join(__dirname, '../../../examples/seed/lib.c'), out: join(dir, 'lib.bc'), mode: 'bc' });
      const r = runCli([bc, '-o', join(dir, 'lib.o')], { BPF_LINKER_LLVM: '/usr/lib/llvm-14/lib/libLLVM-14.so' });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/is libLLVM 14, which is too old: libLLVM 19 to 23 are supported\n {2}hint: install llvm-22/);
      expect(existsSync(join(dir, 'lib.o'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
