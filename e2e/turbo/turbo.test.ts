/**
 * The Turborepo adapter in real, temporary npm workspaces: the core, CLI and adapter packed with
 * `npm pack` and installed from the tarballs (no registry publish), real turbo and @turbo/gen
 * from npm, `bpf-turbo init`, the generators, then `turbo run bpf:build` with real clang, the
 * linker, cargo and the kernel. Cache hits and misses are read from turbo's own run summaries
 * (`--summarize`), and must happen for the right reasons: sources, library headers, link flags,
 * the toolchain pin. A local turborepo-remote-cache server proves that a clone at another path
 * gets remote hits and byte-identical objects. Finally the oldest supported turbo (2.0.14) runs
 * a short version of the same flow.
 *
 * One npm install per workspace; the tests of a workspace run in order on it.
 *
 * Environment: E2E_TURBO_VERSION (default 2.11.13), E2E_TURBO_OLD (default 2.0.14; `skip` skips
 * the old-turbo flow), KEEP_E2E (keep the temporary directories).
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseJsonc } from 'jsonc-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBpfObject } from '@bpf-linker/core';
import { kernelLoadUnavailable, loadIntoKernel } from '../../packages/linker-core/test/support/kernel';
import { e2eEnv } from '../support/env';
import { cacheStatus, freePort, ok, run, snapshot, snapshotDiff, startServer, summary, waitForHttp, type RunResult, type Server, type Summary } from './support';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TURBO_VERSION = process.env.E2E_TURBO_VERSION ?? '2.11.13';
/**
 * @turbo/gen for the main workspace. `turbo gen` in turbo 2.11.10–2.11.13 runs
 * `npm exec @turbo/gen@<turbo version>`, which does not exist past 2.11.9: the generators run
 * through @turbo/gen's own `gen` bin instead (which also reports real exit codes).
 */
const TURBO_GEN_VERSION = '2.11.9';
const OLD_TURBO = process.env.E2E_TURBO_OLD && process.env.E2E_TURBO_OLD !== 'skip' ? process.env.E2E_TURBO_OLD : '2.0.14';
const REMOTE_CACHE_VERSION = '2.12.0';
const noKernel = kernelLoadUnavailable();

const BUILD_TASKS = ['counters#bpf:build', 'rust-xdp#bpf:build', 'xdp-counter#bpf:build'];
/** The final products of the three packages, compared byte for byte between clones. */
const PRODUCTS = [
  'packages/counters/dist/bpf/libcounters.a',
  'packages/xdp-counter/dist/bpf/xdp-counter.o',
  'packages/xdp-counter/dist/bpf/xdp-counter.manifest.json',
  'packages/rust-xdp/dist/bpf/rust-xdp.o',
  'packages/rust-xdp/dist/bpf/rust-xdp.manifest.json',
];

let tmp: string;
let packs: string;
/** Workspace A. */
let ws: string;
let env: NodeJS.ProcessEnv;

const tarball = (name: string) => join(packs, `bpf-linker-${name}-0.1.0.tgz`);

/** `npx --no-install <args>` in `cwd`. */
const npx = (cwd: string, args: string[], e: NodeJS.ProcessEnv = env): RunResult => run('npx', ['--no-install', ...args], { cwd, env: e });

