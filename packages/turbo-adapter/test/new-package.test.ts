/** What turbo gen's actions write: packages from the core's scaffold, refusals of bad names and places. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROGRAM_TYPES } from '@bpf-linker/core';
import { registerBpfGenerators } from '../src/generators';
import { newLibrary, newProgram } from '../src/new-package';
import { tempMonorepo } from './support';

const empty = () => tempMonorepo({ 'package.json': { name: 'm', private: true, workspaces: ['packages/*', 'apps/*'], devDependencies: { '@bpf-linker/turbo': '^0.1.0' } } });
const json = (root: string, p: string) => JSON.parse(readFileSync(join(root, p), 'utf8'));

describe('bpf-library and bpf-program', () => {
  it('write a library package and a C program linking it, with package files, turbo.json and the pin', () => {
    const root = empty();
    expect(newLibrary(root, { name: 'counters', directory: '-' })).toMatch(/^packages\/counters: package\.json, bpf\.config\.json, include\/counters\.h, src\/counters\.c; updated turbo\.json, \.bpf-toolchain\.json.*npx turbo run bpf:build --filter=counters$/);
    newProgram(root, { name: 'xdp-counter', language: 'c', type: 'xdp', attach: '-', libraries: 'counters', directory: 'apps/xdp-counter' });
    expect(json(root, 'apps/xdp-counter/package.json')).toEqual({
      name: 'xdp-counter',
      version: '0.0.0',
      private: true,
      scripts: { 'bpf:build': 'bpf-turbo build', 'bpf:verify': 'bpf-turbo verify', 'bpf:inspect': 'bpf-turbo inspect' },
      dependencies: { counters: '*' },
      devDependencies: { '@bpf-linker/turbo': '^0.1.0' },
    });
    expect(json(root, 'apps/xdp-counter/bpf.config.json')).toEqual({
      $schema: '../../node_modules/@bpf-linker/turbo/dist/bpf.config.schema.json',
      programs: [{ name: 'xdp-counter', sources: ['src/**/*.c'], libraries: ['counters'] }],
    });
    const c = readFileSync(join(root, 'apps/xdp-counter/src/xdp-counter.bpf.c'), 'utf8');
    expect(c).toContain('Built by `turbo run bpf:build --filter=xdp-counter`');
    expect(c).toContain('#include "counters.h"');
    expect(c).toContain('SEC("xdp")\nint xdp_counter(struct xdp_md *ctx)\n{\n\tcounters_record(0);\n\treturn XDP_PASS;\n}');
    expect(json(root, 'apps/xdp-counter/turbo.json').tasks['bpf:build'].inputs).toContain('../../packages/counters/include/**/*.h');
    expect(json(root, 'turbo.json').tasks['bpf:build'].dependsOn).toEqual(['^bpf:build']);
  });

  it('writes a Rust crate and puts Rust into the pin', () => {
    const root = empty();
    // A rustc with the BPF core: the config names no toolchain (see suggestRustToolchain).
    const saved = process.env.RUSTC;
    process.env.RUSTC = '/usr/bin/rustc';
    try {
      newProgram(root, { name: 'rust-tc', language: 'rust', type: 'tc', attach: '', libraries: '', directory: '' });
    } finally {
      if (saved === undefined) delete process.env.RUSTC;
      else process.env.RUSTC = saved;
    }
    expect(readFileSync(join(root, 'packages/rust-tc/src/main.rs'), 'utf8')).toContain('#[link_section = "tc"]\npub extern "C" fn rust_tc(');
    expect(json(root, 'packages/rust-tc/bpf.config.json').programs).toEqual([{ name: 'rust-tc', cargo: { manifest: 'Cargo.toml', bin: 'rust_tc' } }]);
    expect(json(root, '.bpf-toolchain.json').rust).toHaveLength(2);
  });

  it('refuses bad names, places and choices, and writes nothing', () => {
    const root = empty();
    const attempts: [Parameters<typeof newProgram>[1], string][] = [
      [{ name: '../evil' }, '"../evil" is not a valid BPF project name: use letters, digits, - and _, starting with a letter'],
      [{ name: 'bad/name' }, '"bad/name" is not a valid BPF project name'],
      [{ name: '1st' }, '"1st" is not a valid BPF project name'],
      [{ name: 'p', directory: '/tmp/x' }, 'the project directory "/tmp/x" is absolute: give a path relative to the workspace root'],
      [{ name: 'p', directory: '../out' }, 'the project directory "../out" leaves the workspace or is its root'],
      [{ name: 'p', directory: 'packages/../../out' }, 'leaves the workspace'],
      [{ name: 'p', directory: '.' }, 'leaves the workspace or is its root'],
      [{ name: 'p', type: 'sk_lookup' }, '--type must be one of xdp, tc, kprobe'],
      [{ name: 'p', language: 'go' }, '--language must be c or rust (got "go")'],
      [{ name: 'p', type: 'tracepoint', attach: 'nocategory' }, '--attach for tracepoint is a category/name (like "syscalls/sys_enter_execve"), not "nocategory"'],
      [{ name: 'p', libraries: 'missing' }, 'libraries: there is no BPF package "missing" in this workspace'],
      [{ name: 'p', language: 'rust', libraries: 'x' }, '--libraries applies to C programs'],
    ];
    for (const [answers, message] of attempts) expect(() => newProgram(root, answers), JSON.stringify(answers)).toThrow(message);
    expect(readdirSync(root).sort()).toEqual(['package.json']);
  });

  it('refuses a name or directory that is taken', () => {
    const root = empty();
    newLibrary(root, { name: 'lib' });
    expect(() => newLibrary(root, { name: 'lib', directory: 'apps/lib' })).toThrow('a workspace package named "lib" already exists');
    expect(() => newProgram(root, { name: 'other', directory: 'packages/lib' })).toThrow('packages/lib already exists and is not empty');
    expect(() => newProgram(root, { name: 'p', libraries: 'p2' })).toThrow('no BPF package "p2"');
  });
});

describe('registerBpfGenerators', () => {
  it('registers both generators with prompts in --args order and every program type', () => {
    const generators: Record<string, { prompts: { name: string; choices?: string[] }[]; actions: unknown[] }> = {};
    registerBpfGenerators({ setGenerator: (name, config) => (generators[name] = config as never) });
    expect(generators['bpf-program'].prompts.map((p) => p.name)).toEqual(['name', 'language', 'type', 'attach', 'libraries', 'directory']);
    expect(generators['bpf-program'].prompts[2].choices).toEqual([...PROGRAM_TYPES]);
    expect(generators['bpf-library'].prompts.map((p) => p.name)).toEqual(['name', 'directory']);
  });
});
