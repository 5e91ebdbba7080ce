/**
 * The webpack and Rspack suites (same configuration API, same plugin strategy): an ES module
 * bundle for Node run by Node, `?url` as an asset copied to bpf/<name>-<hash>.o, the cache
 * proven by counting runs, a header edit rebuilt by `compiler.watch`, and a syntax error
 * failing the compilation with file:line:col.
 */
import { existsSync, rmSync } from 'node:fs';
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

/** What the tests use of a webpack-compatible compiler. */
export interface Compiler {
  run(cb: (err: Error | null, stats?: Stats) => void): void;
  watch(options: object, cb: (err: Error | null, stats?: Stats) => void): { close(cb: () => void): void };
  close(cb: (err?: Error | null) => void): void;
}
interface Stats {
  hasErrors(): boolean;
  toJson(o?: object): { errors?: { message: string }[]; assets?: { name: string }[] };
}

export function webpackLikeSuite(name: 'webpack' | 'rspack', create: (config: object) => Compiler, version: string): void {
  const bpf = usePlugin<unknown>(name);

  const config = (project: string, plugin: unknown, out = 'out') => ({
    mode: 'production',
    context: project,
    entry: './src/main.js',
    target: 'node',
    output: { path: join(project, out), filename: 'main.js', module: true, library: { type: 'module' }, chunkFormat: 'module' },
    experiments: { outputModule: true },
    optimization: { minimize: false },
    cache: false,
    infrastructureLogging: { level: 'none' },
    plugins: [plugin],
  });

  const run = (compiler: Compiler) =>
    new Promise<Stats>((resolve, reject) =>
      compiler.run((err, stats) => {
        compiler.close(() => (err ? reject(err) : resolve(stats!)));
      }),
    );

  describe(`${name} ${version}`, () => {
    const log = eventLog();
    let project: string;
    let stats: Stats;

    beforeAll(async () => {
      project = copyFixture(name);
      stats = await run(create(config(project, bpf(baseOptions(project, log)))));
    });
    afterAll(() => rmSync(project, { recursive: true, force: true }));

    it('emits bpf/<name>-<hash>.o as an asset and inlines the same bytes', () => {
      expect(stats.toJson({ all: false, errors: true }).errors).toEqual([]);
      const assets = stats.toJson({ all: false, assets: true }).assets!.map((a) => a.name);
      expect(assets).toContainEqual(expect.stringMatching(/^bpf\/xdp-[0-9a-f]{8}\.o$/));
      const e = runBundle(join(project, 'out', 'main.js'));
      expectFixtureObject(e.bytes);
      expect(e.urlBytes.equals(e.bytes)).toBe(true);
      expect(e.pathBytes.equals(e.bytes)).toBe(true);
      expect(e.manifest).toMatchObject({ name: 'xdp', btf: true, programs: [{ name: 'count_packets' }, { name: 'keep_all' }] });
    });

    it.skipIf(noKernel)('the object loads into the kernel', () => {
      expectLoads(runBundle(join(project, 'out', 'main.js')).bytes);
    });

    it("import attributes choose the mode: with { type: 'bytes' }, with { bpf: 'manifest' | 'path' }", async () => {
      const s = await run(create({ ...config(project, bpf(baseOptions(project, eventLog())), 'out-attributes'), entry: './src/attributes.js' }));
      expect(s.toJson({ all: false, errors: true }).errors).toEqual([]);
      expectAttributeModes(join(project, 'out-attributes', 'main.js'));
    });

    it('a second build with nothing changed compiles and links nothing', async () => {
      expect(log.runs()).toEqual({ compiled: 1, linked: 1, cargo: 0 });
      const entries = storeEntries(project);
      log.clear();
      const again = await run(create(config(project, bpf(baseOptions(project, log)), 'out2')));
      expect(again.hasErrors()).toBe(false);
      expect(log.runs()).toEqual({ compiled: 0, linked: 0, cargo: 0 });
      expect(log.events.length).toBe(4);
      expect(log.events.every((e) => e.cached)).toBe(true);
      expect(storeEntries(project)).toBe(entries);
    });

    it('a syntax error fails the compilation with file:line:col and the hint', async () => {
      const broken = copyFixture(`${name}-error`);
      try {
        breakSource(broken);
        const s = await run(create(config(broken, bpf(baseOptions(broken, eventLog())))));
        expect(s.hasErrors()).toBe(true);
        const messages = s.toJson({ all: false, errors: true }).errors!.map((e) => e.message);
        expect(messages.length).toBeGreaterThanOrEqual(1);
        expect(messages[0]).toContain(`${join(broken, 'src/xdp.bpf.c')}:${BROKEN_LINE}:`);
        expect(messages[0]).toMatch(/error: expected ';'/);
        expect(messages[0]).toContain('hint: fix');
        // No stack trace of ours in the message; no bundle written.
        expect(messages[0]).not.toMatch(/\n\s+at .*\.js:\d+/);
        expect(existsSync(join(broken, 'out', 'main.js'))).toBe(false);
      } finally {
        rmSync(broken, { recursive: true, force: true });
      }
    });
  });

  describe(`${name} watch mode`, () => {
    it('editing the included header rebuilds', async () => {
      const project = copyFixture(`${name}-watch`);
      const log = eventLog();
      const compiler = create(config(project, bpf(baseOptions(project, log))));
      let builds = 0;
      const watching = compiler.watch({ aggregateTimeout: 50 }, (err) => {
        if (!err) builds++;
      });
      try {
        await waitFor('the first build', () => (builds >= 1 ? true : undefined));
        const first = runBundle(join(project, 'out', 'main.js'));
        expectFixtureObject(first.bytes);
        write(project, 'src/verdict.h', read(project, 'src/verdict.h').replace('XDP_PASS', 'XDP_DROP'));
        await waitFor('the rebuild', () => (builds >= 2 ? true : undefined));
        const second = runBundle(join(project, 'out', 'main.js'));
        expectFixtureObject(second.bytes);
        expect(second.bytes.equals(first.bytes)).toBe(false);
        expect(second.urlBytes.equals(second.bytes)).toBe(true);
        expect(log.runs()).toEqual({ compiled: 2, linked: 2, cargo: 0 });
      } finally {
        await new Promise<void>((r) => watching.close(() => r()));
        await new Promise<void>((r) => compiler.close(() => r()));
        rmSync(project, { recursive: true, force: true });
      }
    });
  });
}