function mustSucceed(r: RunResult, what: string): string {
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.output}`);
  return r.output;
}

/** Files of `<dir>/.turbo/runs`. */
const runFiles = (dir: string) => (existsSync(join(dir, '.turbo/runs')) ? readdirSync(join(dir, '.turbo/runs')) : []);

/** `turbo run bpf:build --summarize [args]` (must succeed); its summary and taskId -> HIT/MISS. */
function turboBuild(dir: string, args: string[] = [], e: NodeJS.ProcessEnv = env): { output: string; summary: Summary; status: Record<string, 'HIT' | 'MISS'> } {
  const before = new Set(runFiles(dir));
  const output = mustSucceed(npx(dir, ['turbo', 'run', 'bpf:build', '--summarize', ...args], e), `turbo run bpf:build ${args.join(' ')} in ${dir}`);
  const s = summary(dir);
  expect(before.has(basename(s.file)), `a new run summary was written by this run:\n${output}`).toBe(false);
  return { output, summary: s, status: cacheStatus(s) };
}

/** The status of every bpf:build task, in BUILD_TASKS order. */
const statuses = (status: Record<string, string>, tasks = BUILD_TASKS) => Object.fromEntries(tasks.map((t) => [t, status[t]]));
const all = (value: 'HIT' | 'MISS', tasks = BUILD_TASKS) => Object.fromEntries(tasks.map((t) => [t, value]));

function edit(dir: string, path: string, change: (text: string) => string): void {
  const file = join(dir, path);
  const before = readFileSync(file, 'utf8');
  const after = change(before);
  if (after === before) throw new Error(`editing ${path} changed nothing`);
  writeFileSync(file, after);
}

function editJson(dir: string, path: string, change: (value: Record<string, unknown>) => void): void {
  edit(dir, path, (t) => {
    const value = JSON.parse(t) as Record<string, unknown>;
    change(value);
    return `${JSON.stringify(value, null, 2)}\n`;
  });
}

const readJsonc = (file: string) => parseJsonc(readFileSync(file, 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function sha256s(dir: string, files = PRODUCTS): Record<string, string> {
  return Object.fromEntries(files.map((f) => [f, existsSync(join(dir, f)) ? createHash('sha256').update(readFileSync(join(dir, f))).digest('hex') : '<missing>']));
}

function expectLoads(object: string): void {
  const r = loadIntoKernel(object);
  expect(r.log, `${object} in the kernel`).toBe(r.ok ? r.log : '<accepted by the verifier>');
}

function programsOf(file: string): string[][] {
  const obj = readBpfObject(readFileSync(file));
  return obj.programs.filter((p) => !p.isSubprogram).map((p) => [p.name, p.section]);
}

/**
 * A fresh npm workspace (no lock file: npm would otherwise reuse a cached tarball whose integrity
 * the lock names) with turbo, @turbo/gen, the CLI and the adapter from the tarballs; a root
 * turbo.json of the user's own (a comment and an unrelated task), a .gitignore and a first commit.
 */
function createWorkspace(dir: string, turbo: string, gen: string, extra: Record<string, string> = {}): void {
  mkdirSync(dir, { recursive: true });
  const npmVersion = ok('npm', ['--version'], { cwd: dir, env }).trim();
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({
    name: 'bpf-turbo-e2e',
    private: true,
    packageManager: `npm@${npmVersion}`,
    workspaces: ['packages/*'],
    devDependencies: {
      turbo,
      '@turbo/gen': gen,
      '@bpf-linker/cli': `file:${tarball('cli')}`,
      '@bpf-linker/turbo': `file:${tarball('turbo')}`,
      ...extra,
    },
  }, null, 2)}\n`);
  writeFileSync(join(dir, 'turbo.json'), `{
  // team settings: keep the lint task as it is
  "$schema": "https://turborepo.com/schema.json",
  "tasks": {
    "lint": {
      "outputs": []
    }
  }
}
`);
  writeFileSync(join(dir, '.gitignore'), 'node_modules\n');
  const git = (...args: string[]) => ok('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@example.invalid', '-c', 'init.defaultBranch=main', ...args], { cwd: dir, env });
  git('init', '-q');
  git('add', '-A');
  git('commit', '-q', '-m', 'a monorepo');
  ok('npm', ['install'], { cwd: dir, env });
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'bpf-turbo-e2e-'));
  packs = join(tmp, 'packs');
  mkdirSync(packs);
  env = { ...e2eEnv(tmp), TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' };
  // A remote cache of the developer's must not leak into the local-cache tests.
  for (const k of ['TURBO_API', 'TURBO_TOKEN', 'TURBO_TEAM', 'TURBO_REMOTE_ONLY', 'TURBO_FORCE']) delete env[k];
  // Fresh bundles of the three packages (esbuild only), packed as npm would publish them.
  for (const pkg of ['linker-core', 'cli', 'turbo-adapter']) {
    const dir = join(REPO, 'packages', pkg);
    ok(process.execPath, ['build.mjs'], { cwd: dir, env, timeout: 120_000 });
    ok('npm', ['pack', '--silent', '--pack-destination', packs], { cwd: dir, env, timeout: 120_000 });
  }
  for (const t of ['core', 'cli', 'turbo']) if (!existsSync(tarball(t))) throw new Error(`npm pack did not write ${tarball(t)}`);
  ws = join(tmp, 'workspace-a');
  createWorkspace(ws, TURBO_VERSION, TURBO_GEN_VERSION);
}, 600_000);

