/**
 * The Rollup and Rolldown suites (one plugin API, one output API): the fixture's imports in every
 * mode, the objects checked and loaded into the kernel, the cache proven by counting compile/link
 * runs, a header edit rebuilt in watch mode, and a syntax error reported with file, line and
 * column. rollup.test.ts and rolldown.test.ts run it with their bundler.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
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

/** What the tests use of a bundle. */
interface Bundle {
  write(o: object): Promise<{ output: { fileName: string }[] }>;
  generate(o: object): Promise<{ output: { fileName: string }[] }>;
  close(): Promise<void>;
}
type WatcherEvent = { code: string; result?: { close(): Promise<void> } | null; error?: unknown };
interface Watcher {
  on(event: 'event', cb: (e: WatcherEvent) => void): void;
  close(): Promise<void>;
}
type Plugin = unknown;

/** The bundler, and where it differs. */
export interface RollupLike {
  rollup(options: object): Promise<Bundle>;
  watch(options: object): Watcher;
  /** Input options that let `with { … }` import attributes through. */
  attributeInput: object;
  /** The plugin's error (with its `loc`) out of a watch-mode ERROR event's error. */
  pluginError(err: unknown): { loc?: object };
}

export function rollupLikeSuite(name: 'rollup' | 'rolldown', version: string, api: RollupLike): void {
  const bpf = usePlugin<Plugin>(name);

  describe(`${name} ${version}`, () => {
    const log = eventLog();
    let project: string;
    let out: string;

    beforeAll(async () => {
      project = copyFixture(name);
      out = join(project, 'out');
      const bundle = await api.rollup({ input: join(project, 'src/main.js'), plugins: [bpf(baseOptions(project, log))] });
      await bundle.write({ dir: out, format: 'es' });
      await bundle.close();
    });
    afterAll(() => rmSync(project, { recursive: true, force: true }));

    it('emits bpf/<name>-<hash>.o and inlines the same bytes; ?path and ?manifest agree', () => {
      const assets = readdirSync(join(out, 'bpf'));
      expect(assets).toHaveLength(1);
      expect(assets[0]).toMatch(/^xdp-[0-9a-f]{8}\.o$/);
      const e = runBundle(join(out, 'main.js'));
      expectFixtureObject(e.bytes);
      expect(e.urlBytes.equals(e.bytes)).toBe(true);
      expect(e.pathBytes.equals(e.bytes)).toBe(true);
      expect(e.url).toMatch(/\/bpf\/xdp-[0-9a-f]{8}\.o$/);
      expect(e.manifest).toMatchObject({ name: 'xdp', btf: true, btfExt: true, programs: [{ name: 'count_packets', section: 'xdp' }, { name: 'keep_all', section: 'socket' }] });
      expect(e.manifest.maps.map((m) => m.name)).toEqual(['packets']);
      expect(e.manifest.sections).toContain('.BTF');
    });

    it.skipIf(noKernel)('the object loads into the kernel', () => {
      expectLoads(runBundle(join(out, 'main.js')).bytes);
    });

    it('one compile and one link served the four imports', () => {
      expect(log.runs()).toEqual({ compiled: 1, linked: 1, cargo: 0 });
      expect(log.events.map((e) => e.mode).sort()).toEqual(['bytes', 'manifest', 'path', 'url']);
    });

    it('import attributes choose the mode: with { type: \'bytes\' }, with { bpf: \'manifest\' | \'path\' }', async () => {
      const bundle = await api.rollup({ input: join(project, 'src/attributes.js'), ...api.attributeInput, plugins: [bpf(baseOptions(project, eventLog()))] });
      await bundle.write({ dir: join(project, 'out-attributes'), format: 'es' });
      await bundle.close();
      expectAttributeModes(join(project, 'out-attributes', 'attributes.js'));
    });

    it('inlineLimit: a ?url object up to the limit is a data: URL and no file is emitted', async () => {
      const bundle = await api.rollup({ input: join(project, 'src/main.js'), plugins: [bpf(baseOptions(project, eventLog(), { inlineLimit: 1 << 20 }))] });
      const { output } = await bundle.write({ dir: join(project, 'out-inline'), format: 'es' });
      await bundle.close();
      expect(output.map((o) => o.fileName)).toEqual(['main.js']);
      const e = runBundle(join(project, 'out-inline', 'main.js'));
      expect(e.url).toMatch(/^data:application\/octet-stream;base64,/);
      expect(e.urlBytes.equals(e.bytes)).toBe(true);
      expectFixtureObject(e.urlBytes);
    });

    it('a second build with nothing changed compiles and links nothing', async () => {
      const entries = storeEntries(project);
      log.clear();
      const bundle = await api.rollup({ input: join(project, 'src/main.js'), plugins: [bpf(baseOptions(project, log))] });
      const { output } = await bundle.generate({ format: 'es' });
      await bundle.close();
      expect(log.runs()).toEqual({ compiled: 0, linked: 0, cargo: 0 });
      expect(log.events.every((e) => e.cached)).toBe(true);
      expect(storeEntries(project)).toBe(entries);
      expect(output.some((o) => o.fileName.startsWith('bpf/xdp-'))).toBe(true);
    });
  });

  describe(`${name} watch mode`, () => {
    const log = eventLog();
    let project: string;
    let watcher: Watcher | undefined;
    const events: WatcherEvent[] = [];

    beforeAll(() => {
      project = copyFixture(`${name}-watch`);
    });
    afterAll(async () => {
      await watcher?.close();
      rmSync(project, { recursive: true, force: true });
    });

    const ends = () => events.filter((e) => e.code === 'END').length;
    const errors = () => events.filter((e) => e.code === 'ERROR') as (WatcherEvent & { error: { message: string } })[];

    it('editing the included header rebuilds the object; a syntax error fails the build and fixing it recovers', async () => {
      const out = join(project, 'out');
      watcher = api.watch({
        input: join(project, 'src/main.js'),
        plugins: [bpf(baseOptions(project, log))],
        output: { dir: out, format: 'es' },
        watch: { buildDelay: 50 },
      });
      watcher.on('event', (e) => {
        events.push(e);
        if ('result' in e && e.result) void e.result.close();
      });
      await waitFor('the first build', () => (ends() >= 1 ? true : undefined));
      const first = runBundle(join(out, 'main.js'));
      expectFixtureObject(first.bytes);
      expect(log.runs()).toEqual({ compiled: 1, linked: 1, cargo: 0 });

      // XDP_PASS (2) → XDP_DROP (1): the header is not a module, only a watched file.
      write(project, 'src/verdict.h', read(project, 'src/verdict.h').replace('XDP_PASS', 'XDP_DROP'));
      await waitFor('the rebuild after the header edit', () => (ends() >= 2 ? true : undefined));
      expect(log.runs()).toEqual({ compiled: 2, linked: 2, cargo: 0 });
      const second = runBundle(join(out, 'main.js'));
      expectFixtureObject(second.bytes);
      expect(second.bytes.equals(first.bytes)).toBe(false);
      expect(second.urlBytes.equals(second.bytes)).toBe(true);

      breakSource(project);
      await waitFor('the error', () => (errors().length >= 1 ? true : undefined));
      const err = errors()[0].error;
      expect(err.message).toContain(`${join(project, 'src/xdp.bpf.c')}:${BROKEN_LINE}:`);
      expect(err.message).toMatch(/error: expected ';'/);
      expect(api.pluginError(err).loc).toMatchObject({ file: join(project, 'src/xdp.bpf.c'), line: BROKEN_LINE });
      expect(err.message).toContain('hint: fix');
      // No stale object: the output of the failed build is not written.
      expect(runBundle(join(out, 'main.js')).bytes.equals(second.bytes)).toBe(true);

      write(project, 'src/xdp.bpf.c', read(project, 'src/xdp.bpf.c').replace(' oops;', ';'));
      await waitFor('the recovery', () => (ends() >= 3 ? true : undefined));
      expect(runBundle(join(out, 'main.js')).bytes.equals(second.bytes)).toBe(true);
      expect(existsSync(join(out, 'bpf'))).toBe(true);
    });
  });
}
