/**
 * No command is built as a shell string from user data. A project whose directory holds spaces,
 * quotes and `$(…)` is verified and inspected through the inferred targets without anything being
 * executed; the clang of bpf.config.json reaches the toolchain-identity `runtime` input (which Nx
 * runs with `sh -c`) only as plain characters; the install paths that are quoted for the shell
 * survive `sh -c` intact.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CreateNodesResult, ExecutorContext, TargetConfiguration } from '@nx/devkit';
import { planBuild } from '@bpf-linker/core';
import { createNodes } from '../src/index';
import compileExecutor from '../src/executors/compile/executor';
import inspectExecutor from '../src/executors/inspect/executor';
import linkExecutor from '../src/executors/link/executor';
import verifyExecutor from '../src/executors/verify/executor';
import { clangArg, coreBtfArg, parseIdentityArgs } from '../src/identity-args';
import { identityScript, shellWord } from '../src/paths';
import { inferTargets } from '../src/plugin/targets';
import { normalizeOptions } from '../src/plugin/options';
import { kernelLoadUnavailable } from '../../linker-core/test/support/kernel';
import { tempWorkspace } from './support';

const noKernel = kernelLoadUnavailable();

/** Where a command substitution would leave a file. */
const marks = mkdtempSync(join(tmpdir(), 'bpf-nx-pwned-'));
const ROOT = `apps/odd dir 'q' "dq" \`touch ${marks}/backtick\`; $(touch ${marks}/dollar) & x`;

