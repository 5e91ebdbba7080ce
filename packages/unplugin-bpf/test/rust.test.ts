/**
 * A Rust eBPF crate imported as `./crate/Cargo.toml?bpf`: cargo (Debian's, whose rustc has the
 * prebuilt BPF core) builds it for bpfel-unknown-none with our bpf-linker CLI as rustc's linker.
 * Rollup builds it (cargo runs once), the object loads; the five other bundlers then take the
 * same object from the shared cache without running cargo; an edit of main.rs rebuilds, and a
 * Rust compile error is reported at src/main.rs:line:col.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { rspack } from '@rspack/core';
import * as esbuild from 'esbuild';
import { rolldown } from 'rolldown';
import { rollup, type Plugin } from 'rollup';
import { build as viteBuild } from 'vite';
import webpack from 'webpack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBpfObject, readElf } from '@bpf-linker/core';
import { baseOptions, buildPlugin, copyFixture, eventLog, expectLoads, noKernel, pluginOf, read, removeBuild, runBundle, write } from './support';

const CLI = join(__dirname, '../../cli/dist/bpf-linker.cjs');
const noRust = !existsSync('/usr/bin/cargo') || !existsSync('/usr/lib/rustlib/bpfel-unknown-none/lib')
  ? 'Debian cargo/rustc with the prebuilt BPF core are missing (scripts/setup.sh)'
  : !existsSync(CLI) ? `${CLI} is missing: build the CLI first (npm run build)` : null;

const CARGO = { cargo: '/usr/bin/cargo', rustc: '/usr/bin/rustc' };

describe.skipIf(noRust)('a Rust crate import (Cargo.toml?bpf)', () => {
  let build: string;
  let project: string;
  const log = eventLog();
  const options = () => baseOptions(project, log, { cargo: CARGO });
  const entry = () => join(project, 'src/rust.js');

  beforeAll(() => {
    build = buildPlugin('rust');
    project = copyFixture('rust');
  });
  afterAll(() => {
    removeBuild(build);
    rmSync(project, { recursive: true, force: true });
  });

  it('rollup: cargo builds the crate with bpf-linker; the object has BTF, the program, and loads', async () => {
    const bpf = await pluginOf<Plugin>(build, 'rollup');
    const bundle = await rollup({ input: entry(), plugins: [bpf(options())] });
    await bundle.write({ dir: join(project, 'out-rollup'), format: 'es' });
    await bundle.close();
    expect(log.runs()).toEqual({ compiled: 0, linked: 0, cargo: 1 });
    const e = runBundle(join(project, 'out-rollup', 'rust.js'));
    const elf = readElf(e.bytes);
    expect(elf.machine).toBe(247);
    expect(elf.section('.BTF')).toBeDefined();
    expect(readBpfObject(e.bytes).programs.filter((p) => !p.isSubprogram).map((p) => [p.name, p.section])).toEqual([['xdp_rust', 'xdp']]);
    expect(e.urlBytes.equals(e.bytes)).toBe(true);
    expect(e.url).toMatch(/bpf\/xdp_rust-[0-9a-f]{8}\.o$/);
    expect(e.manifest).toMatchObject({ name: 'xdp_rust', btf: true, license: 'GPL', programs: [{ name: 'xdp_rust', section: 'xdp' }] });
    if (!noKernel) expectLoads(e.bytes);
    // Cargo's dep-info gave the files to watch and key on.
    expect(log.events[0].dependencies).toContain(join(project, 'crate/src/main.rs'));
  });

  it('the other five bundlers deliver the same object from the cache: cargo does not run again', async () => {
    const reference = runBundle(join(project, 'out-rollup', 'rust.js')).bytes;
    log.clear();
    const outputs: Record<string, string> = {};

    const rd = await rolldown({ input: entry(), plugins: [(await pluginOf<object>(build, 'rolldown'))(options()) as never] });
    await rd.write({ dir: join(project, 'out-rolldown'), format: 'es' });
    await rd.close();
    outputs.rolldown = join(project, 'out-rolldown', 'rust.js');

    await esbuild.build({ entryPoints: [entry()], bundle: true, format: 'esm', platform: 'node', outdir: join(project, 'out-esbuild'), logLevel: 'silent', plugins: [(await pluginOf<esbuild.Plugin>(build, 'esbuild'))(options())] });
    outputs.esbuild = join(project, 'out-esbuild', 'rust.js');

    await viteBuild({
      root: project,
      configFile: false,
      logLevel: 'silent',
      base: './',
      plugins: [(await pluginOf<object>(build, 'vite'))(options()) as never],
      build: { outDir: join(project, 'out-vite'), lib: { entry: entry(), formats: ['es'], fileName: 'rust' }, minify: false },
    });
    outputs.vite = join(project, 'out-vite', 'rust.mjs');

    for (const [name, create] of [
      ['webpack', (c: object) => webpack(c as webpack.Configuration)],
      ['rspack', (c: object) => rspack(c as Parameters<typeof rspack>[0])],
    ] as const) {
      const plugin = (await pluginOf<object>(build, name))(options());
      const compiler = create({
        mode: 'production',
        context: project,
        entry: './src/rust.js',
        target: 'node',
        output: { path: join(project, `out-${name}`), filename: 'rust.js', module: true, library: { type: 'module' }, chunkFormat: 'module' },
        experiments: { outputModule: true },
        optimization: { minimize: false },
        cache: false,
        infrastructureLogging: { level: 'none' },
        plugins: [plugin],
      }) as unknown as { run(cb: (e: Error | null, s?: { hasErrors(): boolean; toString(): string }) => void): void; close(cb: () => void): void };
      await new Promise<void>((resolve, reject) =>
        compiler.run((err, stats) => compiler.close(() => (err ? reject(err) : stats!.hasErrors() ? reject(new Error(stats!.toString())) : resolve()))),
      );
      outputs[name] = join(project, `out-${name}`, 'rust.js');
    }

    expect(log.runs()).toEqual({ compiled: 0, linked: 0, cargo: 0 });
    expect(log.events.every((e) => e.cached)).toBe(true);
    for (const [name, file] of Object.entries(outputs)) {
      const e = runBundle(file);
      expect(e.bytes.equals(reference), name).toBe(true);
      expect(e.urlBytes.equals(reference), `${name} ?url`).toBe(true);
    }
  });

  it('editing main.rs rebuilds with cargo; a compile error names src/main.rs:line:col', async () => {
    const bpf = await pluginOf<Plugin>(build, 'rollup');
    const main = read(project, 'crate/src/main.rs');
    write(project, 'crate/src/main.rs', main.replace('const XDP_PASS: u32 = 2;', 'const XDP_PASS: u32 = 2;\nconst XDP_DROP: u32 = 1;').replace('    XDP_PASS\n', '    XDP_DROP\n'));
    log.clear();
    const bundle = await rollup({ input: entry(), plugins: [bpf(options())] });
    await bundle.close();
    expect(log.runs()).toEqual({ compiled: 0, linked: 0, cargo: 1 });

    write(project, 'crate/src/main.rs', main.replace('    XDP_PASS\n', '    XDP_PAS\n'));
    const err = (await rollup({ input: entry(), plugins: [bpf(options())] }).catch((e: unknown) => e)) as { message: string; loc?: { file: string; line: number } };
    const file = join(project, 'crate/src/main.rs');
    expect(err.message).toMatch(new RegExp(`${file}:11:5: error: cannot find value \`XDP_PAS\` in this scope`));
    expect(err.loc).toMatchObject({ file, line: 11 });
  });
});
