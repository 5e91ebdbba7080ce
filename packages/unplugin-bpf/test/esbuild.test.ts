/**
 * esbuild with the plugin, for real: bytes through esbuild's `binary` loader, `?url` through its
 * `file` loader, the cache proven by counting runs, a header edit rebuilt by `context.watch()`
 * (the plugin returns watchFiles), and a syntax error as an esbuild error with a location.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
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

const bpf = usePlugin<esbuild.Plugin>('esbuild');

const options = (project: string, plugin: esbuild.Plugin): esbuild.BuildOptions => ({
  entryPoints: [join(project, 'src/main.js')],
  bundle: true,
  format: 'esm',
  platform: 'node',
  outdir: join(project, 'out'),
  plugins: [plugin],
  logLevel: 'silent',
});

describe('esbuild', () => {
  const log = eventLog();
  let project: string;

  beforeAll(async () => {
    project = copyFixture('esbuild');
    await esbuild.build(options(project, bpf(baseOptions(project, log))));
  });
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it("emits the object through esbuild's file loader and inlines the same bytes", () => {
    const files = readdirSync(join(project, 'out'));
    expect(files.filter((f) => f.endsWith('.o'))).toEqual([expect.stringMatching(/^xdp-[A-Z0-9]{8}\.o$/)]);
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
    await esbuild.build({ ...options(project, bpf(baseOptions(project, eventLog()))), entryPoints: [join(project, 'src/attributes.js')], outdir: join(project, 'out-attributes') });
    expectAttributeModes(join(project, 'out-attributes', 'attributes.js'));
  });

  it('a second build with nothing changed compiles and links nothing', async () => {
    expect(log.runs()).toEqual({ compiled: 1, linked: 1, cargo: 0 });
    const entries = storeEntries(project);
    log.clear();
    const r = await esbuild.build({ ...options(project, bpf(baseOptions(project, log))), write: false });
    expect(log.runs()).toEqual({ compiled: 0, linked: 0, cargo: 0 });
    expect(log.events).toHaveLength(4);
    expect(log.events.every((e) => e.cached)).toBe(true);
    expect(storeEntries(project)).toBe(entries);
    expect(r.outputFiles.some((f) => f.path.endsWith('.o'))).toBe(true);
  });

  it('a syntax error is an esbuild error at file:line:column, and the build fails', async () => {
    const broken = copyFixture('esbuild-error');
    try {
      breakSource(broken);
      const err = (await esbuild.build({ ...options(broken, bpf(baseOptions(broken, eventLog()))), write: false }).catch((e: unknown) => e)) as esbuild.BuildFailure;
      // One error per import of the program (four modes), all the same.
      expect(err.errors.length).toBeGreaterThanOrEqual(1);
      expect(new Set(err.errors.map((x) => x.text)).size).toBe(1);
      const [e] = err.errors;
      expect(e.text).toMatch(new RegExp(`^${join(broken, 'src/xdp.bpf.c')}:${BROKEN_LINE}:\\d+: error: expected ';'`));
      // esbuild shows locations relative to the working directory.
      expect(resolve(e.location!.file)).toBe(join(broken, 'src/xdp.bpf.c'));
      expect(e.location!.line).toBe(BROKEN_LINE);
      expect(e.location?.lineText).toContain('oops');
      expect(e.notes[0].text).toContain('hint: fix');
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });
});

describe('esbuild watch mode', () => {
  it('editing the included header rebuilds (watchFiles)', async () => {
    const project = copyFixture('esbuild-watch');
    const log = eventLog();
    let ends = 0;
    const counter: esbuild.Plugin = { name: 'count-ends', setup: (b) => void b.onEnd(() => void ends++) };
    const o = options(project, bpf(baseOptions(project, log)));
    const ctx = await esbuild.context({ ...o, plugins: [...o.plugins!, counter] });
    try {
      await ctx.watch();
      await waitFor('the first build', () => (ends >= 1 ? true : undefined));
      const first = runBundle(join(project, 'out', 'main.js'));
      write(project, 'src/verdict.h', read(project, 'src/verdict.h').replace('XDP_PASS', 'XDP_DROP'));
      await waitFor('the rebuild', () => (ends >= 2 && log.runs().compiled >= 2 ? true : undefined));
      await waitFor('the new output', () => {
        const e = runBundle(join(project, 'out', 'main.js'));
        return e.bytes.equals(first.bytes) ? undefined : e;
      });
      expect(log.runs()).toEqual({ compiled: 2, linked: 2, cargo: 0 });
    } finally {
      await ctx.dispose();
      rmSync(project, { recursive: true, force: true });
    }
  });
});