afterAll(() => {
  if (tmp && !process.env.KEEP_E2E) rmSync(tmp, { recursive: true, force: true });
});

describe(`the Turborepo adapter in a fresh npm workspace (turbo ${TURBO_VERSION})`, () => {
  it('bpf-turbo init adds the BPF tasks to turbo.json, keeping the comment and the other task; again, it changes nothing', () => {
    mustSucceed(npx(ws, ['bpf-turbo', 'init']), 'bpf-turbo init');
    const text = readFileSync(join(ws, 'turbo.json'), 'utf8');
    expect(text).toContain('// team settings: keep the lint task as it is');
    const turbo = readJsonc(join(ws, 'turbo.json'));
    expect(turbo.tasks.lint).toEqual({ outputs: [] });
    expect(turbo.tasks['bpf:build'].dependsOn).toEqual(['^bpf:build']);
    expect(turbo.tasks['bpf:build'].env).toEqual(expect.arrayContaining(['BPF_CLANG', 'BPF_LINKER_LLVM', 'RUSTC']));
    expect(turbo.tasks['bpf:verify'].cache).toBe(false);
    expect(turbo.tasks['bpf:inspect']).toBeDefined();
    expect(turbo.globalDependencies).toContain('.bpf-toolchain.json');
    expect(existsSync(join(ws, '.bpf-toolchain.json'))).toBe(true);
    expect(existsSync(join(ws, 'turbo/generators/config.ts'))).toBe(true);

    const before = snapshot(ws);
    const again = npx(ws, ['bpf-turbo', 'init']);
    expect(again.status, again.output).toBe(0);
    expect(again.output).toContain('up to date');
    expect(snapshotDiff(before, snapshot(ws))).toEqual([]);
    const check = npx(ws, ['bpf-turbo', 'init', '--check']);
    expect(check.status, check.output).toBe(0);
  });

  it('the generators write a C library, a C program linking it and a Rust program; bad names and directories are refused', () => {
    mustSucceed(npx(ws, ['gen', 'run', 'bpf-library', '--args', 'counters', '-']), 'gen bpf-library counters');
    mustSucceed(npx(ws, ['gen', 'run', 'bpf-program', '--args', 'xdp-counter', 'c', 'xdp', '-', 'counters', '-']), 'gen bpf-program xdp-counter');
    mustSucceed(npx(ws, ['gen', 'run', 'bpf-program', '--args', 'rust-xdp', 'rust', 'xdp', '-', '-', '-']), 'gen bpf-program rust-xdp');
    const files = [
      ...['package.json', 'bpf.config.json', 'include/counters.h', 'src/counters.c', 'turbo.json'].map((f) => `packages/counters/${f}`),
      'packages/xdp-counter/src/xdp-counter.bpf.c',
      ...['Cargo.toml', 'Cargo.lock', 'src/main.rs'].map((f) => `packages/rust-xdp/${f}`),
    ];
    for (const f of files) expect(existsSync(join(ws, f)), f).toBe(true);

    const pkg = JSON.parse(readFileSync(join(ws, 'packages/xdp-counter/package.json'), 'utf8'));
    expect(pkg.scripts['bpf:build']).toBe('bpf-turbo build');
    expect(pkg.dependencies).toEqual({ counters: '*' });
    expect(pkg.devDependencies['@bpf-linker/turbo']).toBeDefined();
    const task = readJsonc(join(ws, 'packages/xdp-counter/turbo.json'));
    expect(task.extends).toEqual(['//']);
    expect(task.tasks['bpf:build'].outputs).toEqual(['dist/bpf/xdp-counter.o', 'dist/bpf/xdp-counter.manifest.json']);
    expect(task.tasks['bpf:build'].inputs).toContain('../counters/include/**/*.h');

    const before = snapshot(ws);
    const refusals: [string[], string][] = [
      [['../evil', 'c', 'xdp', '-', '-', '-'], 'not a valid BPF project name'],
      [['bad/name', 'c', 'xdp', '-', '-', '-'], 'not a valid BPF project name'],
      [['okname', 'c', 'xdp', '-', '-', '/abs/x'], 'is absolute'],
      [['okname', 'c', 'xdp', '-', '-', '../out'], 'leaves the workspace'],
    ];
    for (const [args, message] of refusals) {
      const r = npx(ws, ['gen', 'run', 'bpf-program', '--args', ...args]);
      expect(r.status, `gen run bpf-program --args ${args.join(' ')}:\n${r.output}`).not.toBe(0);
      expect(r.output).toContain(message);
    }
    expect(snapshotDiff(before, snapshot(ws))).toEqual([]);
    for (const p of [join(tmp, 'evil'), join(tmp, 'out'), '/abs/x', join(ws, 'packages/okname'), join(ws, 'bad')]) expect(existsSync(p), p).toBe(false);

    // Links the new workspace packages (and their adapter devDependency).
    ok('npm', ['install'], { cwd: ws, env });
  });

  it('turbo run bpf:build builds the library, the C program and the Rust program; only final products are outputs', () => {
    const { summary: s, status } = turboBuild(ws);
    expect(statuses(status)).toEqual(all('MISS'));

    const xdp = join(ws, 'packages/xdp-counter/dist/bpf/xdp-counter.o');
    const obj = readBpfObject(readFileSync(xdp));
    expect(obj.programs.filter((p) => !p.isSubprogram).map((p) => [p.name, p.section])).toEqual([['xdp_counter', 'xdp']]);
    expect(obj.maps.map((m) => m.name)).toEqual(['counters_hits']);
    expect(obj.btf).toBeDefined();
    const rust = readBpfObject(readFileSync(join(ws, 'packages/rust-xdp/dist/bpf/rust-xdp.o')));
    expect(rust.programs.filter((p) => !p.isSubprogram).map((p) => [p.name, p.section])).toEqual([['rust_xdp', 'xdp']]);
    expect(rust.btf).toBeDefined();
    expect(existsSync(join(ws, 'packages/counters/dist/bpf/libcounters.a'))).toBe(true);

    const outputs = s.tasks.flatMap((t) => t.expandedOutputs ?? []);
    expect(outputs).toEqual(expect.arrayContaining(PRODUCTS));
    expect(outputs.filter((f) => f.endsWith('.bc') || /(^|\/)target(\/|$)/.test(f))).toEqual([]);
  });

  it.skipIf(noKernel)('both objects load in the kernel, and turbo run bpf:verify accepts the program', () => {
    expectLoads(join(ws, 'packages/xdp-counter/dist/bpf/xdp-counter.o'));
    expectLoads(join(ws, 'packages/rust-xdp/dist/bpf/rust-xdp.o'));
    const r = npx(ws, ['turbo', 'run', 'bpf:verify', '--filter=xdp-counter']);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain('accepted');
  });

  it('a second run is a full hit, so is a run after an unrelated change; deleted outputs are restored', () => {
    expect(statuses(turboBuild(ws).status)).toEqual(all('HIT'));
    writeFileSync(join(ws, 'README.md'), '# unrelated\n');
    writeFileSync(join(ws, 'packages/xdp-counter/NOTES.md'), 'not a source\n');
    expect(statuses(turboBuild(ws).status)).toEqual(all('HIT'));
    rmSync(join(ws, 'packages/xdp-counter/dist'), { recursive: true });
    expect(statuses(turboBuild(ws).status)).toEqual(all('HIT'));
    expect(existsSync(join(ws, 'packages/xdp-counter/dist/bpf/xdp-counter.o'))).toBe(true);
  });

  it('misses for the right reasons: a program source, a library header, a link flag', () => {
    edit(ws, 'packages/xdp-counter/src/xdp-counter.bpf.c', (t) => t.replace('counters_record(0);', 'counters_record(1);'));
    expect(statuses(turboBuild(ws).status)).toEqual({ 'counters#bpf:build': 'HIT', 'rust-xdp#bpf:build': 'HIT', 'xdp-counter#bpf:build': 'MISS' });

    edit(ws, 'packages/counters/include/counters.h', (t) => `${t}/* a comment of the library's */\n`);
    expect(statuses(turboBuild(ws).status)).toEqual({ 'counters#bpf:build': 'MISS', 'rust-xdp#bpf:build': 'HIT', 'xdp-counter#bpf:build': 'MISS' });

    editJson(ws, 'packages/xdp-counter/bpf.config.json', (c) => {
      c.link = { cpu: 'v3' };
    });
    expect(turboBuild(ws).status['xdp-counter#bpf:build']).toBe('MISS');
    const manifest = JSON.parse(readFileSync(join(ws, 'packages/xdp-counter/dist/bpf/xdp-counter.manifest.json'), 'utf8'));
    expect(manifest.options.cpu).toBe('v3');
  });

  it('a new toolchain is a miss: the pin catches it, the build refuses a stale pin, a new pin misses every task', () => {
    const bin = (v: string) => {
      const dir = join(tmp, `bin${v}`);
      mkdirSync(dir, { recursive: true });
      symlinkSync(`/usr/lib/llvm-${v}/bin/clang`, join(dir, 'clang'));
      return { ...env, PATH: `${dir}:${env.PATH}` };
    };
    const with22 = bin('22');
    const with19 = bin('19');
    const archive = join(ws, 'packages/counters/dist/bpf/libcounters.a');

    const firstPin = readFileSync(join(ws, '.bpf-toolchain.json'), 'utf8');
    editJson(ws, 'packages/counters/bpf.config.json', (c) => {
      c.compile = { ...(c.compile as object), clang: 'clang' };
    });
    mustSucceed(npx(ws, ['bpf-turbo', 'pin'], with22), 'bpf-turbo pin (clang 22)');
    expect(turboBuild(ws, [], with22).status['counters#bpf:build']).toBe('MISS');
    expect(statuses(turboBuild(ws, [], with22).status)).toEqual(all('HIT'));
    const archive22 = readFileSync(archive);

    // Another clang on PATH: turbo itself would hit (the pin, which it hashes, is unchanged).
    const check = npx(ws, ['bpf-turbo', 'pin', '--check'], with19);
    expect(check.status, check.output).toBe(1);
    expect(check.output).toContain('.bpf-toolchain.json');
    expect(check.output).toContain('clang');
    const build = npx(join(ws, 'packages/counters'), ['bpf-turbo', 'build'], with19);
    expect(build.status, build.output).toBe(1);
    expect(build.stderr).toContain('.bpf-toolchain.json does not describe this machine');
    expect(build.stderr).toContain('npx bpf-turbo pin');

    mustSucceed(npx(ws, ['bpf-turbo', 'pin'], with19), 'bpf-turbo pin (clang 19)');
    expect(statuses(turboBuild(ws, [], with19).status)).toEqual(all('MISS'));
    expect(readFileSync(archive).equals(archive22), 'the archive built by clang 19 differs from clang 22\'s').toBe(false);

    // Back to the default clang for the tests that follow (no `clang` on the default PATH).
    editJson(ws, 'packages/counters/bpf.config.json', (c) => {
      delete (c.compile as Record<string, unknown>).clang;
      if (Object.keys(c.compile as object).length === 0) delete c.compile;
    });
    mustSucceed(npx(ws, ['bpf-turbo', 'pin']), 'bpf-turbo pin (default clang)');
    mustSucceed(npx(ws, ['bpf-turbo', 'pin', '--check']), 'bpf-turbo pin --check (default clang)');
    // The pin lists exactly the clangs in use, so it is again the pin of the first builds (and
    // the configs are as they were): turbo finds those builds in its cache.
    expect(readFileSync(join(ws, '.bpf-toolchain.json'), 'utf8')).toBe(firstPin);
    expect(statuses(turboBuild(ws).status)).toEqual(all('HIT'));
  });

  it('doctor finds nothing; an unhashed header and an intermediate output are found; init repairs them', () => {
    const clean = npx(ws, ['bpf-turbo', 'doctor']);
    expect(clean.status, clean.output).toBe(0);
    expect(clean.output).toContain('no findings');

    const file = join(ws, 'packages/xdp-counter/turbo.json');
    const task = readJsonc(file);
    const build = task.tasks['bpf:build'];
    build.inputs = (build.inputs as string[]).filter((i) => i !== '../counters/include/**/*.h');
    build.outputs = [...(build.outputs as string[]), 'dist/bpf/**'];
    writeFileSync(file, `${JSON.stringify(task, null, 2)}\n`);
    const broken = npx(ws, ['bpf-turbo', 'doctor']);
    expect(broken.status, broken.output).toBe(1);
    expect(broken.output).toContain('inputs miss packages/counters/include/counters.h');
    expect(broken.output).toContain('caches intermediates');
    const json = npx(ws, ['bpf-turbo', 'doctor', '--json']);
    expect(json.status, json.output).toBe(1);
    const findings = JSON.parse(json.stdout) as { package: string; kind: string }[];
    expect(Array.isArray(findings)).toBe(true);
    expect([...new Set(findings.map((f) => f.kind))].sort()).toEqual(['inputs', 'outputs']);
    expect([...new Set(findings.map((f) => f.package))]).toEqual(['xdp-counter']);

    mustSucceed(npx(ws, ['bpf-turbo', 'init']), 'bpf-turbo init (repair)');
    expect(readJsonc(file).tasks['bpf:build'].inputs).toContain('../counters/include/**/*.h');
    const repaired = npx(ws, ['bpf-turbo', 'doctor']);
    expect(repaired.status, repaired.output).toBe(0);
    expect(repaired.output).toContain('no findings');
  });
});

