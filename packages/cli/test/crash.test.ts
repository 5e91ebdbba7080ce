/**
 * Inputs that crash or hang libLLVM itself (found by mutating the seed example's clang-22
 * bitcode; llvm-dis crashes and hangs on them too). LLVM's native code cannot be caught: the
 * crash watcher must name the input and the step, say nothing was written, keep LLVM's raw dump
 * off the terminal, and stop a reader that never returns. Each case is first run with the watcher
 * off: where this LLVM does not crash on it (another version), the assertions are about a clean
 * error instead.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
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

describe('the watcher', () => {
  it('says nothing and leaves nothing behind when a link succeeds or fails cleanly', () => {
    const before = guardFiles().length;
    const r = runCli([join(FIXTURES, 'does-not-exist.bc'), '-o', join(dir, 'x.o')]);
    expect(r.status).toBe(1);
    expect(r.stderr.split('\n').filter((l) => /^(error|Error):/.test(l))).toHaveLength(1);
    expect(r.stderr).not.toContain('crashed');
    // The watcher removes its journal when the process ends (it may take a moment).
    const deadline = Date.now() + 5_000;
    while (guardFiles().length > before && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    expect(guardFiles().length).toBeLessThanOrEqual(before);
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
