/**
 * Helpers of the bundler tests, all real: the plugin is built as it is published (build.mjs,
 * into a private directory per test file), the shared fixture is copied to a temporary project,
 * bundles are run by a separate `node` process, and objects are checked with the core's ELF
 * reader and loaded into the kernel with bpftool.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect } from 'vitest';
import { EM_BPF, readBpfObject, readElf } from '@bpf-linker/core';
import { kernelLoadUnavailable, loadIntoKernel } from '../../linker-core/test/support/kernel';
import type { BuildEvent, Options } from '../src/types';

export const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
export const FIXTURE = join(PACKAGE, 'test', 'fixtures', 'app');
export const CLANG = '/usr/lib/llvm-22/bin/clang';
export const noKernel = kernelLoadUnavailable();
export const EXPECTED_PROGRAMS = [
  { name: 'count_packets', section: 'xdp' },
  { name: 'keep_all', section: 'socket' },
];

/**
 * Builds the plugin package into `test/.build/<name>` (inside the package, so `unplugin`, koffi
 * and the bundlers resolve as for an installed package) and returns that directory.
 */
export function buildPlugin(name: string): string {
  const out = join(PACKAGE, 'test', '.build', `${name}-${process.pid}`);
  execFileSync(process.execPath, ['build.mjs', '--outdir', out, '--no-types'], { cwd: PACKAGE, stdio: 'pipe' });
  return out;
}

export function removeBuild(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A bundler's plugin function from a private build. */
export async function pluginOf<T>(build: string, bundler: string): Promise<(options?: Options) => T> {
  return ((await import(join(build, `${bundler}.js`))) as { default: (options?: Options) => T }).default;
}

/**
 * In a test file (or a suite function): builds the plugin before the tests, removes the build
 * after them, and returns the `bundler` entry's plugin function (callable once the tests run).
 */
export function usePlugin<T>(bundler: string, buildName = bundler): (options?: Options) => T {
  let build = '';
  let plugin: ((options?: Options) => T) | undefined;
  beforeAll(async () => {
    build = buildPlugin(buildName);
    plugin = await pluginOf<T>(build, bundler);
  });
  afterAll(() => removeBuild(build));
  return (options) => {
    if (!plugin) throw new Error(`the ${bundler} plugin is not built yet: call it inside a test or hook`);
    return plugin(options);
  };
}

/** A copy of the shared fixture in a fresh temporary directory (tests edit its files). */
export function copyFixture(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `unplugin-bpf-${prefix}-`));
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

/** Collects the plugin's build events; `runs` counts the compile and link steps that ran. */
export function eventLog() {
  const events: BuildEvent[] = [];
  return {
    events,
    onBuild: (e: BuildEvent) => events.push(e),
    runs: () => ({ compiled: events.reduce((n, e) => n + e.compiled, 0), linked: events.reduce((n, e) => n + e.linked, 0), cargo: events.reduce((n, e) => n + e.cargo, 0) }),
    clear: () => void events.splice(0),
  };
}

/** Options every test gives: the fixture's clang, a cache inside the project. */
export function baseOptions(project: string, log: ReturnType<typeof eventLog>, extra: Options = {}): Options {
  return { clang: CLANG, cacheDir: join(project, 'node_modules', '.cache', 'bpf'), onBuild: log.onBuild, ...extra };
}

/** Number of objects in the plugin's store. */
export function storeEntries(project: string): number {
  const dir = join(project, 'node_modules', '.cache', 'bpf', 'objects');
  if (!existsSync(dir)) return 0;
  return readdirSync(dir).reduce((n, shard) => n + readdirSync(join(dir, shard)).filter((f) => /^[0-9a-f]{64}$/.test(f)).length, 0);
}

export interface BundleExports {
  bytes: Buffer;
  /** The `?url` export as the bundle gave it. */
  url: string;
  /** The bytes behind the URL (resolved against the bundle's own URL, as user code does). */
  urlBytes: Buffer;
  path: string;
  pathBytes: Buffer;
  manifest: { name: string; programs: { name: string; section: string }[]; maps: { name: string }[]; sections: string[]; btf: boolean; btfExt: boolean; sha256: string };
}

