/** The init, library and program generators on an empty Nx workspace tree. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { getProjects, readJson, readNxJson, readProjectConfiguration, updateNxJson, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { parseBpfConfig } from '@bpf-linker/core';
import { initGenerator } from '../src/generators/init/generator';
import { libraryGenerator } from '../src/generators/library/generator';
import { programGenerator } from '../src/generators/program/generator';
import { PROGRAM_TYPES } from '@bpf-linker/core';

const emptyTree = () => createTreeWithEmptyWorkspace();

/** Runs `fn` with some environment variables set, restoring them after. */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('init', () => {
  afterEach(() => {
    delete process.env.NX_ADD_PLUGINS;
  });

  it('registers the plugin, the named inputs, caching for the executors and .gitignore entries', async () => {
    const tree = emptyTree();
    await initGenerator(tree, { skipFormat: true });
    const nxJson = readNxJson(tree)!;
    expect(nxJson.plugins).toContainEqual({
      plugin: '@bpf-linker/nx',
      options: { compileTargetName: 'compile', archiveTargetName: 'archive', linkTargetName: 'link', buildTargetName: 'build', verifyTargetName: 'verify', inspectTargetName: 'inspect' },
    });
    expect(nxJson.namedInputs).toMatchObject({
      bpfSources: ['{projectRoot}/bpf.config.json', '{projectRoot}/**/*.c', '{projectRoot}/**/*.h'],
      bpfRust: ['{projectRoot}/bpf.config.json', '{projectRoot}/**/*.rs', '{projectRoot}/Cargo.toml', '{projectRoot}/Cargo.lock'],
    });
    expect(nxJson.targetDefaults).toMatchObject({ '@bpf-linker/nx:link': { cache: true }, '@bpf-linker/nx:cargo': { cache: true } });
    expect(tree.read('.gitignore', 'utf-8')).toContain('# BPF build outputs (@bpf-linker/nx)\n**/dist/bpf/\ntarget/\n');
  });

  it("writes .gitignore lines that git applies to every project's outputs", async () => {
    const tree = emptyTree();
    await initGenerator(tree, { skipFormat: true });
    const dir = mkdtempSync(join(tmpdir(), 'bpfl-gitignore-'));
    try {
      execFileSync('git', ['init', '-q'], { cwd: dir });
      writeFileSync(join(dir, '.gitignore'), tree.read('.gitignore', 'utf-8')!);
      const ignored = (path: string) => spawnSync('git', ['check-ignore', '-q', path], { cwd: dir }).status === 0;
      expect(ignored('apps/xdp-counter/dist/bpf/xdp-counter.o')).toBe(true);
      expect(ignored('libs/nested/counters/dist/bpf/libcounters.a')).toBe(true);
      expect(ignored('apps/rust-xdp/target/bpfel-unknown-none/release/rust_xdp')).toBe(true);
      expect(ignored('apps/xdp-counter/src/xdp-counter.bpf.c')).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('creates nx.json when the workspace has none (else nothing would be registered)', async () => {
    const tree = emptyTree();
    tree.delete('nx.json');
    await initGenerator(tree, { skipFormat: true });
    expect(tree.exists('nx.json')).toBe(true);
    expect(readNxJson(tree)!.plugins).toContainEqual(expect.objectContaining({ plugin: '@bpf-linker/nx' }));
    expect(readJson(tree, 'nx.json').$schema).toBe('./node_modules/nx/schemas/nx-schema.json');
  });

  it('is idempotent and keeps what the user changed', async () => {
    const tree = emptyTree();
    await initGenerator(tree, { skipFormat: true });
    const nxJson = readNxJson(tree)!;
    nxJson.namedInputs!.bpfSources = ['{projectRoot}/**/*.c', '{workspaceRoot}/vmlinux/*.h'];
    updateNxJson(tree, nxJson);
    await initGenerator(tree, { skipFormat: true });
    const again = readNxJson(tree)!;
    expect(again.plugins!.filter((p) => (typeof p === 'string' ? p : p.plugin) === '@bpf-linker/nx')).toHaveLength(1);
    expect(again.namedInputs!.bpfSources).toEqual(['{projectRoot}/**/*.c', '{workspaceRoot}/vmlinux/*.h']);
    expect(tree.read('.gitignore', 'utf-8')!.match(/dist\/bpf\//g)).toHaveLength(1);
  });

  it('does not register the plugin when inference is off (NX_ADD_PLUGINS=false)', async () => {
    process.env.NX_ADD_PLUGINS = 'false';
    const tree = emptyTree();
    await initGenerator(tree, { skipFormat: true });
    expect(readNxJson(tree)!.plugins ?? []).toEqual([]);
    expect(readNxJson(tree)!.namedInputs!.bpfSources).toBeDefined();
  });
});

describe('library', () => {
  it('writes a project, a valid bpf.config.json declaring the library, a header and a source', async () => {
    const tree = emptyTree();
    await libraryGenerator(tree, { name: 'packet-counters', directory: 'libs/packet-counters', tags: 'net', skipFormat: true });
    const project = readProjectConfiguration(tree, 'packet-counters');
    expect(project).toMatchObject({ root: 'libs/packet-counters', projectType: 'library', tags: ['bpf', 'net'], targets: {} });
    const config = readJson(tree, 'libs/packet-counters/bpf.config.json');
    expect(config).toEqual({
      $schema: '../../node_modules/@bpf-linker/nx/bpf.config.schema.json',
      library: { name: 'packet-counters', sources: ['src/**/*.c'], publicIncludeDirs: ['include'] },
    });
    expect(() => parseBpfConfig(config)).not.toThrow();
    expect(tree.read('libs/packet-counters/include/packet_counters.h', 'utf-8')).toContain('int packet_counters_record(__u32 slot);');
    const source = tree.read('libs/packet-counters/src/packet_counters.c', 'utf-8')!;
    expect(source).toContain('} packet_counters_hits SEC(".maps");');
    expect(source).toContain('__noinline int packet_counters_record(__u32 slot)');
    // Registered by the implicit init.
    expect(readNxJson(tree)!.plugins).toContainEqual(expect.objectContaining({ plugin: '@bpf-linker/nx' }));
  });

  it('refuses a --directory outside the workspace, writing nothing', async () => {
    const tree = emptyTree();
    const before = tree.listChanges().length;
    await expect(libraryGenerator(tree, { name: 'lib', directory: '../outside', skipFormat: true })).rejects.toThrow(
      '--directory: the project directory "../outside" leaves the workspace or is its root: give a subdirectory, such as "packages/xdp-counter"',
    );
    await expect(libraryGenerator(tree, { name: 'lib', directory: '/tmp/lib', skipFormat: true })).rejects.toThrow('--directory: the project directory "/tmp/lib" is absolute');
    expect(tree.listChanges()).toHaveLength(before);
  });

  it('refuses a name whose generated C would not compile', async () => {
    const tree = emptyTree();
    await expect(libraryGenerator(tree, { name: 'static', skipFormat: true })).rejects.toThrow(
      '"static" is not a valid BPF project name: its C identifier "static" is a C keyword; choose another name',
    );
    await expect(libraryGenerator(tree, { name: 'bpf_spin_lock', skipFormat: true })).rejects.toThrow('its C identifier "bpf_spin_lock" is already declared by libbpf');
  });

  it('refuses a name that is taken', async () => {
    const tree = emptyTree();
    await libraryGenerator(tree, { name: 'lib', skipFormat: true });
    await expect(libraryGenerator(tree, { name: 'lib', directory: 'elsewhere', skipFormat: true })).rejects.toThrow('a project named "lib" already exists');
  });
});

describe('program', () => {
  let tree: Tree;
  const source = (root: string, file: string) => tree.read(`${root}/src/${file}`, 'utf-8')!;

  it('writes a C XDP program that links the libraries it names, calling their function', async () => {
    tree = emptyTree();
    await libraryGenerator(tree, { name: 'counters', directory: 'libs/counters', skipFormat: true });
    await programGenerator(tree, { name: 'xdp-counter', directory: 'apps/xdp-counter', type: 'xdp', libraries: 'counters', skipFormat: true });
    expect(readProjectConfiguration(tree, 'xdp-counter')).toMatchObject({ projectType: 'application', targets: {} });
    expect(readJson(tree, 'apps/xdp-counter/bpf.config.json').programs).toEqual([{ name: 'xdp-counter', sources: ['src/**/*.c'], libraries: ['counters'] }]);
    const c = source('apps/xdp-counter', 'xdp-counter.bpf.c');
    expect(c).toContain('#include "counters.h"');
    expect(c).toContain('SEC("xdp")\nint xdp_counter(struct xdp_md *ctx)\n{\n\tcounters_record(0);\n\treturn XDP_PASS;\n}');
    expect(c).toContain('char LICENSE[] SEC("license") = "GPL";');
  });

  it('writes a C program with its own counter map when it links no library', async () => {
    tree = emptyTree();
    await programGenerator(tree, { name: 'probe', type: 'kprobe', attach: 'tcp_connect', skipFormat: true });
    const c = source('probe', 'probe.bpf.c');
    expect(c).toContain('} probe_runs SEC(".maps");');
    expect(c).toContain('SEC("kprobe/tcp_connect")\nint probe(void *ctx)');
    expect(c).not.toContain('&gt;');
  });

  it('writes a Rust crate with a lock file, built by cargo', async () => {
    tree = emptyTree();
    // A rustc with the BPF core: the config names no toolchain (see suggestRustToolchain).
    await withEnv({ RUSTC: '/usr/bin/rustc' }, () => programGenerator(tree, { name: 'rust-tc', language: 'rust', type: 'tc', skipFormat: true }));
    expect(readJson(tree, 'rust-tc/bpf.config.json').programs).toEqual([{ name: 'rust-tc', cargo: { manifest: 'Cargo.toml', bin: 'rust_tc' } }]);
    expect(tree.read('rust-tc/Cargo.toml', 'utf-8')).toContain('[[bin]]\nname = "rust_tc"');
    expect(tree.read('rust-tc/Cargo.lock', 'utf-8')).toContain('name = "rust-tc"');
    const rs = tree.read('rust-tc/src/main.rs', 'utf-8')!;
    expect(rs).toContain('#[link_section = "tc"]\npub extern "C" fn rust_tc(ctx: *mut c_void) -> u32 {');
  });

  it.each(PROGRAM_TYPES)('has a template for %s in both languages', async (type) => {
    tree = emptyTree();
    await programGenerator(tree, { name: 'c-prog', type, skipFormat: true });
    await programGenerator(tree, { name: 'r-prog', type, language: 'rust', skipFormat: true });
    expect(source('c-prog', 'c-prog.bpf.c')).toMatch(/SEC\("[^"]+"\)\nint c_prog\(/);
    expect(tree.read('r-prog/src/main.rs', 'utf-8')).toMatch(/#\[link_section = "[^"]+"\]\npub extern "C" fn r_prog/);
  });

  it("offers every program type of the core in the generator's schema", () => {
    const schema = JSON.parse(readFileSync(join(__dirname, '../src/generators/program/schema.json'), 'utf8')) as { properties: { type: { enum: string[] } } };
    expect(schema.properties.type.enum).toEqual([...PROGRAM_TYPES]);
  });

  it('accepts kebab-case type names', async () => {
    tree = emptyTree();
    await programGenerator(tree, { name: 'rt', type: 'raw-tracepoint' as 'raw_tracepoint', skipFormat: true });
    expect(source('rt', 'rt.bpf.c')).toContain('SEC("raw_tracepoint/sys_enter")');
  });

  it('rejects bad flags with a message that says what is expected', async () => {
    tree = emptyTree();
    await expect(programGenerator(tree, { name: 'p', type: 'sk_lookup' as 'xdp' })).rejects.toThrow('--type must be one of xdp, tc, kprobe');
    await expect(programGenerator(tree, { name: 'p', type: 'tracepoint', attach: 'nocategory' })).rejects.toThrow('--attach for tracepoint is a category/name (like "syscalls/sys_enter_execve"), not "nocategory"');
    await expect(programGenerator(tree, { name: 'p', type: 'xdp', attach: 'eth0' })).rejects.toThrow('--attach does not apply to xdp programs');
    await expect(programGenerator(tree, { name: 'p', libraries: 'missing' })).rejects.toThrow('--libraries: there is no project "missing"');
    await expect(programGenerator(tree, { name: 'p', language: 'rust', libraries: 'x' })).rejects.toThrow('--libraries applies to C programs');
    await programGenerator(tree, { name: 'not-a-lib', skipFormat: true });
    await expect(programGenerator(tree, { name: 'p', libraries: 'not-a-lib' })).rejects.toThrow('is not a BPF library');
    await expect(programGenerator(tree, { name: '1bad' })).rejects.toThrow('"1bad" is not a valid BPF project name');
  });

  it('refuses a --directory outside the workspace', async () => {
    tree = emptyTree();
    await expect(programGenerator(tree, { name: 'x', directory: '../outside', skipFormat: true })).rejects.toThrow(
      '--directory: the project directory "../outside" leaves the workspace or is its root: give a subdirectory, such as "packages/xdp-counter"',
    );
    await expect(programGenerator(tree, { name: 'x', directory: 'apps/../../outside', skipFormat: true })).rejects.toThrow('--directory: the project directory "apps/../../outside" leaves the workspace');
    await expect(programGenerator(tree, { name: 'x', directory: '/abs/x', skipFormat: true })).rejects.toThrow('--directory: the project directory "/abs/x" is absolute');
    expect(tree.listChanges().map((c) => c.path).filter((p) => p.includes('..') || p.startsWith('/'))).toEqual([]);
    await programGenerator(tree, { name: 'x', directory: 'apps//x/', skipFormat: true });
    expect(readProjectConfiguration(tree, 'x').root).toBe('apps/x');
  });

  it('refuses names whose generated program would not compile, with the reason', async () => {
    tree = emptyTree();
    await expect(programGenerator(tree, { name: 'return', skipFormat: true })).rejects.toThrow(
      '"return" is not a valid BPF project name: its C identifier "return" is a C keyword; choose another name',
    );
    await expect(programGenerator(tree, { name: 'main', skipFormat: true })).rejects.toThrow('its C identifier "main" is taken: main is the entry point of a C program');
    await expect(programGenerator(tree, { name: 'match', language: 'rust', skipFormat: true })).rejects.toThrow(
      '"match" is not a valid name for a Rust BPF program: its Rust identifier "match" is a Rust keyword; choose another name',
    );
    await expect(programGenerator(tree, { name: 'socket', type: 'socket_filter', skipFormat: true })).rejects.toThrow(
      '"socket" is not a valid name for a program of type socket_filter: its function "socket" would have the name of its ELF section "socket", which LLVM refuses (invalid symbol redefinition); choose another name',
    );
    await libraryGenerator(tree, { name: 'counters', skipFormat: true });
    await expect(programGenerator(tree, { name: 'counters_record', libraries: 'counters', skipFormat: true })).rejects.toThrow(
      '"counters_record" is not a valid name for a program linking "counters": its function "counters_record" would clash with the library\'s function counters_record(); choose another name',
    );
    expect(getProjects(tree).has('counters_record')).toBe(false);
  });

  it('writes explicit executor targets when inference is off', async () => {
    process.env.NX_ADD_PLUGINS = 'false';
    try {
      tree = emptyTree();
      await libraryGenerator(tree, { name: 'lib', skipFormat: true });
      await programGenerator(tree, { name: 'p', libraries: 'lib', skipFormat: true });
      await programGenerator(tree, { name: 'r', language: 'rust', skipFormat: true });
    } finally {
      delete process.env.NX_ADD_PLUGINS;
    }
    expect(Object.keys(readProjectConfiguration(tree, 'lib').targets!)).toEqual(['compile', 'archive']);
    expect(readProjectConfiguration(tree, 'p').targets!.link).toMatchObject({ executor: '@bpf-linker/nx:link', dependsOn: ['compile', '^archive'] });
    // No inference plugin adds the edge to the library, so `^archive` needs it written down.
    expect(readProjectConfiguration(tree, 'p').implicitDependencies).toEqual(['lib']);
    expect(readProjectConfiguration(tree, 'r').implicitDependencies).toBeUndefined();
    expect(readProjectConfiguration(tree, 'r').targets!.build).toMatchObject({ executor: '@bpf-linker/nx:cargo', inputs: ['bpfRust'] });
  });
});
