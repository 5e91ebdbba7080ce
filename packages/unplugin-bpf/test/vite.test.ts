/**
 * Vite 8 with the plugin, for real: a library build run by Node (asset and inline bytes equal,
 * the object loads, the second build runs nothing), and a dev server driven over HTTP and its HMR
 * WebSocket as a browser would: `?url` served from `/@bpf/`, a header edit reloads and serves
 * the new object, a syntax error reaches the overlay with file:line:col and fixing it recovers,
 * and the server keeps answering while a long build runs (the build is in a worker process).
 */
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build as viteBuild, createServer, type Plugin, type ViteDevServer } from 'vite';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BROKEN_LINE,
  baseOptions,
  breakSource,
  copyFixture,
  eventLog,
  expectAttributeModes,
  expectFixtureObject,
  expectLoads,
  noKernel,
  read,
  runBundle,
  storeEntries,
  usePlugin,
  waitFor,
  write,
} from './support';

const bpf = usePlugin<Plugin>('vite');

describe('vite build', () => {
  const log = eventLog();
  let project: string;

  const libBuild = (outDir: string) =>
    viteBuild({
      root: project,
      configFile: false,
      logLevel: 'silent',
      // Relative asset URLs (`new URL('bpf/…', import.meta.url)`): the bundle runs from its directory.
      base: './',
      plugins: [bpf(baseOptions(project, log))],
      build: { outDir, lib: { entry: join(project, 'src/main.js'), formats: ['es'], fileName: 'main' }, minify: false },
    });

  beforeAll(async () => {
    project = copyFixture('vite-build');
    await libBuild(join(project, 'out'));
  });
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it('emits bpf/<name>-<hash>.o and inlines the same bytes', () => {
    const e = runBundle(join(project, 'out', 'main.mjs'));
    expectFixtureObject(e.bytes);
    expect(e.url).toMatch(/bpf\/xdp-[0-9a-f]{8}\.o$/);
    expect(e.urlBytes.equals(e.bytes)).toBe(true);
    expect(e.pathBytes.equals(e.bytes)).toBe(true);
    expect(e.manifest).toMatchObject({ name: 'xdp', btf: true, programs: [{ name: 'count_packets' }, { name: 'keep_all' }] });
  });

  it.skipIf(noKernel)('the object loads into the kernel', () => {
    expectLoads(runBundle(join(project, 'out', 'main.mjs')).bytes);
  });

  it("import attributes choose the mode (build.rolldownOptions.experimental.importAttributes)", async () => {
    await viteBuild({
      root: project,
      configFile: false,
      logLevel: 'silent',
      base: './',
      plugins: [bpf(baseOptions(project, eventLog()))],
      build: {
        outDir: join(project, 'out-attributes'),
        lib: { entry: join(project, 'src/attributes.js'), formats: ['es'], fileName: 'attributes' },
        minify: false,
        rolldownOptions: { experimental: { importAttributes: true } },
      },
    });
    expectAttributeModes(join(project, 'out-attributes', 'attributes.mjs'));
  });

  it('a second build with nothing changed compiles and links nothing', async () => {
    expect(log.runs()).toEqual({ compiled: 1, linked: 1, cargo: 0 });
    const entries = storeEntries(project);
    log.clear();
    await libBuild(join(project, 'out2'));
    expect(log.runs()).toEqual({ compiled: 0, linked: 0, cargo: 0 });
    expect(log.events.length).toBeGreaterThan(0);
    expect(log.events.every((e) => e.cached)).toBe(true);
    expect(storeEntries(project)).toBe(entries);
    expect(runBundle(join(project, 'out2', 'main.mjs')).bytes.equals(runBundle(join(project, 'out', 'main.mjs')).bytes)).toBe(true);
  });
});

interface HmrMessage {
  type: string;
  triggeredBy?: string;
  err?: { message: string; loc?: { file?: string; line: number; column: number }; frame?: string; plugin?: string; id?: string };
  updates?: { path: string }[];
}

