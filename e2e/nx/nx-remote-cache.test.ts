/**
 * The Nx plugin's outputs in a shared remote cache, with real Nx and a real self-hosted cache:
 * `bpf-nx-cache-server` (packages/nx-cache-server, installed from its packed tarball as a team
 * would) on 127.0.0.1, which Nx's own client reaches through NX_SELF_HOSTED_REMOTE_CACHE_SERVER.
 *
 * Workspace A (a C library, a C program linking it, a Rust program, and a C program compiled by
 * clang 19) builds and uploads. Workspace B is a copy of A's sources, lock file and vendored
 * tarballs at another, deeper path, with its own install and an empty local cache (`nx reset`),
 * run from a project directory: every compile/archive/link/build must come from the remote cache
 * ("[remote cache]" in Nx's output, and B's requests to the server are GETs of exactly A's
 * hashes), byte-identical to A's, and load. Rebuilt without any cache, B's objects are still
 * byte-identical. Forcing another libLLVM for a link is a miss, not a hit of the other one's
 * object.
 *
 * Environment: E2E_NX_VERSION (another Nx), KEEP_E2E (keep the temporary directories).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBpfObject } from '@bpf-linker/core';
import { kernelLoadUnavailable, loadIntoKernel } from '../../packages/linker-core/test/support/kernel';
import { REPO, createNxWorkspace, runIn } from '../support/nx-workspace';
import { freePort, startServer, waitForHttp, type Server } from '../support/server';

const noKernel = kernelLoadUnavailable();
const TOKEN = 'e2e-nx-cache-token';
const LLVM_22 = '/usr/lib/llvm-22/lib/libLLVM.so.22.1';
const CLANG_19 = '/usr/lib/llvm-19/bin/clang';

/** Every cacheable task the run builds, and the products compared between the workspaces. */
const TASKS = ['counters:compile', 'counters:archive', 'xdp-counter:compile', 'xdp-counter:link', 'rust-xdp:build', 'old-xdp:compile', 'old-xdp:link'];
const PRODUCTS = [
  'libs/counters/dist/bpf/libcounters.a',
  'apps/xdp-counter/dist/bpf/xdp-counter.o',
  'apps/xdp-counter/dist/bpf/xdp-counter.manifest.json',
  'apps/xdp-counter/dist/bpf/bc/src/xdp-counter.bpf.bc',
  'apps/rust-xdp/dist/bpf/rust-xdp.o',
  'apps/rust-xdp/dist/bpf/rust-xdp.manifest.json',
  'apps/old-xdp/dist/bpf/old-xdp.o',
  'apps/old-xdp/dist/bpf/old-xdp.manifest.json',
];

let tmp: string;
let a: string;
let b: string;
let env: NodeJS.ProcessEnv;
let remote: NodeJS.ProcessEnv;
let server: Server | undefined;
let serverLog: string;

function nxIn(ws: string, args: string[], e: NodeJS.ProcessEnv = remote, cwd = ws): string {
  const r = runIn({ ws, env: e }, 'npx', ['--no-install', 'nx', ...args], cwd);
  if (r.status !== 0) throw new Error(`nx ${args.join(' ')} in ${cwd} failed (exit ${r.status}):\n${r.output}`);
  return r.output;
}

/** `nx run-many` of every build target with static output: each task's line says where it came from. */
const buildAll = (ws: string, e: NodeJS.ProcessEnv = remote, cwd = ws, extra: string[] = []) =>
  nxIn(ws, ['run-many', '-t', 'link', 'build', '--outputStyle=static', ...extra], e, cwd);

/** taskId → 'remote' | 'local' | 'miss', from Nx's own task lines (`> nx run p:t  [remote cache]`). */
function cacheStates(output: string): Record<string, 'remote' | 'local' | 'miss'> {
  const states: Record<string, 'remote' | 'local' | 'miss'> = {};
  for (const m of output.matchAll(/^> nx run (\S+)(.*)$/gm)) {
    states[m[1]] = /\[remote cache\]/.test(m[2]) ? 'remote' : /\[(local cache|existing outputs match the cache, left as is)\]/.test(m[2]) ? 'local' : 'miss';
  }
  return states;
}

/** The server's request lines (`GET <hash> <status> …`) since `from`. */
function requests(from = 0): { method: string; hash: string; status: number }[] {
  return readFileSync(serverLog, 'utf8')
    .split('\n')
    .slice(from)
    .flatMap((l) => {
      const m = /^(GET|PUT) (\S+) (\d{3})\b/.exec(l);
      return m ? [{ method: m[1], hash: m[2], status: Number(m[3]) }] : [];
    });
}
const logLines = () => readFileSync(serverLog, 'utf8').split('\n').length - 1;