describe('a remote cache shared by two clones at different paths', () => {
  let server: Server | undefined;
  let remote: NodeJS.ProcessEnv;
  let clone: string;
  let aProducts: Record<string, string>;
  let aHashes: Record<string, string>;

  beforeAll(async () => {
    const dir = join(tmp, 'remote-cache');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), '{ "name": "remote-cache", "private": true }\n');
    ok('npm', ['install', '--no-package-lock', `turborepo-remote-cache@${REMOTE_CACHE_VERSION}`], { cwd: dir, env });
    const port = await freePort();
    server = startServer(join(dir, 'node_modules/.bin/turborepo-remote-cache'), [], {
      cwd: dir,
      env: {
        ...env,
        HOST: '127.0.0.1',
        PORT: String(port),
        STORAGE_PROVIDER: 'local',
        STORAGE_PATH: join(tmp, 'rc-store'),
        STORAGE_PATH_USE_TMP_FOLDER: 'false',
        TURBO_TOKEN: 'e2e-token',
      },
      log: join(tmp, 'remote-cache.log'),
    });
    await waitForHttp(`http://127.0.0.1:${port}/v8/artifacts/status`, 20_000, server);
    remote = { ...env, TURBO_API: `http://127.0.0.1:${port}`, TURBO_TOKEN: 'e2e-token', TURBO_TEAM: 'e2e' };
  }, 300_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('clone A uploads its builds', () => {
    const { status, summary: s } = turboBuild(ws, ['--force'], remote);
    expect(statuses(status)).toEqual(all('MISS'));
    aHashes = Object.fromEntries(s.tasks.map((t) => [t.taskId, t.hash]));
    aProducts = sha256s(ws);
    expect(Object.values(aProducts)).not.toContain('<missing>');
    expect(readdirSync(join(tmp, 'rc-store')).length, 'the server stored artifacts').toBeGreaterThan(0);
  });

  it('clone B, elsewhere and deeper, gets every build from the remote cache, byte-identical', () => {
    clone = join(tmp, 'elsewhere', 'deeper', 'clone-b');
    // Sources only, as a fresh clone has them: no installs, caches or build outputs. No lock file
    // either: npm writes the tarballs' paths relative to the root into it, and those do not
    // resolve from another depth.
    const excluded = new Set(['node_modules', '.turbo', 'dist', 'target']);
    cpSync(ws, clone, { recursive: true, filter: (src) => !excluded.has(basename(src)) && src !== join(ws, 'package-lock.json') });
    // The root's file: specs are absolute. The generated packages copy the root's spec, made
    // relative to the package when the root's is relative: such a spec resolves only at the
    // same depth, so a relative one is pinned to the absolute tarball here (they are absolute
    // with this workspace, and nothing changes).
    for (const p of readdirSync(join(clone, 'packages'))) {
      const file = join(clone, 'packages', p, 'package.json');
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { devDependencies?: Record<string, string> };
      for (const [name, spec] of Object.entries(pkg.devDependencies ?? {})) {
        const m = /^file:(.+)$/.exec(spec);
        if (m && !isAbsolute(m[1])) pkg.devDependencies![name] = `file:${resolve(ws, 'packages', p, m[1])}`;
      }
      writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
    }
    // The copy has every source and config of A: only A's lock file and build outputs are missing.
    const copied = snapshotDiff(snapshot(ws), snapshot(clone)).filter((f) => !/^packages\/[^/]+\/(dist|target)\//.test(f) && !/^packages\/[^/]+\/package\.json$/.test(f));
    expect(copied).toEqual(['package-lock.json']);
    ok('npm', ['install'], { cwd: clone, env });

    const { status, summary: s } = turboBuild(clone, [], remote);
    expect(Object.fromEntries(s.tasks.map((t) => [t.taskId, t.hash])), 'the same task hashes as clone A').toEqual(aHashes);
    expect(statuses(status)).toEqual(all('HIT'));
    for (const t of s.tasks.filter((x) => BUILD_TASKS.includes(x.taskId))) {
      expect(t.cache.source === 'REMOTE' || t.cache.remote === true, `${t.taskId} from the remote cache: ${JSON.stringify(t.cache)}`).toBe(true);
    }
    expect(sha256s(clone)).toEqual(aProducts);
    expect(programsOf(join(clone, 'packages/xdp-counter/dist/bpf/xdp-counter.o'))).toEqual([['xdp_counter', 'xdp']]);
  });

  it.skipIf(noKernel)("clone B's restored object loads in the kernel", () => {
    expectLoads(join(clone, 'packages/xdp-counter/dist/bpf/xdp-counter.o'));
  });

  it('without the cache, clone B builds byte-identical objects at its own path', () => {
    const { status } = turboBuild(clone, ['--force']);
    expect(statuses(status)).toEqual(all('MISS'));
    expect(sha256s(clone)).toEqual(aProducts);
  });
});

