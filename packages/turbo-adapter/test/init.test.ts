/** init on a real directory: what it writes, that a second run changes nothing, --check, and what it leaves alone. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'jsonc-parser';
import { adapterSpec, applyInit, planInit } from '../src/init';
import { SAMPLE, tempMonorepo, writeFiles } from './support';

const read = (root: string, p: string) => readFileSync(join(root, p), 'utf8');

describe('bpf-turbo init', () => {
  it('writes turbo.json, package files, the pin, the generator registration and .gitignore; a second run changes nothing', () => {
    const root = tempMonorepo();
    const first = planInit({ cwd: root });
    expect(first.changes.map((c) => `${c.kind} ${c.path}`).sort()).toEqual([
      'create .bpf-toolchain.json',
      'create .gitignore',
      'create packages/counters/turbo.json',
      'create packages/rusty/turbo.json',
      'create packages/xdp/turbo.json',
      'create turbo.json',
      'create turbo/generators/config.ts',
      'update packages/counters/package.json',
      'update packages/rusty/package.json',
      'update packages/xdp/package.json',
    ]);
    applyInit(first);
    expect(read(root, '.gitignore')).toBe('# BPF build outputs (@bpf-linker/turbo)\n**/dist/bpf/\ntarget/\n.turbo/\n');
    expect(read(root, 'turbo/generators/config.ts')).toContain("import { registerBpfGenerators } from '@bpf-linker/turbo/generators';");
    const pin = JSON.parse(read(root, '.bpf-toolchain.json'));
    expect(pin.common[0]).toMatch(/^bpf-linker /);
    expect(pin.clang[0]).toMatch(/^clang \S+: .*clang version \d+/);
    expect(pin.rust).toHaveLength(2);

    const before = Object.fromEntries(first.changes.map((c) => [c.path, read(root, c.path)]));
    const second = planInit({ cwd: root });
    expect(second.changes).toEqual([]);
    applyInit(second);
    for (const [p, text] of Object.entries(before)) expect(read(root, p), p).toBe(text);
  });

  it('edits an existing turbo.jsonc in place, keeping comments and the user\'s tasks', () => {
    const root = tempMonorepo({ ...SAMPLE, 'turbo.jsonc': '{\n  // ours\n  "tasks": { "build": { "outputs": ["dist/**"] } }\n}\n' });
    const result = planInit({ cwd: root });
    expect(result.changes.map((c) => c.path)).toContain('turbo.jsonc');
    expect(result.changes.map((c) => c.path)).not.toContain('turbo.json');
    applyInit(result);
    const text = read(root, 'turbo.jsonc');
    expect(text).toContain('// ours');
    expect(parse(text).tasks.build).toEqual({ outputs: ['dist/**'] });
    expect(Object.keys(parse(text).tasks)).toEqual(['build', 'bpf:build', 'bpf:verify', 'bpf:inspect']);
  });

  it('--check sees a package task someone edited, a new program, and a stale pin', () => {
    const root = tempMonorepo();
    applyInit(planInit({ cwd: root }));
    const task = JSON.parse(read(root, 'packages/xdp/turbo.json'));
    task.tasks['bpf:build'].inputs = ['src/**'];
    writeFileSync(join(root, 'packages/xdp/turbo.json'), JSON.stringify(task));
    const config = JSON.parse(read(root, 'packages/counters/bpf.config.json'));
    config.programs = [{ name: 'extra', sources: ['src/**/*.c'] }];
    writeFileSync(join(root, 'packages/counters/bpf.config.json'), JSON.stringify(config));
    const pin = JSON.parse(read(root, '.bpf-toolchain.json'));
    pin.clang = ['clang /usr/bin/clang: Debian clang version 1.0.0'];
    writeFileSync(join(root, '.bpf-toolchain.json'), JSON.stringify(pin));
    const check = planInit({ cwd: root });
    expect(check.changes.map((c) => c.path).sort()).toEqual(['.bpf-toolchain.json', 'packages/counters/turbo.json', 'packages/xdp/turbo.json']);
    expect(check.changes.find((c) => c.path === '.bpf-toolchain.json')!.why).toMatch(/clang: ".*" is not pinned/);
  });

  it('leaves a generators config of the user\'s own alone and says what to add', () => {
    const root = tempMonorepo({ ...SAMPLE, 'turbo/generators/config.ts': 'export default function (plop: any) {}\n' });
    const result = planInit({ cwd: root });
    expect(result.changes.map((c) => c.path)).not.toContain('turbo/generators/config.ts');
    expect(result.notes).toContainEqual(expect.stringContaining('turbo/generators/config.ts is your own: add `import { registerBpfGenerators }'));
  });

  it('reports a broken bpf.config.json and a broken turbo.json by file', () => {
    const root = tempMonorepo({ ...SAMPLE, 'packages/web/bpf.config.json': '{ nope' });
    expect(planInit({ cwd: root }).notes).toContainEqual(expect.stringMatching(/^skipped packages\/web: .*bpf\.config\.json/));
    writeFiles(root, { 'turbo.json': '{ "tasks": { } ' });
    expect(() => planInit({ cwd: root })).toThrow(/^turbo\.json:1: CloseBraceExpected: fix the JSON by hand/);
  });

  it('a file: spec of the root is rewritten relative to each package', () => {
    const root = tempMonorepo({ ...SAMPLE, 'package.json': { name: 'm', private: true, workspaces: ['packages/*'], devDependencies: { '@bpf-linker/turbo': 'file:vendor/turbo.tgz' } } });
    expect(adapterSpec(root, 'packages/xdp')).toBe('file:../../vendor/turbo.tgz');
    expect(adapterSpec(root, '')).toBe('file:vendor/turbo.tgz');
  });
});