const sha256 = (file: string) => (existsSync(file) ? createHash('sha256').update(readFileSync(file)).digest('hex') : '<missing>');
const products = (ws: string) => Object.fromEntries(PRODUCTS.map((p) => [p, sha256(join(ws, p))]));
const programsOf = (file: string) => readBpfObject(readFileSync(file)).programs.filter((p) => !p.isSubprogram).map((p) => [p.name, p.section]);
const manifestLlvm = (ws: string) => (JSON.parse(readFileSync(join(ws, 'apps/old-xdp/dist/bpf/old-xdp.manifest.json'), 'utf8')) as { llvm: { version: string } }).llvm.version;

function expectLoads(object: string): void {
  const r = loadIntoKernel(object);
  expect(r.log, `${object} in the kernel`).toBe(r.ok ? r.log : '<accepted by the verifier>');
}

beforeAll(async () => {
  const w = createNxWorkspace('bpf-nx-remote-', { vendor: true });
  ({ tmp, ws: a, env } = w);
  // A remote cache of the developer's must not leak in.
  for (const k of ['NX_SELF_HOSTED_REMOTE_CACHE_SERVER', 'NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN', 'BPF_LINKER_LLVM', 'BPF_CLANG']) delete env[k];

  // The cache server, installed from its tarball into a directory of its own.
  const serverPkg = join(REPO, 'packages/nx-cache-server');
  execFileSync(process.execPath, ['build.mjs'], { cwd: serverPkg, stdio: 'pipe' });
  const serverDir = join(tmp, 'cache-server');
  mkdirSync(serverDir);
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', serverDir], { cwd: serverPkg, encoding: 'utf8' }).trim().split('\n').pop()!;
  writeFileSync(join(serverDir, 'package.json'), '{ "name": "nx-cache-host", "private": true }\n');
  const install = runIn({ ws: serverDir, env }, 'npm', ['install', '--no-package-lock', join(serverDir, tarball)]);
  if (install.status !== 0) throw new Error(`installing the cache server failed:\n${install.output}`);
  const port = await freePort();
  serverLog = join(tmp, 'cache-server.log');
  server = startServer(join(serverDir, 'node_modules/.bin/bpf-nx-cache-server'), ['--storage', join(tmp, 'cache-store'), '--host', '127.0.0.1', '--port', String(port)], {
    cwd: serverDir,
    env: { ...env, NX_CACHE_SERVER_TOKENS: TOKEN },
    log: serverLog,
  });
  // Up when the cache route asks for a token.
  await waitForHttp(`http://127.0.0.1:${port}/v1/cache/0`, 20_000, server, (status) => status === 401);
  remote = { ...env, NX_SELF_HOSTED_REMOTE_CACHE_SERVER: `http://127.0.0.1:${port}`, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: TOKEN };

  nxIn(a, ['add', `@bpf-linker/nx@file:vendor/${basename(w.packs['nx-plugin'])}`], env);
  nxIn(a, ['g', '@bpf-linker/nx:library', 'counters', '--directory=libs/counters', '--no-interactive'], env);
  nxIn(a, ['g', '@bpf-linker/nx:program', 'xdp-counter', '--directory=apps/xdp-counter', '--type=xdp', '--libraries=counters', '--no-interactive'], env);
  nxIn(a, ['g', '@bpf-linker/nx:program', 'rust-xdp', '--directory=apps/rust-xdp', '--language=rust', '--type=xdp', '--no-interactive'], env);
  // Bitcode both libLLVM 19 and 22 can read, for the miss test.
  nxIn(a, ['g', '@bpf-linker/nx:program', 'old-xdp', '--directory=apps/old-xdp', '--type=xdp', '--no-interactive'], env);
  const config = join(a, 'apps/old-xdp/bpf.config.json');
  writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), compile: { clang: CLANG_19 } }, null, 2));
}, 600_000);

afterAll(async () => {
  await server?.stop();
  if (tmp && !process.env.KEEP_E2E) rmSync(tmp, { recursive: true, force: true });
});

