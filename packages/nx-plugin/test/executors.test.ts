/**
 * The executors with a hand-built context: what they print when something is wrong, option
 * overrides, and their schemas against the core's config schema.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ExecutorContext } from '@nx/devkit';
import { BPF_CONFIG_SCHEMA, LINK_SETTING_KEYS, bpfConfigSchemaJson } from '@bpf-linker/core';
import archiveExecutor from '../src/executors/archive/executor';
import compileExecutor from '../src/executors/compile/executor';
import linkExecutor from '../src/executors/link/executor';
import { tempWorkspace, writeFiles } from './support';

const PLUGIN = join(import.meta.dirname, '..');

const HEADERS = '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n';
const FILES = {
  'lib/project.json': { name: 'lib' },
  'lib/bpf.config.json': { library: { name: 'lib', sources: ['*.c'], publicIncludeDirs: ['.'] } },
  'lib/lib.c': '__attribute__((noinline)) int lib_value(int x) { return x + 1; }\n',
  'lib/lib.h': 'int lib_value(int x);\n',
  'prog/project.json': { name: 'prog' },
  'prog/bpf.config.json': { programs: [{ name: 'prog', sources: ['src/*.c'], libraries: ['lib'] }] },
  'prog/src/prog.c': `${HEADERS}#include "lib.h"\nSEC("xdp") int prog(struct xdp_md *ctx) { return lib_value(1) ? XDP_PASS : XDP_DROP; }\nchar LICENSE[] SEC("license") = "GPL";\n`,
};

let ws: string;
let errors: string[];
let infos: string[];

function context(projectName: string): ExecutorContext {
  return {
    root: ws,
    cwd: ws,
    projectName,
    isVerbose: false,
    projectsConfigurations: { version: 2, projects: { lib: { root: 'lib' }, prog: { root: 'prog' } } },
    nxJsonConfiguration: {},
    projectGraph: { nodes: {}, dependencies: {} },
  } as ExecutorContext;
}

beforeEach(() => {
  ws = tempWorkspace(FILES);
  errors = [];
  infos = [];
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void errors.push(a.join(' ')));
  vi.spyOn(console, 'info').mockImplementation((...a: unknown[]) => void infos.push(a.join(' ')));
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void infos.push(a.join(' ')));
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function buildAll(overrides: Record<string, unknown> = {}): Promise<boolean[]> {
  return [
    (await compileExecutor({}, context('lib'))).success,
    (await archiveExecutor({}, context('lib'))).success,
    (await compileExecutor({}, context('prog'))).success,
    (await linkExecutor(overrides, context('prog'))).success,
  ];
}

describe('the executors', () => {
  it('build a library and a program linking it; link options override the config', async () => {
    expect(await buildAll({ cpu: 'v3', optLevel: '1' })).toEqual([true, true, true, true]);
    const manifest = JSON.parse(readFileSync(join(ws, 'prog/dist/bpf/prog.manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ program: 'prog', btf: true, options: { cpu: 'v3', optLevel: '1', btf: true } });
    expect(infos.join('\n')).toContain('compile prog/src/prog.c');
    expect(infos.join('\n')).toMatch(/prog\.o: prog \(xdp\), BTF, \d+ bytes, LLVM 22\./);
    expect(errors).toEqual([]);
  });

  it('name the bad field of an invalid config', async () => {
    writeFiles(ws, { 'prog/bpf.config.json': { programs: [{ name: 'prog', sources: ['src/*.c'], link: { opt: '2' } }] } });
    expect((await linkExecutor({}, context('prog'))).success).toBe(false);
    expect(errors.join('\n')).toContain('programs[0].link.opt: unknown property (did you mean "optLevel"?)');
  });

  it("show clang's diagnostics, the source and the command", async () => {
    writeFiles(ws, { 'prog/src/prog.c': 'int f(void) { return missing; }\n' });
    expect((await compileExecutor({}, context('prog'))).success).toBe(false);
    const text = errors.join('\n');
    expect(text).toContain('Error: clang failed on prog/src/prog.c (exit 1)');
    expect(text).toContain("error: use of undeclared identifier 'missing'");
    expect(text).toContain('hint: the command was:');
    expect(text).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('say which library is missing and how to make one', async () => {
    writeFiles(ws, { 'prog/bpf.config.json': { programs: [{ name: 'prog', sources: ['src/*.c'], libraries: ['nolib'] }] } });
    expect((await linkExecutor({}, context('prog'))).success).toBe(false);
    expect(errors.join('\n')).toContain('program prog: cannot link library "nolib": no BPF project is named or located "nolib"');
    expect(errors.join('\n')).toContain('nx g @bpf-linker/nx:library');
  });

  it('refuse a bpf.config.json whose paths leave the project or the workspace, writing nothing there', async () => {
    const escape = `bpf-escape-${process.pid}-${Date.now()}`;
    writeFiles(ws, { 'prog/bpf.config.json': { outDir: `../${escape}`, programs: [{ name: 'prog', sources: ['src/*.c'], libraries: ['lib', '../../../x.a'] }] } });
    expect((await compileExecutor({}, context('prog'))).success).toBe(false);
    expect((await linkExecutor({}, context('prog'))).success).toBe(false);
    expect(existsSync(join(ws, escape))).toBe(false);
    expect(existsSync(join(ws, 'prog/dist'))).toBe(false);
    const text = errors.join('\n');
    expect(text).toContain(`Error: prog/bpf.config.json: outDir "../${escape}" is outside the project prog\n  hint: outDir is a directory relative to the project, inside it, such as "dist/bpf"`);
    expect(text).toContain('Error: prog/bpf.config.json: programs[0].libraries "../../../x.a" is outside the workspace');
  });

  it("report the linker's error when the library was not archived", async () => {
    expect((await compileExecutor({}, context('prog'))).success).toBe(true);
    expect((await linkExecutor({}, context('prog'))).success).toBe(false);
    expect(errors.join('\n')).toMatch(/Error: .*lib\/dist\/bpf\/liblib\.a/);
  });
});

describe('executor and generator manifests', () => {
  const json = (p: string) => JSON.parse(readFileSync(join(PLUGIN, p), 'utf8'));

  it('point at built files whose sources and schemas exist', () => {
    const { executors } = json('executors.json');
    const { generators } = json('generators.json');
    expect(Object.keys(executors).sort()).toEqual(['archive', 'cargo', 'compile', 'inspect', 'link', 'verify']);
    expect(Object.keys(generators).sort()).toEqual(['init', 'library', 'program']);
    for (const e of Object.values<{ implementation: string; schema: string }>(executors)) {
      expect(existsSync(join(PLUGIN, e.implementation.replace('./dist/', 'src/').replace(/\.js$/, '.ts')))).toBe(true);
      expect(existsSync(join(PLUGIN, e.schema.replace('./dist/', 'src/')))).toBe(true);
    }
    for (const g of Object.values<{ factory: string; schema: string }>(generators)) {
      expect(existsSync(join(PLUGIN, g.factory.replace('./dist/', 'src/').replace(/\.js#.*$/, '.ts')))).toBe(true);
      expect(existsSync(join(PLUGIN, g.schema.replace('./dist/', 'src/')))).toBe(true);
    }
  });

  it('ship the bpf.config.json schema the core validates with (rebuild the plugin when this fails)', () => {
    expect(readFileSync(join(PLUGIN, 'bpf.config.schema.json'), 'utf8')).toBe(bpfConfigSchemaJson());
  });

  it('link and cargo accept every link setting of bpf.config.json, with the same types', () => {
    const linkSettings = BPF_CONFIG_SCHEMA.definitions.linkSettings.properties as Record<string, { type?: string; enum?: readonly string[] }>;
    for (const name of ['link', 'cargo']) {
      const props = json(`src/executors/${name}/schema.json`).properties as Record<string, { type: string; enum?: string[] }>;
      expect(Object.keys(props).sort()).toEqual([...LINK_SETTING_KEYS, 'config', 'programs'].sort());
      for (const key of LINK_SETTING_KEYS) {
        const want = linkSettings[key];
        expect(props[key].type, key).toBe(want.type ?? 'string');
        expect(props[key].enum, key).toEqual(want.enum ? [...want.enum] : undefined);
      }
    }
  });
});
