/**
 * The Nx plugin in a real, temporary Nx workspace: the core, CLI and plugin packed with
 * `npm pack` and installed from the tarballs (no registry publish), `nx add`, the generators,
 * then `nx run` with real clang, the linker, cargo and the kernel; Nx's cache must hit and miss
 * for the right reasons, and the project graph must show the library dependency.
 *
 * One npm install is shared by every test; they run in order on one workspace.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBpfObject, rustcHasBpfCore } from '@bpf-linker/core';
import { kernelLoadUnavailable, loadIntoKernel } from '../../packages/linker-core/test/support/kernel';
import { createNxWorkspace, runIn, type RunResult } from '../support/nx-workspace';

const noKernel = kernelLoadUnavailable();
const RUSTUP_BIN = join(homedir(), '.cargo/bin');
/** rustup's default rustc has no BPF core; Debian's has one (what a rustup user on Debian has). */
const noRustup = !existsSync(join(RUSTUP_BIN, 'cargo')) || !rustcHasBpfCore('/usr/bin/rustc') || rustcHasBpfCore(join(RUSTUP_BIN, 'rustc'))
  ? "rustup's default toolchain without the BPF target (next to Debian's rustc with it) is not installed"
  : null;
const noRust = !existsSync('/usr/bin/cargo') || !existsSync('/usr/lib/rustlib/bpfel-unknown-none/lib') ? 'Debian cargo with the prebuilt BPF core is missing (scripts/setup.sh)' : null;

let tmp: string;
let ws: string;
let env: NodeJS.ProcessEnv;

function run(cmd: string, args: string[], cwd = ws): RunResult {
  return runIn({ ws, env }, cmd, args, cwd);
}

function nx(...args: string[]): string {
  const r = run('npx', ['--no-install', 'nx', ...args]);
  if (r.status !== 0) throw new Error(`nx ${args.join(' ')} failed (exit ${r.status}):\n${r.output}`);
  return r.output;
}

/** `fn` in the shell of a rustup user: rustup's default toolchain first on PATH, no RUSTC or CARGO. */
function asRustupUser<T>(fn: () => T): T {
  const saved = env;
  env = { ...env, PATH: `${RUSTUP_BIN}:${env.PATH}` };
  delete env.RUSTC;
  delete env.CARGO;
  try {
    return fn();
  } finally {
    env = saved;
  }
}

/** `nx run …` with static output, so each task says whether it came from the cache. */
const nxRun = (target: string) => nx('run', target, '--outputStyle=static');

function cacheState(output: string, task: string): 'hit' | 'miss' {
  const line = output.split('\n').find((l) => l.startsWith(`> nx run ${task}`));
  if (!line) throw new Error(`task ${task} did not run:\n${output}`);
  return /\[(local cache|existing outputs match the cache, left as is)\]/.test(line) ? 'hit' : 'miss';
}

function edit(path: string, change: (text: string) => string): void {
  const file = join(ws, path);
  writeFileSync(file, change(readFileSync(file, 'utf8')));
}

function expectLoads(object: string): void {
  const r = loadIntoKernel(object);
  expect(r.log, `${object} in the kernel`).toBe(r.ok ? r.log : '<accepted by the verifier>');
}

beforeAll(() => {
  const w = createNxWorkspace('bpf-nx-e2e-');
  ({ tmp, ws, env } = w);
  // What a user runs: installs the plugin (from the tarball) and runs its init generator.
  nx('add', `@bpf-linker/nx@file:${w.packs['nx-plugin']}`);
}, 600_000);

afterAll(() => {
  if (tmp && !process.env.KEEP_E2E) rmSync(tmp, { recursive: true, force: true });
});