describe('vite dev server', () => {
  const log = eventLog();
  let project: string;
  let server: ViteDevServer;
  let base: string;
  let socket: WebSocket;
  const messages: HmrMessage[] = [];

  const get = async (path: string) => {
    const r = await fetch(`${base}${path}`);
    return { status: r.status, text: await r.text() };
  };
  /** The bytes a `?import` module of the plugin exports (the base64 its code decodes). */
  const moduleBytes = async (path: string) => {
    const r = await get(path);
    expect(r.status, r.text).toBe(200);
    const b64 = /atob\("([^"]+)"\)/.exec(r.text)?.[1];
    expect(b64, r.text.slice(0, 300)).toBeDefined();
    return Buffer.from(b64!, 'base64');
  };
  const messagesOf = (type: string) => messages.filter((m) => m.type === type);

  beforeAll(async () => {
    project = copyFixture('vite-dev');
    server = await createServer({
      root: project,
      configFile: false,
      logLevel: 'silent',
      server: { host: '127.0.0.1', port: 0, strictPort: false },
      optimizeDeps: { noDiscovery: true, include: [] },
      plugins: [bpf(baseOptions(project, log))],
    });
    await server.listen();
    const { port } = server.httpServer!.address() as AddressInfo;
    base = `http://127.0.0.1:${port}`;
    socket = new WebSocket(`ws://127.0.0.1:${port}/?token=${server.config.webSocketToken}`, 'vite-hmr');
    socket.on('message', (data) => messages.push(JSON.parse(String(data)) as HmrMessage));
    await waitFor('the HMR connection', () => (messagesOf('connected').length > 0 ? true : undefined), 20_000);
  });
  afterAll(async () => {
    socket?.close();
    await server?.close();
    rmSync(project, { recursive: true, force: true });
  });

  it('serves the bytes inline, ?url from /@bpf/, and ?manifest', async () => {
    const main = await get('/src/main.js');
    expect(main.status).toBe(200);
    const bytes = await moduleBytes('/src/xdp.bpf.c?import');
    expectFixtureObject(bytes);
    const urlModule = await get('/src/xdp.bpf.c?import&url');
    const url = /export default "([^"]+)"/.exec(urlModule.text)?.[1];
    expect(url).toMatch(/^\/@bpf\/xdp-[0-9a-f]{8}\.o$/);
    const asset = await fetch(`${base}${url}`);
    expect(asset.status).toBe(200);
    expect(Buffer.from(await asset.arrayBuffer()).equals(bytes)).toBe(true);
    const manifest = await get('/src/xdp.bpf.c?import&manifest');
    expect(manifest.text).toContain('"count_packets"');
    if (!noKernel) expectLoads(bytes);
  });

  it('editing the included header reloads the page and serves the new object', async () => {
    const before = await moduleBytes('/src/xdp.bpf.c?import');
    const compiled = log.runs().compiled;
    const reloads = messagesOf('full-reload').length + messagesOf('update').length;
    write(project, 'src/verdict.h', read(project, 'src/verdict.h').replace('XDP_PASS', 'XDP_DROP'));
    // Vite tracks the header as an import of the module (addWatchFile); the module accepts no
    // hot update, so the change propagates to a full reload of the page.
    await waitFor('the reload', () => (messagesOf('full-reload').length + messagesOf('update').length > reloads ? true : undefined));
    expect(messages.at(-1)).toMatchObject({ type: 'full-reload', triggeredBy: join(project, 'src/verdict.h') });
    const after = await moduleBytes('/src/xdp.bpf.c?import');
    expectFixtureObject(after);
    expect(after.equals(before)).toBe(false);
    expect(log.runs().compiled).toBe(compiled + 1);
  });

  it('a syntax error reaches the overlay with file:line:col; fixing it recovers', async () => {
    const good = await moduleBytes('/src/xdp.bpf.c?import');
    const reloadsBefore = messagesOf('full-reload').length + messagesOf('update').length;
    breakSource(project);
    await waitFor('the reload after the edit', () => (messagesOf('full-reload').length + messagesOf('update').length > reloadsBefore ? true : undefined));
    const errorsBefore = messagesOf('error').length;
    const failed = await get('/src/xdp.bpf.c?import');
    expect(failed.status).toBe(500);
    const overlay = await waitFor('the error on the HMR socket', () => messagesOf('error')[errorsBefore]);
    const file = join(project, 'src/xdp.bpf.c');
    expect(overlay.err!.message).toContain(`${file}:${BROKEN_LINE}:`);
    expect(overlay.err!.message).toMatch(/error: expected ';'/);
    expect(overlay.err!.message).toContain('hint: fix');
    expect(overlay.err!.loc).toMatchObject({ file, line: BROKEN_LINE });
    expect(overlay.err!.frame).toContain('oops');
    expect(overlay.err!.plugin).toBe('unplugin-bpf');
    // No stale object is served while the source is broken.
    expect((await get('/src/xdp.bpf.c?import&url')).status).toBe(500);

    const reloads = messagesOf('full-reload').length + messagesOf('update').length;
    write(project, 'src/xdp.bpf.c', read(project, 'src/xdp.bpf.c').replace(' oops;', ';'));
    await waitFor('the reload after the fix', () => (messagesOf('full-reload').length + messagesOf('update').length > reloads ? true : undefined));
    expect((await moduleBytes('/src/xdp.bpf.c?import')).equals(good)).toBe(true);
  });

  it('keeps answering requests while a long build runs', async () => {
    // A program big enough that compiling and linking it takes seconds on a fast machine too
    // (300 programs once took 0.9 s here: the bounds below must hold with a wide margin).
    const programs = Array.from({ length: 2000 }, (_, i) => `SEC("xdp") int p${i}(struct xdp_md *ctx) { __u32 k = ${i % 64}; __u64 *v = bpf_map_lookup_elem(&m, &k); if (v) *v += ${i}; return XDP_PASS; }`);
    write(
      project,
      'src/heavy.bpf.c',
      ['#include <linux/bpf.h>', '#include <bpf/bpf_helpers.h>', 'struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64); } m SEC(".maps");', ...programs, 'char LICENSE[] SEC("license") = "GPL";', ''].join('\n'),
    );
    await get('/@vite/client');
    let done = false;
    const heavy = moduleBytes('/src/heavy.bpf.c?import').finally(() => (done = true));
    const latencies: number[] = [];
    while (!done) {
      const t = performance.now();
      const r = await get('/@vite/client');
      expect(r.status).toBe(200);
      if (!done) latencies.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 20));
    }
    const bytes = await heavy;
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    const event = log.events.find((e) => e.name === 'heavy')!;
    expect(event).toMatchObject({ cached: false, compiled: 1, linked: 1 });
    // The build took long enough to mean something, and requests were answered all along: none
    // waited even half as long as the link, which a link on the server's thread would block.
    const link = event.steps.find((s) => s.kind === 'link')!.durationMs;
    expect(event.durationMs).toBeGreaterThan(1000);
    expect(link).toBeGreaterThan(400);
    expect(latencies.length).toBeGreaterThanOrEqual(10);
    expect(Math.max(...latencies)).toBeLessThan(link / 2);
  });

  it('a crash of the build process fails that import with a clear error; the server stays up and the next request builds', async () => {
    // A new program (the big one under another name): a module Vite has not transformed, a cache miss.
    write(project, 'src/crash.bpf.c', read(project, 'src/heavy.bpf.c'));
    const request = get('/src/crash.bpf.c?import');
    // The build's own process (a child of this one, running worker.cjs): killed as a native crash would end it.
    const worker = await waitFor('the build process', () => childRunning('worker.cjs'), 20_000);
    process.kill(worker, 'SIGKILL');
    const failed = await request;
    expect(failed.status).toBe(500);
    const overlay = await waitFor('the error on the HMR socket', () => messagesOf('error').find((m) => m.err?.message.includes('SIGKILL')));
    expect(overlay.err!.message).toContain(`the build of ${join(project, 'src/crash.bpf.c')} ended unexpectedly (signal SIGKILL)`);
    expect((await get('/@vite/client')).status).toBe(200);
    const bytes = await moduleBytes('/src/crash.bpf.c?import');
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  });
});

/** The pid of a child process of this one whose command line contains `name`, if any. */
function childRunning(name: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(name)) return Number(entry);
    } catch {
      // the process ended meanwhile
    }
  }
  return undefined;
}