const READ_EXPORTS = `
const { readFileSync } = await import('node:fs');
const { fileURLToPath, pathToFileURL } = await import('node:url');
const file = process.argv[1];
const m = await import(pathToFileURL(file).href);
const b64 = (u) => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64');
const out = {};
if (m.bytes) out.bytes = b64(m.bytes);
if (m.url) {
  out.url = m.url;
  const u = new URL(m.url, pathToFileURL(file));
  out.urlBytes = u.protocol === 'data:' ? Buffer.from(m.url.split(',')[1], 'base64').toString('base64') : readFileSync(fileURLToPath(u)).toString('base64');
}
if (m.path) { out.path = m.path; out.pathBytes = readFileSync(m.path).toString('base64'); }
if (m.manifest) out.manifest = m.manifest;
process.stdout.write(JSON.stringify(out));
`;

/** Runs a bundle (an ES module exporting the fixture's imports) in a separate Node process. */
export function runBundle(file: string): BundleExports {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', READ_EXPORTS, file], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`node ${file} failed:\n${r.stderr}`);
  const o = JSON.parse(r.stdout) as Record<string, unknown>;
  const buf = (k: string) => (typeof o[k] === 'string' ? Buffer.from(o[k] as string, 'base64') : Buffer.alloc(0));
  return { ...(o as object), bytes: buf('bytes'), urlBytes: buf('urlBytes'), pathBytes: buf('pathBytes') } as BundleExports;
}

/** ELF magic, e_machine BPF, a .BTF section, and the fixture's programs. */
export function expectFixtureObject(bytes: Uint8Array): void {
  expect(Buffer.from(bytes.subarray(0, 4)).toString('latin1')).toBe('\x7fELF');
  const elf = readElf(bytes);
  expect(elf.machine).toBe(EM_BPF);
  expect(elf.section('.BTF'), '.BTF section').toBeDefined();
  const programs = readBpfObject(bytes)
    .programs.filter((p) => !p.isSubprogram)
    .map((p) => ({ name: p.name, section: p.section }));
  expect(programs).toEqual(EXPECTED_PROGRAMS);
}

/** Loads the object into the running kernel (every program through the verifier); nothing stays loaded. */
export function expectLoads(bytes: Uint8Array): void {
  const dir = mkdtempSync(join(tmpdir(), 'unplugin-bpf-load-'));
  const file = join(dir, 'object.o');
  writeFileSync(file, bytes);
  try {
    const r = loadIntoKernel(file);
    expect(r.log, 'bpftool prog loadall').toBe(r.ok ? r.log : '<accepted by the verifier>');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes `file` relative to the project, creating directories. */
export function write(project: string, file: string, text: string): void {
  mkdirSync(dirname(join(project, file)), { recursive: true });
  writeFileSync(join(project, file), text);
}

export function read(project: string, file: string): string {
  return readFileSync(join(project, file), 'utf8');
}

/** The fixture's program with a syntax error on line 16 (`return VERDICT` without `;`, then a stray token). */
export const BROKEN_LINE = 16;
export function breakSource(project: string): void {
  const src = read(project, 'src/xdp.bpf.c');
  const lines = src.split('\n');
  expect(lines[BROKEN_LINE - 1]).toMatch(/__u64 \*n = bpf_map_lookup_elem/);
  lines[BROKEN_LINE - 1] = '  __u64 *n = bpf_map_lookup_elem(&packets, &key) oops;';
  writeFileSync(join(project, 'src/xdp.bpf.c'), lines.join('\n'));
}

/** Polls until `check` returns a value (not undefined), or fails after `ms`. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The attributes fixture (src/attributes.js) bundled: each attribute chose its mode. */
export function expectAttributeModes(bundle: string): void {
  const e = runBundle(bundle);
  expectFixtureObject(e.bytes);
  expect(e.urlBytes.equals(e.bytes), '?url').toBe(true);
  expect(e.manifest, "with { bpf: 'manifest' }").toMatchObject({ name: 'xdp', btf: true });
  expect(e.pathBytes.equals(e.bytes), "with { bpf: 'path' }").toBe(true);
}