describe(`turbo's Cargo workspaces (futureFlags.experimentalCargoWorkspaces, turbo ${TURBO_VERSION})`, () => {
  let cw: string;
  const object = () => join(cw, 'crates/probe-ebpf/dist/bpf/probe-ebpf.o');

  beforeAll(() => {
    cw = join(tmp, 'workspace-cargo');
    createWorkspace(cw, TURBO_VERSION, TURBO_GEN_VERSION);
    // A root Cargo workspace with a host crate and a BPF crate, as aya-template lays them out;
    // turbo makes each crate a package and would build the BPF crate for the host.
    writeFileSync(join(cw, 'turbo.json'), `{
  "$schema": "https://turborepo.com/schema.json",
  "futureFlags": { "experimentalCargoWorkspaces": true },
  "tasks": { "build": {} }
}
`);
    writeFileSync(join(cw, 'Cargo.toml'), `[workspace]
resolver = "2"
members = ["crates/*"]

[workspace.metadata]
name = "cargo-ws"

[profile.dev]
panic = "abort"

[profile.release]
panic = "abort"
debug = 2
codegen-units = 1
`);
    const crate = (name: string, files: Record<string, string>) => {
      for (const [f, text] of Object.entries(files)) {
        mkdirSync(join(cw, 'crates', name, f, '..'), { recursive: true });
        writeFileSync(join(cw, 'crates', name, f), text);
      }
    };
    crate('app', { 'Cargo.toml': '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n', 'src/main.rs': 'fn main() { println!("user space"); }\n' });
    crate('probe-ebpf', {
      'Cargo.toml': '[package]\nname = "probe-ebpf"\nversion = "0.1.0"\nedition = "2021"\n\n[[bin]]\nname = "probe_ebpf"\npath = "src/main.rs"\n',
      'src/main.rs': readFileSync(join(REPO, 'e2e/turbo/fixtures/probe_ebpf.rs'), 'utf8'),
      'bpf.config.json': `${JSON.stringify({ programs: [{ name: 'probe-ebpf', cargo: { manifest: 'Cargo.toml', bin: 'probe_ebpf' } }] }, null, 2)}\n`,
    });
    ok(env.CARGO!, ['generate-lockfile', '--offline'], { cwd: cw, env });
  }, 600_000);

  it('init overrides the BPF crate\'s build with task commands and leaves the host crate to turbo', () => {
    mustSucceed(npx(cw, ['bpf-turbo', 'init']), 'bpf-turbo init');
    const command = ['npx', '--no-install', 'bpf-turbo', 'build'];
    const task = readJsonc(join(cw, 'crates/probe-ebpf/turbo.json'));
    expect(task.tasks.build.command).toEqual(command);
    expect(task.tasks['bpf:build'].command).toEqual(command);
    expect(task.tasks.build.outputs).toEqual(['dist/bpf/probe-ebpf.o', 'dist/bpf/probe-ebpf.manifest.json']);
    expect(task.tasks.build.inputs).toEqual(expect.arrayContaining(['**/*.rs', 'Cargo.toml', '../../Cargo.toml', '../../Cargo.lock', '!target/**']));
    expect(readJsonc(join(cw, 'turbo.json')).futureFlags).toEqual({ experimentalCargoWorkspaces: true, experimentalTaskCommand: true });
    expect(existsSync(join(cw, 'crates/app/turbo.json'))).toBe(false);
  });

  it('turbo run build builds the host crate with cargo and the BPF crate with bpf-linker; a second run hits', () => {
    const first = mustSucceed(npx(cw, ['turbo', 'run', 'build', '--summarize']), 'turbo run build');
    const s = cacheStatus(summary(cw));
    expect(s['probe-ebpf#build'], first).toBe('MISS');
    expect(s['app#build'], first).toBeDefined();
    expect(existsSync(join(cw, 'target/debug/app')), 'the host crate was built by cargo').toBe(true);
    expect(programsOf(object())).toEqual([['probe_ebpf', 'xdp']]);
    expect(readBpfObject(readFileSync(object())).btf).toBeDefined();
    mustSucceed(npx(cw, ['turbo', 'run', 'build', '--summarize']), 'turbo run build (again)');
    expect(cacheStatus(summary(cw))['probe-ebpf#build']).toBe('HIT');
  });

  it.skipIf(noKernel)('the BPF crate\'s object loads in the kernel', () => {
    expectLoads(object());
  });

  it("the workspace's Cargo.toml is an input of the BPF crate; doctor finds nothing", () => {
    edit(cw, 'Cargo.toml', (t) => t.replace('codegen-units = 1', 'codegen-units = 1\nincremental = false'));
    mustSucceed(npx(cw, ['turbo', 'run', 'build', '--summarize']), 'turbo run build (workspace manifest changed)');
    expect(cacheStatus(summary(cw))['probe-ebpf#build']).toBe('MISS');
    const doctor = npx(cw, ['bpf-turbo', 'doctor']);
    expect(doctor.status, doctor.output).toBe(0);
    expect(doctor.output).toContain('no findings');
  });
});