describe('the Nx plugin in a fresh workspace', () => {
  it('nx add registers the plugin, its named inputs and target defaults', () => {
    const nxJson = JSON.parse(readFileSync(join(ws, 'nx.json'), 'utf8'));
    expect(nxJson.plugins).toEqual([expect.objectContaining({ plugin: '@bpf-linker/nx' })]);
    expect(Object.keys(nxJson.namedInputs)).toEqual(['bpfSources', 'bpfRust']);
    expect(nxJson.targetDefaults['@bpf-linker/nx:link']).toEqual({ cache: true });
    expect(JSON.parse(readFileSync(join(ws, 'package.json'), 'utf8')).devDependencies['@bpf-linker/nx']).toMatch(/^file:/);
  });

  it('generates a C library, a C program that links it, and a Rust program', () => {
    nx('g', '@bpf-linker/nx:library', 'counters', '--directory=libs/counters', '--no-interactive');
    nx('g', '@bpf-linker/nx:program', 'xdp-counter', '--directory=apps/xdp-counter', '--type=xdp', '--libraries=counters', '--no-interactive');
    nx('g', '@bpf-linker/nx:program', 'rust-xdp', '--directory=apps/rust-xdp', '--language=rust', '--type=xdp', '--no-interactive');
    for (const f of ['libs/counters/src/counters.c', 'apps/xdp-counter/src/xdp-counter.bpf.c', 'apps/rust-xdp/src/main.rs', 'apps/rust-xdp/Cargo.lock']) {
      expect(existsSync(join(ws, f)), f).toBe(true);
    }
  });

  it('infers the targets, and the project graph has the library dependency', () => {
    const show = (p: string) => JSON.parse(nx('show', 'project', p, '--json')) as { targets: Record<string, { executor?: string; outputs?: string[] }> };
    expect(Object.keys(show('counters').targets)).toEqual(expect.arrayContaining(['compile', 'archive']));
    const program = show('xdp-counter');
    expect(Object.keys(program.targets)).toEqual(expect.arrayContaining(['compile', 'link', 'verify', 'inspect']));
    expect(program.targets.link.outputs).toEqual(['{projectRoot}/dist/bpf/xdp-counter.o', '{projectRoot}/dist/bpf/xdp-counter.manifest.json']);
    expect(show('rust-xdp').targets.build.executor).toBe('@bpf-linker/nx:cargo');

    // What Nx will hash for the link: the config, the LLVM identity, our package (and, once built, the .bc/.a).
    const inputs = JSON.parse(nx('show', 'target', 'inputs', 'xdp-counter:link', '--json')) as { files: string[]; depOutputs: string[]; runtime: string[]; external: string[] };
    expect(inputs.files).toContain('apps/xdp-counter/bpf.config.json');
    expect(inputs.files.filter((f) => f.endsWith('.c'))).toEqual([]);
    expect(inputs.runtime).toEqual(['node node_modules/@bpf-linker/nx/dist/toolchain-identity.js llvm']);
    // Our package and what it depends on, instead of every npm package of the workspace.
    expect(inputs.external).toContain('npm:@bpf-linker/nx');
    expect(inputs.external).not.toContain('AllExternalDependencies');

    nx('graph', '--file=graph.json');
    const graph = JSON.parse(readFileSync(join(ws, 'graph.json'), 'utf8')).graph as { dependencies: Record<string, { target: string; type: string }[]> };
    expect(graph.dependencies['xdp-counter']).toEqual([expect.objectContaining({ target: 'counters', type: 'static' })]);
  });

  it('nx run xdp-counter:link compiles, archives the library and links an object with BTF', () => {
    const out = nxRun('xdp-counter:link');
    for (const task of ['counters:compile', 'counters:archive', 'xdp-counter:compile', 'xdp-counter:link']) expect(cacheState(out, task), task).toBe('miss');
    const obj = readBpfObject(readFileSync(join(ws, 'apps/xdp-counter/dist/bpf/xdp-counter.o')));
    expect(obj.programs.filter((p) => !p.isSubprogram).map((p) => [p.name, p.section])).toEqual([['xdp_counter', 'xdp']]);
    expect(obj.maps.map((m) => m.name)).toEqual(['counters_hits']);
    expect(obj.btf).toBeDefined();
    expect(JSON.parse(readFileSync(join(ws, 'apps/xdp-counter/dist/bpf/xdp-counter.manifest.json'), 'utf8'))).toMatchObject({ btf: true, license: 'GPL' });
  });

  it.skipIf(noKernel)('the object loads in the kernel', () => {
    expectLoads(join(ws, 'apps/xdp-counter/dist/bpf/xdp-counter.o'));
  });

  it('a second run is a cache hit, and so is a run after an unrelated change; restores deleted outputs', () => {
    expect(cacheState(nxRun('xdp-counter:link'), 'xdp-counter:link')).toBe('hit');
    writeFileSync(join(ws, 'README.md'), '# unrelated\n');
    writeFileSync(join(ws, 'apps/xdp-counter/NOTES.md'), 'not a source\n');
    expect(cacheState(nxRun('xdp-counter:link'), 'xdp-counter:link')).toBe('hit');
    rmSync(join(ws, 'apps/xdp-counter/dist'), { recursive: true });
    const out = nxRun('xdp-counter:link');
    expect(cacheState(out, 'xdp-counter:link')).toBe('hit');
    expect(existsSync(join(ws, 'apps/xdp-counter/dist/bpf/xdp-counter.o'))).toBe(true);
  });

  it('changing a C source is a miss (of that compile and of the link)', () => {
    edit('apps/xdp-counter/src/xdp-counter.bpf.c', (t) => t.replace('counters_record(0);', 'counters_record(1);'));
    const out = nxRun('xdp-counter:link');
    expect(cacheState(out, 'counters:compile')).toBe('hit');
    expect(cacheState(out, 'xdp-counter:compile')).toBe('miss');
    expect(cacheState(out, 'xdp-counter:link')).toBe('miss');
  });

  it("changing the library's source relinks the program", () => {
    edit('libs/counters/src/counters.c', (t) => t.replace('return 1;', 'return 2;'));
    const out = nxRun('xdp-counter:link');
    expect(cacheState(out, 'counters:archive')).toBe('miss');
    expect(cacheState(out, 'xdp-counter:compile')).toBe('hit');
    expect(cacheState(out, 'xdp-counter:link')).toBe('miss');
  });

  it('changing a link flag is a miss, and the flag reaches the object', () => {
    edit('apps/xdp-counter/bpf.config.json', (t) => {
      const config = JSON.parse(t);
      config.link = { cpu: 'v3' };
      return JSON.stringify(config, null, 2);
    });
    expect(cacheState(nxRun('xdp-counter:link'), 'xdp-counter:link')).toBe('miss');
    const manifest = JSON.parse(readFileSync(join(ws, 'apps/xdp-counter/dist/bpf/xdp-counter.manifest.json'), 'utf8'));
    expect(manifest.options.cpu).toBe('v3');
    expect(cacheState(nxRun('xdp-counter:link'), 'xdp-counter:link')).toBe('hit');
  });

  it('inspect runs the CLI on the object (and is cached)', () => {
    const out = nxRun('xdp-counter:inspect');
    expect(out).toContain('xdp_counter');
    expect(out).toContain('counters_hits');
    expect(cacheState(nxRun('xdp-counter:inspect'), 'xdp-counter:inspect')).toBe('hit');
  });

  it.skipIf(noKernel)('verify loads it through the CLI', () => {
    expect(nxRun('xdp-counter:verify')).toMatch(/1 program accepted/);
  });

  describe.skipIf(noRust)('the Rust program', () => {
    it('nx run rust-xdp:build runs cargo with bpf-linker as the linker; only the object is an output', () => {
      const out = nxRun('rust-xdp:build');
      expect(cacheState(out, 'rust-xdp:build')).toBe('miss');
      const obj = readBpfObject(readFileSync(join(ws, 'apps/rust-xdp/dist/bpf/rust-xdp.o')));
      expect(obj.programs.filter((p) => !p.isSubprogram).map((p) => [p.name, p.section])).toEqual([['rust_xdp', 'xdp']]);
      expect(obj.btf).toBeDefined();
      // cargo's per-project target dir, not part of the cache outputs.
      expect(existsSync(join(ws, 'apps/rust-xdp/target/bpfel-unknown-none/release/rust_xdp'))).toBe(true);
      expect(cacheState(nxRun('rust-xdp:build'), 'rust-xdp:build')).toBe('hit');
    });

    it.skipIf(noKernel)('its object loads in the kernel', () => {
      expectLoads(join(ws, 'apps/rust-xdp/dist/bpf/rust-xdp.o'));
    });

    it('changing the Rust source is a miss', () => {
      edit('apps/rust-xdp/src/main.rs', (t) => t.replace('2 // XDP_PASS', '1 // XDP_DROP'));
      expect(cacheState(nxRun('rust-xdp:build'), 'rust-xdp:build')).toBe('miss');
    });

    it.skipIf(noRustup)("with rustup's stable first on PATH: the generated config names Debian's rustc, and the build works", () => {
      asRustupUser(() => nx('g', '@bpf-linker/nx:program', 'rustup-xdp', '--directory=apps/rustup-xdp', '--language=rust', '--type=xdp', '--no-interactive'));
      const config = JSON.parse(readFileSync(join(ws, 'apps/rustup-xdp/bpf.config.json'), 'utf8')) as { programs: { cargo: Record<string, unknown> }[] };
      expect(config.programs[0].cargo).toMatchObject({ rustc: '/usr/bin/rustc' });
      const out = asRustupUser(() => nx('run', 'rustup-xdp:build', '--outputStyle=static'));
      expect(cacheState(out, 'rustup-xdp:build')).toBe('miss');
      expect(readBpfObject(readFileSync(join(ws, 'apps/rustup-xdp/dist/bpf/rustup-xdp.o'))).programs.map((p) => p.name)).toContain('rustup_xdp');
    });

    it.skipIf(noRustup)('without the setting the build fails with one message naming the fix', () => {
      edit('apps/rustup-xdp/bpf.config.json', (t) => {
        const c = JSON.parse(t) as { programs: { cargo: Record<string, unknown> }[] };
        delete c.programs[0].cargo.rustc;
        return JSON.stringify(c, null, 2);
      });
      const r = asRustupUser(() => run('npx', ['--no-install', 'nx', 'run', 'rustup-xdp:build', '--outputStyle=static']));
      expect(r.status).not.toBe(0);
      expect(r.output).toMatch(/has no `core` for bpfel-unknown-none/);
      expect(r.output).toContain('"cargo": { "rustc": "/usr/bin/rustc" }');
    });
  });

  // Last: it turns inference off for the whole workspace.
  describe('without the inference plugin (useInferencePlugins: false)', () => {
    it('a program generated with --libraries links: the library is archived first', () => {
      edit('nx.json', (t) => {
        const nxJson = JSON.parse(t) as { plugins?: unknown[]; useInferencePlugins?: boolean };
        delete nxJson.plugins;
        nxJson.useInferencePlugins = false;
        return JSON.stringify(nxJson, null, 2);
      });
      nx('g', '@bpf-linker/nx:library', 'plain-lib', '--directory=libs/plain-lib', '--no-interactive');
      nx('g', '@bpf-linker/nx:program', 'plain-prog', '--directory=apps/plain-prog', '--type=xdp', '--libraries=plain-lib', '--no-interactive');
      expect(JSON.parse(readFileSync(join(ws, 'nx.json'), 'utf8')).plugins).toBeUndefined();
      const out = nxRun('plain-prog:link');
      expect(out).toContain('> nx run plain-lib:archive');
      const obj = readBpfObject(readFileSync(join(ws, 'apps/plain-prog/dist/bpf/plain-prog.o')));
      expect(obj.programs.map((p) => p.name)).toEqual(expect.arrayContaining(['plain_prog', 'plain_lib_record']));
    });
  });
});