describe('a self-hosted Nx remote cache shared by two workspaces at different paths', () => {
  let aHashes: string[];
  let aProducts: Record<string, string>;

  it('workspace A builds everything and uploads each task once', () => {
    const from = logLines();
    const out = buildAll(a);
    const states = cacheStates(out);
    for (const t of TASKS) expect(states[t], `${t}\n${out}`).toBe('miss');
    const sent = requests(from);
    const puts = sent.filter((r) => r.method === 'PUT');
    expect(puts.map((r) => r.status), 'every upload stored, none refused or sent twice').toEqual(TASKS.map(() => 200));
    aHashes = puts.map((r) => r.hash).sort();
    expect(new Set(aHashes).size).toBe(TASKS.length);
    aProducts = products(a);
    expect(Object.values(aProducts)).not.toContain('<missing>');
    expect(manifestLlvm(a), 'clang 19 bitcode is linked by libLLVM 19 by default').toMatch(/^19\./);
  });

  it('workspace B, elsewhere and deeper, with an empty local cache and run from a project directory, gets every task from the remote cache, byte-identical', () => {
    b = join(tmp, 'elsewhere', 'much', 'deeper', 'clone-b');
    // Sources, configs, lock file and vendored tarballs, as a clone has them: no installs, caches or outputs.
    const excluded = new Set(['node_modules', '.nx', 'dist', 'target']);
    cpSync(a, b, { recursive: true, filter: (src) => !excluded.has(basename(src)) });
    expect(existsSync(join(b, 'package-lock.json'))).toBe(true);
    const install = runIn({ ws: b, env }, 'npm', ['ci']);
    expect(install.status, install.output).toBe(0);
    nxIn(b, ['reset'], env);
    expect(existsSync(join(b, 'apps/xdp-counter/dist'))).toBe(false);

    const from = logLines();
    const out = buildAll(b, remote, join(b, 'apps/xdp-counter'));
    const states = cacheStates(out);
    for (const t of TASKS) expect(states[t], `${t}\n${out}`).toBe('remote');
    // What B asked the server for: exactly A's task hashes, each found; nothing uploaded.
    const sent = requests(from);
    expect(sent.filter((r) => r.method === 'PUT')).toEqual([]);
    expect(sent.map((r) => `${r.hash} ${r.status}`).sort()).toEqual(aHashes.map((h) => `${h} 200`));
    expect(products(b)).toEqual(aProducts);
    expect(programsOf(join(b, 'apps/xdp-counter/dist/bpf/xdp-counter.o'))).toEqual([['xdp_counter', 'xdp']]);
  });

  it.skipIf(noKernel)("workspace B's restored objects load in the kernel", () => {
    for (const p of ['apps/xdp-counter/dist/bpf/xdp-counter.o', 'apps/rust-xdp/dist/bpf/rust-xdp.o', 'apps/old-xdp/dist/bpf/old-xdp.o']) expectLoads(join(b, p));
  });

  it('without any cache, workspace B builds byte-identical outputs at its own path, from a project directory', () => {
    const out = buildAll(b, env, join(b, 'libs/counters'), ['--skip-nx-cache']);
    const states = cacheStates(out);
    for (const t of TASKS) expect(states[t], `${t}\n${out}`).toBe('miss');
    expect(products(b)).toEqual(aProducts);
  });

  it('forcing another libLLVM for the link is a miss, and links with it; back to the default is a hit of the first object', () => {
    const from = logLines();
    const forced = { ...remote, BPF_LINKER_LLVM: LLVM_22 };
    const out = nxIn(b, ['run', 'old-xdp:link', '--outputStyle=static'], forced);
    const states = cacheStates(out);
    expect(states['old-xdp:compile']).toBe('local');
    expect(states['old-xdp:link'], out).toBe('miss');
    expect(manifestLlvm(b)).toMatch(/^22\./);
    expect(sha256(join(b, 'apps/old-xdp/dist/bpf/old-xdp.manifest.json'))).not.toBe(aProducts['apps/old-xdp/dist/bpf/old-xdp.manifest.json']);
    // The server was asked for a hash it did not have (not one of A's), then given the new object.
    const sent = requests(from);
    expect(sent.map((r) => `${r.method} ${r.status}`)).toEqual(['GET 404', 'PUT 200']);
    expect(aHashes).not.toContain(sent[0].hash);

    const back = cacheStates(nxIn(b, ['run', 'old-xdp:link', '--outputStyle=static']));
    expect(back['old-xdp:link']).toBe('local');
    expect(manifestLlvm(b)).toMatch(/^19\./);
    expect(products(b)).toEqual(aProducts);
  });
});