const XDP = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int odd(struct xdp_md *ctx) { return XDP_PASS; }
char LICENSE[] SEC("license") = "GPL";
`;

let ws: string;
let targets: Record<string, TargetConfiguration>;
let out: string[];

const context = (): ExecutorContext =>
  ({
    root: ws,
    cwd: ws,
    projectName: 'odd',
    isVerbose: false,
    projectsConfigurations: { version: 2, projects: { odd: { root: ROOT } } },
    nxJsonConfiguration: {},
    projectGraph: { nodes: {}, dependencies: {} },
  }) as ExecutorContext;

/** Runs a target as Nx would: our executors, or Nx's own run-commands (which uses a shell). */
async function runTarget(target: TargetConfiguration): Promise<boolean> {
  if (target.executor === 'nx:run-commands') {
    const runCommands = (await import('nx/src/executors/run-commands/run-commands.impl')).default;
    return (await runCommands({ ...target.options, __unparsed__: [] }, context())).success;
  }
  const executors: Record<string, (o: never, c: ExecutorContext) => Promise<{ success: boolean }>> = {
    '@bpf-linker/nx:verify': verifyExecutor,
    '@bpf-linker/nx:inspect': inspectExecutor,
  };
  return (await executors[target.executor!](target.options as never, context())).success;
}

beforeAll(async () => {
  ws = tempWorkspace({
    [`${ROOT}/project.json`]: { name: 'odd' },
    [`${ROOT}/bpf.config.json`]: { programs: [{ name: 'odd', sources: ['src/*.c'] }] },
    [`${ROOT}/src/odd.c`]: XDP,
  });
  const results = (await createNodes[1]([`${ROOT}/bpf.config.json`], {}, { nxJsonConfiguration: {}, workspaceRoot: ws })) as Array<readonly [string, CreateNodesResult]>;
  targets = results[0][1].projects![ROOT].targets!;
  expect(await compileExecutor({}, context())).toEqual({ success: true });
  expect(await linkExecutor({}, context())).toEqual({ success: true });
});

afterEach(() => {
  vi.restoreAllMocks();
});
afterAll(() => {
  for (const dir of [marks, ws]) rmSync(dir, { recursive: true, force: true });
});

function captureOutput(): void {
  out = [];
  const keep = (chunk: unknown) => {
    out.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(keep);
  vi.spyOn(process.stderr, 'write').mockImplementation(keep);
  vi.spyOn(console, 'info').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
}

describe('a project directory with spaces, quotes and $(…)', () => {
  it('inspect shows its object and executes nothing', async () => {
    captureOutput();
    const ok = await runTarget(targets.inspect);
    vi.restoreAllMocks();
    expect(readdirSync(marks)).toEqual([]);
    expect(ok, out.join('')).toBe(true);
    expect(out.join('')).toContain(`${ROOT}/dist/bpf/odd.o`);
    expect(out.join('')).toMatch(/odd\s+xdp/);
  });

  it.skipIf(noKernel)('verify loads its object and executes nothing', async () => {
    captureOutput();
    const ok = await runTarget(targets.verify);
    vi.restoreAllMocks();
    expect(readdirSync(marks)).toEqual([]);
    expect(ok, out.join('')).toBe(true);
    expect(out.join('')).toContain('1 program accepted');
  });

  it('inspect fails, and says why, when the object is missing', async () => {
    const unbuilt = tempWorkspace({ [`${ROOT}/bpf.config.json`]: { programs: [{ name: 'odd', sources: ['src/*.c'] }] }, [`${ROOT}/src/odd.c`]: XDP });
    captureOutput();
    const ok = await inspectExecutor({ programs: ['odd'] }, { ...context(), root: unbuilt });
    vi.restoreAllMocks();
    expect(ok.success).toBe(false);
    expect(out.join('')).toContain(`cannot read ${ROOT}/dist/bpf/odd.o: no such file or directory`);
    expect(readdirSync(marks)).toEqual([]);
  });
});

describe('the toolchain-identity runtime input', () => {
  const HOSTILE = [
    `clang'; touch ${marks}/quote; '`,
    `$(touch ${marks}/subst)`,
    `\`touch ${marks}/backtick\``,
    '/opt/my clang/bin/clang',
    'clang\nnewline',
    '"double" & | > < * ? ~ ! # %PATH% \\',
    'nul\0byte',
    'ünïcödé',
  ];

  it('holds no user data: a plain clang as is, anything else in hex', () => {
    expect(clangArg('clang-19')).toBe('--clang=clang-19');
    expect(clangArg('/usr/lib/llvm-19/bin/clang')).toBe('--clang=/usr/lib/llvm-19/bin/clang');
    for (const clang of HOSTILE) expect(clangArg(clang)).toMatch(/^--clang-hex=[0-9a-f]+$/);
  });

  it.each(HOSTILE)('passes %j through `sh -c` unchanged, executing nothing', (clang) => {
    // A stand-in for the identity script that prints the arguments it got.
    const dir = mkdtempSync(join(tmpdir(), 'bpf-nx-identity-'));
    const echo = join(dir, 'echo-args.js');
    writeFileSync(echo, 'process.stdout.write(JSON.stringify(process.argv.slice(2)));\n');
    const config = { compile: { clang }, programs: [{ name: 'p', sources: ['*.c'] }] };
    writeFileSync(join(dir, 'p.c'), '');
    const plan = planBuild(config, { workspaceRoot: dir, project: { name: 'p', root: '.' } });
    const identityCommand = `${shellWord(process.execPath)} ${shellWord(echo)}`;
    const t = inferTargets(plan, config, { options: normalizeOptions({}), namedInputs: {}, identityCommand });
    const runtime = (t.compile.inputs!.find((i) => typeof i === 'object' && 'runtime' in i) as { runtime: string }).runtime;
    expect(runtime).toBe(`${identityCommand} clang ${clangArg(clang)}`);
    expect(runtime.slice(identityCommand.length)).toMatch(/^ clang --clang-hex=[0-9a-f]+$/);
    // What Nx does with a runtime input.
    const argv = JSON.parse(execFileSync('sh', ['-c', runtime], { cwd: dir, encoding: 'utf8' })) as string[];
    expect(parseIdentityArgs(argv)).toEqual({ parts: new Set(['clang']), clang, env: {}, coreBtfs: [] });
    expect(readdirSync(marks)).toEqual([]);
    rmSync(dir, { recursive: true });
  });

  it.each(HOSTILE)('passes a crate toolchain of %j (cargo.rustc, cargo.env) through `sh -c` unchanged, executing nothing', (value) => {
    const dir = mkdtempSync(join(tmpdir(), 'bpf-nx-identity-'));
    const echo = join(dir, 'echo-args.js');
    writeFileSync(echo, 'process.stdout.write(JSON.stringify(process.argv.slice(2)));\n');
    const config = { programs: [{ name: 'p', cargo: { rustc: value, env: { RUSTFLAGS: value } } }] };
    const plan = planBuild(config, { workspaceRoot: dir, project: { name: 'p', root: '.' } });
    const identityCommand = `${shellWord(process.execPath)} ${shellWord(echo)}`;
    const t = inferTargets(plan, config, { options: normalizeOptions({}), namedInputs: {}, identityCommand });
    const runtime = (t.build.inputs!.find((i) => typeof i === 'object' && 'runtime' in i) as { runtime: string }).runtime;
    expect(runtime.slice(identityCommand.length)).toMatch(/^ rust llvm --env-hex=[0-9a-f]+$/);
    const argv = JSON.parse(execFileSync('sh', ['-c', runtime], { cwd: dir, encoding: 'utf8' })) as string[];
    expect(parseIdentityArgs(argv).env).toEqual({ RUSTFLAGS: value, RUSTC: value });
    expect(readdirSync(marks)).toEqual([]);
    rmSync(dir, { recursive: true });
  });

  describe('the kernel BTF of CO-RE links in the identity', () => {
    it.each(HOSTILE)('passes a coreBtf of %j through `sh -c` unchanged, executing nothing', (value) => {
      const dir = mkdtempSync(join(tmpdir(), 'bpf-nx-identity-'));
      const echo = join(dir, 'echo-args.js');
      writeFileSync(echo, 'process.stdout.write(JSON.stringify(process.argv.slice(2)));\n');
      const btf = `/boot/${value}`;
      const config = { programs: [{ name: 'p', cargo: {}, link: { coreBtf: btf } }] };
      const plan = planBuild(config, { workspaceRoot: dir, project: { name: 'p', root: '.' } });
      const identityCommand = `${shellWord(process.execPath)} ${shellWord(echo)}`;
      const t = inferTargets(plan, config, { options: normalizeOptions({}), namedInputs: {}, identityCommand });
      const runtime = (t.build.inputs!.find((i) => typeof i === 'object' && 'runtime' in i) as { runtime: string }).runtime;
      expect(runtime.slice(identityCommand.length)).toMatch(/^ rust llvm kernel-btf --core-btf-hex=[0-9a-f]+$/);
      const argv = JSON.parse(execFileSync('sh', ['-c', runtime], { cwd: dir, encoding: 'utf8' })) as string[];
      expect(parseIdentityArgs(argv).coreBtfs).toEqual([btf]);
      expect(readdirSync(marks)).toEqual([]);
      rmSync(dir, { recursive: true });
    });
  
    it('--core=auto identifies the running kernel by its BTF content; a project BTF is an input instead', () => {
      const dir = mkdtempSync(join(tmpdir(), 'bpf-nx-identity-'));
      writeFileSync(join(dir, 'kernel.btf'), 'not read here');
      const auto = { programs: [{ name: 'p', cargo: {}, link: { core: 'auto' as const } }] };
      const own = { programs: [{ name: 'p', cargo: {}, link: { coreBtf: 'kernel.btf' } }] };
      const targets = (config: typeof auto | typeof own) =>
        inferTargets(planBuild(config, { workspaceRoot: dir, project: { name: 'p', root: '.' } }), config, { options: normalizeOptions({}), namedInputs: {}, identityCommand: 'id' }).build.inputs!;
      expect(targets(auto)).toContainEqual({ runtime: `id rust llvm kernel-btf ${coreBtfArg('/sys/kernel/btf/vmlinux')}` });
      expect(targets(own)).toContainEqual({ runtime: 'id rust llvm' });
      expect(targets(own)).toContain('{projectRoot}/kernel.btf');
      rmSync(dir, { recursive: true });
    });
  
    it.skipIf(!existsSync('/sys/kernel/btf/vmlinux'))('the identity script prints the BTF content digest', () => {
      const out = execFileSync(process.execPath, [identityScript(), 'kernel-btf', coreBtfArg('/sys/kernel/btf/vmlinux')], { encoding: 'utf8' });
      const digest = createHash('sha256').update(readFileSync('/sys/kernel/btf/vmlinux')).digest('hex');
      expect(out.trimEnd().split('\n').at(-1)).toBe(`kernel BTF /sys/kernel/btf/vmlinux: ${digest}`);
    });
  });
});

describe('shellWord (install paths in the runtime and help commands)', () => {
  it.each(['a b', "it's", '$(touch x)', '`touch x`', 'a\nb', '"q"', '\\', '*', '~', '-n', ''])('survives sh -c: %j', (word) => {
    const cwd = mkdtempSync(join(tmpdir(), 'bpf-nx-word-'));
    const got = execFileSync('sh', ['-c', `printf '%s\\0' ${shellWord(word)}`], { cwd, encoding: 'utf8' });
    expect(got).toBe(`${word}\0`);
    expect(readdirSync(cwd)).toEqual([]);
    rmSync(cwd, { recursive: true });
  });
});
