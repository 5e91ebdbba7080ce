/**
 * The bpf-turbo executable as turbo runs it (the esbuild bundle, a real clang and linker): exit
 * codes, one-line errors with hints and no stack traces, a real build, and a generators bundle
 * that @turbo/gen can load without native code.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBpfObject } from '@bpf-linker/core';
import { tempDir, tempMonorepo } from './support';

const PKG = join(import.meta.dirname, '..');
// A private build: the e2e tests build and pack dist/ at the same time.
// Inside the package, so Node finds koffi (kept external) as it does for dist/.
const OUT = mkdtempSync(join(PKG, '.test-dist-'));
const BIN = join(OUT, 'bpf-turbo.cjs');

beforeAll(() => {
  execFileSync(process.execPath, ['build.mjs', '--outdir', OUT], { cwd: PKG, stdio: 'pipe' });
}, 120_000);
afterAll(() => rmSync(OUT, { recursive: true, force: true }));

function run(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const PROGRAM = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int pass(struct xdp_md *ctx) { return XDP_PASS; }
char LICENSE[] SEC("license") = "GPL";
`;

const repo = () =>
  tempMonorepo({
    'package.json': { name: 'm', private: true, workspaces: ['packages/*'] },
    'packages/p/package.json': { name: 'p' },
    'packages/p/bpf.config.json': { programs: [{ name: 'p', sources: ['src/*.c'] }] },
    'packages/p/src/p.c': PROGRAM,
  });

describe('bpf-turbo', () => {
  it('prints help and version; an unknown command or option is one error with a hint', () => {
    const help = run(['--help'], tmpdir());
    expect(help.status).toBe(0);
    for (const c of ['init [--check]', 'pin [--check]', 'doctor [--json]', 'build [--verbose]', 'verify [args]', 'inspect [args]']) expect(help.stdout).toContain(c);
    expect(run([], tmpdir()).status).toBe(1);
    expect(run(['--version'], tmpdir()).stdout).toMatch(/^bpf-turbo \d+\.\d+\.\d+ \(bpf-linker \d+\.\d+\.\d+\)\n$/);
    const unknown = run(['frob'], tmpdir());
    expect(unknown).toMatchObject({ status: 1, stderr: "error: unknown command 'frob'\n  hint: bpf-turbo --help lists the commands\n" });
    const option = run(['init', '--nope'], tmpdir());
    expect(option.status).toBe(1);
    expect(option.stderr).toMatch(/^error: Unknown option '--nope'.*\n  hint: bpf-turbo --help lists the options\n$/);
  });

  it('outside a monorepo, in its root, or without a pin: exit 1, the file and the fix, nothing built', () => {
    const outside = run(['build'], tempDir());
    expect(outside.status).toBe(1);
    expect(outside.stderr).toMatch(/^error: no monorepo root above \S+: no package.json with "workspaces" and no pnpm-workspace.yaml\n  hint: run bpf-turbo inside a Turborepo monorepo/);
    const root = repo();
    const atRoot = run(['build'], root);
    expect(atRoot.stderr).toContain(`error: ${root} is not inside a workspace package of ${root}`);
    const noPin = run(['build'], join(root, 'packages/p'));
    expect(noPin.status).toBe(1);
    expect(noPin.stderr).toContain(".bpf-toolchain.json does not describe this machine's BPF toolchain");
    expect(noPin.stderr).toContain('.bpf-toolchain.json is missing or not valid JSON');
    expect(noPin.stderr).toContain('hint: run `npx bpf-turbo pin`');
    expect(`${noPin.stdout}${noPin.stderr}`).not.toMatch(/\n\s+at \S+ \(/);
    expect(existsSync(join(root, 'packages/p/dist'))).toBe(false);
  });

  it('pins, builds a real object from the package directory, and refuses a broken config by name', () => {
    const root = repo();
    expect(run(['pin'], root)).toMatchObject({ status: 0, stdout: expect.stringContaining('wrote .bpf-toolchain.json') });
    expect(run(['pin', '--check'], root)).toMatchObject({ status: 0, stdout: '.bpf-toolchain.json is up to date\n' });
    const built = run(['build'], join(root, 'packages/p/src'));
    expect(built.stderr).toBe('');
    expect(built.status).toBe(0);
    expect(built.stdout).toMatch(/compile packages\/p\/src\/p\.c\nlink packages\/p\/dist\/bpf\/p\.o\n {2}dist\/bpf\/p\.o: pass \(xdp\), BTF, \d+ bytes, LLVM \d+\.\d+/);
    const obj = readBpfObject(readFileSync(join(root, 'packages/p/dist/bpf/p.o')));
    expect(obj.programs.map((p) => [p.name, p.section])).toEqual([['pass', 'xdp']]);
    expect(obj.btf).toBeDefined();

    execFileSync('sh', ['-c', `printf '{ "programs": [ { "name": 1 } ] }' > ${join(root, 'packages/p/bpf.config.json')}`]);
    const broken = run(['build'], join(root, 'packages/p'));
    expect(broken.status).toBe(1);
    expect(broken.stderr).toMatch(/^error: .*packages\/p\/bpf\.config\.json/);
  });

  it('inspect takes every object of a package, one run each', () => {
    const root = tempMonorepo({
      'package.json': { name: 'm', private: true, workspaces: ['packages/*'] },
      'packages/p/package.json': { name: 'p' },
      'packages/p/bpf.config.json': { programs: [{ name: 'one', sources: ['src/p.c'] }, { name: 'two', sources: ['src/p.c'] }] },
      'packages/p/src/p.c': PROGRAM,
    });
    expect(run(['pin'], root).status).toBe(0);
    expect(run(['build'], join(root, 'packages/p'))).toMatchObject({ status: 0, stderr: '' });
    const inspect = run(['inspect'], join(root, 'packages/p'));
    expect(inspect.stderr).toBe('');
    expect(inspect.status).toBe(0);
    expect(inspect.stdout).toContain('dist/bpf/one.o: BPF object');
    expect(inspect.stdout).toContain('dist/bpf/two.o: BPF object');
  });

  it('doctor without turbo installed says how to get it', () => {
    const root = repo();
    const r = run(['doctor'], root, { ...process.env, PATH: '/usr/bin:/bin' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error: `turbo run bpf:build --dry=json` failed: ENOENT');
    expect(r.stderr).toContain('hint: install turbo in the workspace (npm install -D turbo)');
  });

  it('the generators module that @turbo/gen bundles carries no native code', () => {
    const text = readFileSync(join(OUT, 'generators.js'), 'utf8');
    expect(text).not.toContain('koffi');
    // The adapter is loaded by Node from the workspace when an action runs.
    expect(text).toContain('("@bpf-linker/turbo")');
  });
});
