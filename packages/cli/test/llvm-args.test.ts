/**
 * --llvm-args against the real libLLVM: an option that would make LLVM print and exit(0) (a
 * "successful" link with no output), or one this LLVM does not have (LLVM's C API ignores it
 * silently), is an error naming it; real options still reach LLVM.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli';

let dir: string;
let input: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bpfl-llvm-args-'));
  writeFileSync(join(dir, 'p.c'), '__attribute__((section("xdp"), used)) int p(void *c) { return 2; }\nchar _l[] __attribute__((section("license"), used)) = "GPL";\n');
  input = join(dir, 'p.bc');
  execFileSync('/usr/lib/llvm-22/bin/clang', ['-target', 'bpf', '-O2', '-emit-llvm', '-c', join(dir, 'p.c'), '-o', input]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--llvm-args', () => {
  it.each(['-version', '--version', '-help', '--help-hidden', '-help-list', '--print-all-options'])('refuses %s, which would print and exit 0 without an object', (arg) => {
    const out = join(dir, 'x.o');
    const r = runCli([input, '-o', out, `--llvm-args=${arg}`]);
    expect(r).toMatchObject({ status: 1, stdout: '' });
    expect(r.stderr).toBe(`Error: --llvm-args: '${arg}' makes LLVM print and exit instead of linking\n  hint: run it with LLVM's own tools instead (llc-22 --version, llc-22 --help-hidden)\n`);
    expect(existsSync(out)).toBe(false);
  });

  it('an option this LLVM does not have is an error naming it', () => {
    const out = join(dir, 'y.o');
    const r = runCli([input, '-o', out, '--llvm-args=-bpf-stack-size=1024,-unrol-threshold=10']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^Error: --llvm-args: LLVM 22\.\d+\.\d+ \(\S+libLLVM\S+\) has no option '-unrol-threshold=10'\n {2}hint: check the spelling \(llc-22 --help-hidden lists the options\); LLVM would ignore it silently\n$/);
    expect(existsSync(out)).toBe(false);
  });

  it('real options, with and without values, still reach LLVM', () => {
    const out = join(dir, 'z.o');
    const r = runCli([input, '-o', out, '--llvm-args=-bpf-stack-size=1024,-enable-misched=false,-print-after=instcombine']);
    expect(r.status).toBe(0);
    // -print-after dumps the IR after the pass: the options were applied.
    expect(r.stderr).toContain('; *** IR Dump After InstCombinePass on p ***');
    expect(existsSync(out)).toBe(true);
  });
});