describe.skipIf(process.env.E2E_TURBO_OLD === 'skip')(`the oldest supported turbo (${OLD_TURBO})`, () => {
  let old: string;

  beforeAll(() => {
    old = join(tmp, 'workspace-old');
    // @turbo/gen 2.0.x loads turbo/generators/config.ts with ts-node, whose peer `typescript`
    // npm would otherwise install as 7.x (no JavaScript API): ts-node then fails with "Cannot
    // read properties of undefined (reading 'fileExists')", and gen exits 0 having written
    // nothing. A monorepo of that age has its TypeScript 5.
    createWorkspace(old, OLD_TURBO, OLD_TURBO, { typescript: '~5.9.3' });
  }, 600_000);

  it('init, the generators, a build that misses, a run that hits, a header edit that misses', () => {
    mustSucceed(npx(old, ['bpf-turbo', 'init']), 'bpf-turbo init');
    mustSucceed(npx(old, ['gen', 'run', 'bpf-library', '--args', 'counters', '-']), 'gen bpf-library counters');
    mustSucceed(npx(old, ['gen', 'run', 'bpf-program', '--args', 'xdp-counter', 'c', 'xdp', '-', 'counters', '-']), 'gen bpf-program xdp-counter');
    // This gen reports some failures with exit 0: the files are the proof.
    for (const f of ['packages/counters/include/counters.h', 'packages/counters/turbo.json', 'packages/xdp-counter/src/xdp-counter.bpf.c', 'packages/xdp-counter/turbo.json']) expect(existsSync(join(old, f)), f).toBe(true);
    ok('npm', ['install'], { cwd: old, env });
    const tasks = ['counters#bpf:build', 'xdp-counter#bpf:build'];
    const first = turboBuild(old);
    expect(JSON.parse(readFileSync(join(old, 'node_modules/turbo/package.json'), 'utf8')).version).toBe(OLD_TURBO);
    expect(statuses(first.status, tasks)).toEqual(all('MISS', tasks));
    expect(programsOf(join(old, 'packages/xdp-counter/dist/bpf/xdp-counter.o'))).toEqual([['xdp_counter', 'xdp']]);
    expect(statuses(turboBuild(old).status, tasks)).toEqual(all('HIT', tasks));
    edit(old, 'packages/counters/include/counters.h', (t) => `${t}/* a comment of the library's */\n`);
    expect(statuses(turboBuild(old).status, tasks)).toEqual(all('MISS', tasks));
  }, 300_000);
});
