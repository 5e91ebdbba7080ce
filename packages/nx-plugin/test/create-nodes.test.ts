/**
 * Inference on real directories: the targets of a library, a C program that links it and a
 * Rust program; no process is started; results are cached by what inference read.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { CreateNodesContextV2, CreateNodesResult, ProjectConfiguration } from '@nx/devkit';

// Inference must never start a process: any attempt fails the test.
vi.mock('node:child_process', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:child_process')>();
  const refuse = (name: string) => () => {
    throw new Error(`inference started a process (${name})`);
  };
  return { ...real, execFileSync: refuse('execFileSync'), execSync: refuse('execSync'), spawnSync: refuse('spawnSync'), spawn: refuse('spawn'), exec: refuse('exec'), execFile: refuse('execFile') };
});

const { createNodes, createNodesV2, createDependencies } = await import('../src/index');
const { SAMPLE, tempWorkspace, writeFiles } = await import('./support');
// What Nx's file watcher does between runs: tell the workspace context about changed files.
const { updateFilesInContext } = await import('nx/src/utils/workspace-context');
const change = (ws: string, files: Record<string, string | object>) => {
  writeFiles(ws, files);
  updateFilesInContext(ws, Object.keys(files), []);
};

type Results = Array<readonly [string, CreateNodesResult]>;

async function infer(ws: string, files: string[], nxJson: CreateNodesContextV2['nxJsonConfiguration'] = {}, options = {}): Promise<Record<string, Omit<ProjectConfiguration, 'root'>>> {
  const results = (await createNodes[1](files, options, { nxJsonConfiguration: nxJson, workspaceRoot: ws })) as Results;
  return Object.fromEntries(results.flatMap(([, r]) => Object.entries(r.projects ?? {})));
}

const FILES = ['libs/counters/bpf.config.json', 'apps/xdp/bpf.config.json', 'apps/rusty/bpf.config.json'];

describe('createNodes', () => {
  let ws: string;
  beforeEach(() => {
    ws = tempWorkspace(SAMPLE);
  });

  it('exports one v2 implementation under both names, on bpf.config.json', () => {
    expect(createNodes).toBe(createNodesV2);
    expect(createNodes[0]).toBe('**/bpf.config.json');
  });

  it('gives a library compile and archive targets', async () => {
    const lib = (await infer(ws, FILES))['libs/counters'];
    expect(Object.keys(lib.targets!)).toEqual(['compile', 'archive']);
    expect(lib.targets!.compile).toMatchObject({
      executor: '@bpf-linker/nx:compile',
      cache: true,
      inputs: ['{projectRoot}/bpf.config.json', '{projectRoot}/**/*.c', '{projectRoot}/**/*.h', { env: 'BPF_CLANG' }, { runtime: expect.stringMatching(/^node \S+toolchain-identity\.js clang$/) }],
      outputs: ['{projectRoot}/dist/bpf/bc'],
      metadata: { technologies: ['ebpf', 'clang'], description: 'Compile 1 C source to LLVM bitcode with clang (one .bc each)' },
    });
    expect(lib.targets!.archive).toMatchObject({
      executor: '@bpf-linker/nx:archive',
      dependsOn: ['compile', '^archive'],
      inputs: ['{projectRoot}/bpf.config.json', { dependentTasksOutputFiles: '**/*.bc' }],
      outputs: ['{projectRoot}/dist/bpf/libcounters.a'],
    });
    expect(lib.metadata).toEqual({ technologies: ['ebpf'], targetGroups: { BPF: ['compile', 'archive'] } });
  });

  it('gives a C program compile (with the library headers), link, verify and inspect', async () => {
    const prog = (await infer(ws, FILES))['apps/xdp'];
    expect(Object.keys(prog.targets!)).toEqual(['compile', 'link', 'verify', 'inspect']);
    expect(prog.targets!.compile.inputs).toContainEqual('{workspaceRoot}/libs/counters/include/**/*.h');
    expect(prog.targets!.link).toMatchObject({
      executor: '@bpf-linker/nx:link',
      cache: true,
      dependsOn: ['compile', '^archive'],
      inputs: [
        '{projectRoot}/bpf.config.json',
        { dependentTasksOutputFiles: '**/*.{bc,a}', transitive: true },
        { env: 'BPF_CLANG' },
        { env: 'BPF_LINKER_LLVM' },
        { runtime: expect.stringMatching(/toolchain-identity\.js llvm$/) },
      ],
      outputs: ['{projectRoot}/dist/bpf/xdp.o', '{projectRoot}/dist/bpf/xdp.manifest.json'],
      metadata: { technologies: ['ebpf'], description: 'Link xdp.o with bpf-linker (BTF)' },
    });
    // Our executors, not shell commands with the objects' paths in them.
    expect(prog.targets!.verify).toMatchObject({ executor: '@bpf-linker/nx:verify', cache: false, dependsOn: ['link'], options: {} });
    expect(prog.targets!.inspect).toMatchObject({ executor: '@bpf-linker/nx:inspect', cache: true, dependsOn: ['link'], options: {} });
    expect(prog.targets!.verify.metadata!.help!.command).toMatch(/^node \S+bpf-linker\.cjs verify --help$/);
  });

  it('hashes include directories elsewhere in the workspace, not absolute (system) ones', async () => {
    writeFiles(ws, { 'apps/xdp/bpf.config.json': { compile: { includeDirs: ['/usr/include/bpf', '../../shared/include'] }, programs: [{ name: 'xdp', sources: ['src/**/*.c'] }] } });
    const inputs = (await infer(ws, FILES))['apps/xdp'].targets!.compile.inputs!;
    expect(inputs).toContainEqual('{workspaceRoot}/shared/include/**/*.h');
    expect(JSON.stringify(inputs)).not.toContain('/usr/include');
  });

  it('gives a Rust program a cargo build target whose only outputs are the object and manifest', async () => {
    const rust = (await infer(ws, FILES))['apps/rusty'];
    expect(Object.keys(rust.targets!)).toEqual(['build', 'verify', 'inspect']);
    expect(rust.targets!.build).toMatchObject({
      executor: '@bpf-linker/nx:cargo',
      inputs: expect.arrayContaining(['{projectRoot}/**/*.rs', '{projectRoot}/Cargo.toml', '{projectRoot}/Cargo.lock', { env: 'RUSTFLAGS' }, { env: 'RUSTUP_TOOLCHAIN' }]),
      outputs: ['{projectRoot}/dist/bpf/rusty.o', '{projectRoot}/dist/bpf/rusty.manifest.json'],
      metadata: { technologies: ['ebpf', 'rust', 'cargo'] },
    });
    expect(rust.targets!.verify.dependsOn).toEqual(['build']);
  });

  it('uses the bpfSources/bpfRust named inputs when nx.json defines them, and the configured target names', async () => {
    const nxJson = { namedInputs: { bpfSources: ['{projectRoot}/**/*.c'], bpfRust: ['{projectRoot}/**/*.rs'] } };
    const projects = await infer(ws, FILES, nxJson, { compileTargetName: 'bpf-compile', linkTargetName: 'bpf-link', archiveTargetName: 'bpf-archive' });
    expect(projects['apps/xdp'].targets!['bpf-compile'].inputs![0]).toBe('bpfSources');
    expect(projects['apps/xdp'].targets!['bpf-link'].dependsOn).toEqual(['bpf-compile', '^bpf-archive']);
    expect(projects['apps/rusty'].targets!.build.inputs![0]).toBe('bpfRust');
  });

  it('narrows the npm part of the hash to the plugin (and the CLI where it runs) once they are installed', async () => {
    expect(JSON.stringify((await infer(ws, FILES))['apps/xdp'].targets!.link.inputs)).not.toContain('externalDependencies');
    writeFiles(ws, {
      'package-lock.json': {},
      'node_modules/@bpf-linker/nx/package.json': { name: '@bpf-linker/nx' },
      'node_modules/@bpf-linker/cli/package.json': { name: '@bpf-linker/cli' },
    });
    const projects = await infer(ws, FILES);
    expect(projects['apps/xdp'].targets!.link.inputs).toContainEqual({ externalDependencies: ['@bpf-linker/nx'] });
    expect(projects['apps/rusty'].targets!.build.inputs).toContainEqual({ externalDependencies: ['@bpf-linker/nx', '@bpf-linker/cli'] });
  });

  it('infers nothing for a directory that is not a project', async () => {
    writeFiles(ws, { 'loose/bpf.config.json': { programs: [{ name: 'x', sources: ['*.c'] }] } });
    expect(await infer(ws, ['loose/bpf.config.json'])).toEqual({});
  });

  it('reports an invalid config by file, and still infers the others', async () => {
    writeFiles(ws, { 'apps/xdp/bpf.config.json': { programs: [{ name: 'xdp', sources: ['src/*.c'], link: { cpu: 'v9' } }] } });
    const err = await Promise.resolve(createNodes[1](FILES, {}, { nxJsonConfiguration: {}, workspaceRoot: ws })).then(
      () => undefined,
      (e: unknown) => e as { errors: Array<[string, Error]>; partialResults: Results },
    );
    expect(err?.errors.map(([f, e]) => [f, e.message.split('\n')[1]])).toEqual([['apps/xdp/bpf.config.json', '  programs[0].link.cpu: expected one of "generic", "probe", "v1", "v2", "v3", "v4", got "v9"']]);
    expect(err?.partialResults.map(([f]) => f).sort()).toEqual(['apps/rusty/bpf.config.json', 'libs/counters/bpf.config.json']);
  });

  it('caches results on disk by a hash of what it read, and recomputes when that changes', async () => {
    await infer(ws, FILES);
    const dataDir = join(ws, '.nx', 'workspace-data');
    const cacheFile = readdirSync(dataDir).find((f) => f.startsWith('bpf-linker-nx-'))!;
    const cached = JSON.parse(readFileSync(join(dataDir, cacheFile), 'utf8')) as Record<string, { targets: Record<string, { metadata: { description: string } }> }>;
    expect(Object.keys(cached)).toHaveLength(3);
    // Served from the cache: an edit made to the cached entry shows up.
    for (const v of Object.values(cached)) if (v.targets.compile) v.targets.compile.metadata.description = 'from the cache';
    writeFileSync(join(dataDir, cacheFile), JSON.stringify(cached));
    expect((await infer(ws, FILES))['apps/xdp'].targets!.compile.metadata!.description).toBe('from the cache');
    // A new source in the project changes its hash: inferred again.
    change(ws, { 'apps/xdp/src/more.bpf.c': '' });
    expect((await infer(ws, FILES))['apps/xdp'].targets!.compile.metadata!.description).toBe('Compile 2 C sources to LLVM bitcode with clang (one .bc each)');
    // So does another project's config (a library renamed changes the program's link inputs).
    change(ws, { 'libs/counters/bpf.config.json': { library: { name: 'counters2', sources: ['src/**/*.c'] } } });
    expect((await infer(ws, FILES))['libs/counters'].targets!.archive.outputs).toEqual(['{projectRoot}/dist/bpf/libcounters2.a']);
  });
});

describe('createDependencies', () => {
  it('adds a static edge from each program to the library projects it links', async () => {
    const ws = tempWorkspace({
      ...SAMPLE,
      'libs/base/project.json': { name: 'base' },
      'libs/base/bpf.config.json': { library: { name: 'base', sources: ['*.c'] } },
      'libs/counters/bpf.config.json': { library: { name: 'counters', sources: ['src/**/*.c'], libraries: ['../base'] } },
    });
    const projects = {
      counters: { root: 'libs/counters' },
      base: { root: 'libs/base' },
      xdp: { root: 'apps/xdp' },
      rusty: { root: 'apps/rusty' },
      other: { root: 'other' },
    };
    const deps = await createDependencies({}, { projects, workspaceRoot: ws, nxJsonConfiguration: {}, externalNodes: {}, fileMap: { projectFileMap: {}, nonProjectFiles: [] }, filesToProcess: { projectFileMap: {}, nonProjectFiles: [] } });
    expect(deps).toEqual([
      { source: 'counters', target: 'base', type: 'static', sourceFile: 'libs/counters/bpf.config.json' },
      { source: 'xdp', target: 'counters', type: 'static', sourceFile: 'apps/xdp/bpf.config.json' },
    ]);
  });
});
