/**
 * Inputs that crash or hang libLLVM itself (found by mutating the seed example's clang-22
 * bitcode; llvm-dis crashes and hangs on them too). LLVM's native code cannot be caught: the
 * crash watcher must name the input and the step, say nothing was written, keep LLVM's raw dump
 * off the terminal, and stop a reader that never returns. Each case is first run with the watcher
 * off: where this LLVM does not crash on it (another version), the assertions are about a clean
 * error instead.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli';

const FIXTURES = fileURLToPath(new URL('./fixtures/corrupt/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'bpfl-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const guardFiles = () => readdirSync(tmpdir()).filter((f) => f.startsWith(`bpf-linker-guard-`));

function expectNamedFailure(input: string, stderr: string, status: number, output: string): void {
  expect(status, stderr).not.toBe(0);
  expect(existsSync(output), 'no output written').toBe(false);
  expect(stderr).toContain(input);
  expect(stderr).not.toMatch(/\n\s+at \S+ \(/);
  expect(stderr.length, 'no raw LLVM dump on the terminal').toBeLessThan(1000);
}

describe.each(['segv-metadata.bc', 'segv-debug-dump.bc'])('an input that crashes libLLVM: %s', (name) => {
  it('is reported by the watcher, naming the input and the step; nothing is written', () => {
    const input = join(FIXTURES, name);
    const output = join(dir, `${name}.o`);
    const unguarded = runCli([input, '--btf', '-o', output], { BPF_LINKER_CRASH_GUARD: '0' });
    const crashes = unguarded.status === -1 || unguarded.status > 128;
    const r = runCli([input, '--btf', '-o', output]);
    expectNamedFailure(input, r.stderr, r.status, output);
    if (crashes) {
      // Without the watcher: a signal and no word (what users saw before).
      expect(unguarded.stderr.includes(input)).toBe(false);
      expect(r.stderr).toMatch(new RegExp(`^error: bpf-linker crashed while reading ${input.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(inside libLLVM \\d+\\.\\d+\\.\\d+\\); nothing was written\\n`));
      expect(r.stderr).toMatch(/\n {2}hint: the input is probably corrupt: rebuild it; if it is not, report this with the file\n$/);
    } else {
      expect(r.status).toBe(1);
    }
  });
});

describe('an input on which libLLVM never returns', () => {
  it('is stopped after the read time limit (2 s + 2 s per started MB), naming the input', () => {
    const input = join(FIXTURES, 'loops-forever.bc');
    const output = join(dir, 'loops.o');
    const started = Date.now();
    const r = runCli([input, '--btf', '-o', output], { BPF_LINKER_READ_TIMEOUT: '2' });
    expect(Date.now() - started).toBeLessThan(30_000);
    expectNamedFailure(input, r.stderr, r.status, output);
    if (r.status === -1 || r.status > 128) {
      expect(r.stderr).toMatch(/^error: bpf-linker stopped after 4 s of reading \S+loops-forever\.bc \(inside libLLVM \d+\.\d+\.\d+\); nothing was written\n/);
    }
  });
});

describe('a module on which LLVM code generation never returns', () => {
  // Two mutated LLVM 19 members of an archive: they link and optimize, then the BPF code
  // generators of LLVM 19 and 22 loop forever (llc-19 and llc-22 do too on the module).
  it('is stopped after the codegen time limit, naming the inputs; nothing is written', () => {
    const input = join(FIXTURES, 'codegen-loops-forever.a');
    const output = join(dir, 'codegen-loops.o');
    const started = Date.now();
    // 2 s, plus 60 s per MB of input bitcode (7 KB here): the message says 2 s.
    const r = runCli([input, '--btf', '-o', output], { BPF_LINKER_CODEGEN_TIMEOUT: '2' });
    expect(Date.now() - started).toBeLessThan(60_000);
    expectNamedFailure(input, r.stderr, r.status, output);
    expect(r.status === -1 || r.status > 128, `status ${r.status}`).toBe(true);
    const esc = input.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    expect(r.stderr).toMatch(
      new RegExp(`^error: bpf-linker stopped after 2 s of generating code for the module linked from ${esc}\\(lib-19\\.bc\\), ${esc}\\(program-19\\.bc\\) \\(inside libLLVM \\d+\\.\\d+\\.\\d+\\); nothing was written\\n`),
    );
    expect(r.stderr).toContain(
      '\n  hint: LLVM did not finish: it loops forever on some modules (an LLVM bug: a corrupt input, or an unusual one); if the program is just very large, raise BPF_LINKER_CODEGEN_TIMEOUT (seconds; the limit was 2), else try another libLLVM (--llvm-path)\n',
    );
  });
});

describe('a function with prefix data', () => {
  // A bit flip gave `define i32 @twice(...) prefix i1 true`: LLVM writes the byte in front of the
  // function, .text is 25 bytes and libbpf refuses the object. The link used to succeed.
  it('is refused before code generation, naming the input and the function', () => {
    const input = join(FIXTURES, 'prefix-data.bc');
    const output = join(dir, 'prefix.o');
    const r = runCli([input, '--btf', '-o', output]);
    expect(r.status).toBe(1);
    expect(existsSync(output)).toBe(false);
    expect(r.stderr).toBe(
      `Error: ${input}: function 'twice' has prefix data (\`prefix\` in its IR definition); a BPF function can hold only instructions, and libbpf cannot load an object with data in .text\n` +
        '  hint: the file is corrupt or was not produced by clang/rustc for BPF; rebuild it without prefix data\n',
    );
  });
});

describe('the watcher', () => {
  it('removes journals that processes killed with their watcher left behind', () => {
    // A process that has ended: its pid is free (until reused, when the file is simply kept).
    const dead = execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const stale = join(tmpdir(), `bpf-linker-guard-${dead}-teststale.jsonl`);
    const staleStderr = `${stale}.stderr`;
    const fresh = join(tmpdir(), `bpf-linker-guard-${dead}-testfresh.jsonl`);
    const alive = join(tmpdir(), `bpf-linker-guard-${process.pid}-testalive.jsonl`);
    const old = new Date(Date.now() - 5 * 60_000);
    for (const f of [stale, staleStderr, fresh, alive]) writeFileSync(f, '{"step":"reading"}\n');
    for (const f of [stale, staleStderr, alive]) utimesSync(f, old, old);
    try {
      const r = runCli([join(FIXTURES, 'prefix-data.bc'), '-o', join(dir, 'sweep.o')]);
      expect(r.status).toBe(1);
      const deadline = Date.now() + 5_000;
      while (existsSync(stale) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      expect(existsSync(stale), 'an old journal of a dead process').toBe(false);
      expect(existsSync(staleStderr), "its native stderr file").toBe(false);
      expect(existsSync(fresh), 'a journal less than a minute old (its watcher may still read it)').toBe(true);
      expect(existsSync(alive), 'a journal of a live process').toBe(true);
    } finally {
      for (const f of [stale, staleStderr, fresh, alive]) rmSync(f, { force: true });
    }
  });


  it('says nothing and leaves nothing behind when a link succeeds or fails cleanly', () => {
    const r = runCli([join(FIXTURES, 'does-not-exist.bc'), '-o', join(dir, 'x.o')]);
    expect(r.status).toBe(1);
    expect(r.stderr.split('\n').filter((l) => /^(error|Error):/.test(l))).toHaveLength(1);
    expect(r.stderr).not.toContain('crashed');
    // The watcher removes its journal when the process ends (it may take a moment). Only this
    // process's files count: other test files run links at the same time.
    const mine = () => guardFiles().filter((f) => f.startsWith(`bpf-linker-guard-${r.pid}-`));
    const deadline = Date.now() + 5_000;
    while (mine().length > 0 && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    expect(mine()).toEqual([]);
  });
});

describe('inputs without bitcode', () => {
  it('the error names each skipped input and why it was skipped', () => {
    const obj = join(dir, 'plain.o');
    execFileSync('/usr/lib/llvm-22/bin/clang', ['-target', 'bpf', '-O2', '-c', '-x', 'c', '-', '-o', obj], { input: 'int x;\n' });
    const r = runCli([obj, '-o', join(dir, 'nb.o')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`\nError: none of the inputs contains LLVM bitcode or IR: skipped ${obj.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(.+\\)\\n`));
  });
});
