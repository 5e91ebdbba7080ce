/** turbo.json planning from the core's plans: root tasks, exact package inputs and outputs, package.json edits. */
import { describe, expect, it } from 'vitest';
import { parse } from 'jsonc-parser';
import { applyJsonEdits } from '../src/jsonc-edit';
import { packageGlob, planTurbo, rootTasks } from '../src/plan-tasks';
import { readWorkspace } from '../src/workspace';
import { SAMPLE, tempMonorepo } from './support';

function planned(files = SAMPLE) {
  const root = tempMonorepo(files);
  const ws = readWorkspace(root);
  const plan = planTurbo(ws, { adapterSpec: () => '^0.1.0', turboFile: 'turbo.json' });
  const result = (path: string) => parse(applyJsonEdits(plan.files.find((f) => f.path === path)!.create(), plan.files.find((f) => f.path === path)!.edits));
  return { root, ws, plan, result };
}

describe('readWorkspace', () => {
  it('finds the root from a package directory, the package manager and the BPF packages', () => {
    const root = tempMonorepo();
    const ws = readWorkspace(`${root}/packages/xdp/src`);
    expect(ws.root).toBe(root);
    expect(ws.packageManager).toBe('npm');
    expect(ws.packages.map((p) => p.name)).toEqual(['counters', 'rusty', 'web', 'xdp']);
    expect(ws.bpfProjects.map((p) => p.name)).toEqual(['counters', 'rusty', 'xdp']);
    expect(ws.cargoWorkspaces).toBe(false);
  });

  it('reads pnpm-workspace.yaml and reports an invalid bpf.config.json without failing the others', () => {
    const root = tempMonorepo({
      ...SAMPLE,
      'package.json': { name: 'mono', private: true },
      'pnpm-workspace.yaml': "packages:\n  - 'packages/*'\n  - '!packages/web'\n",
      'packages/xdp/bpf.config.json': { programs: [{ name: 'xdp' }] },
    });
    const ws = readWorkspace(root);
    expect(ws.packageManager).toBe('pnpm');
    expect(ws.packages.map((p) => p.name)).toEqual(['counters', 'rusty', 'xdp']);
    expect(ws.bpfProjects.map((p) => p.name)).toEqual(['counters', 'rusty']);
    expect(ws.invalid.map((i) => i.package.name)).toEqual(['xdp']);
  });

  it('says what to do outside a monorepo', () => {
    expect(() => readWorkspace('/')).toThrow('no monorepo root above /: no package.json with "workspaces" and no pnpm-workspace.yaml');
  });
});

describe('planTurbo', () => {
  it('puts the BPF tasks, the hashed build environment and the toolchain pin in the root turbo.json', () => {
    const { result } = planned();
    const turbo = result('turbo.json');
    expect(turbo.globalDependencies).toEqual(['.bpf-toolchain.json']);
    expect(turbo.tasks['bpf:build']).toMatchObject({
      dependsOn: ['^bpf:build'],
      env: ['BPF_CLANG', 'BPF_LINKER_LLVM', 'RUSTC', 'CARGO', 'RUSTFLAGS', 'CARGO_ENCODED_RUSTFLAGS', 'RUSTUP_TOOLCHAIN'],
      passThroughEnv: ['HOME', 'CARGO_HOME', 'RUSTUP_HOME', 'CARGO_NET_OFFLINE', 'BPF_LINKER_READ_TIMEOUT', 'BPF_LINKER_CODEGEN_TIMEOUT', 'BPF_LINKER_CRASH_GUARD'],
    });
    expect(turbo.tasks['bpf:verify']).toEqual({ dependsOn: ['bpf:build'], cache: false });
    expect(turbo.tasks['bpf:inspect']).toEqual({ dependsOn: ['bpf:build'], inputs: [], outputs: [] });
    expect(turbo.futureFlags).toBeUndefined();
  });

  it("gives each package exact inputs (sources, headers of its libraries) and only final outputs", () => {
    const { result } = planned();
    expect(result('packages/xdp/turbo.json')).toEqual({
      $schema: 'https://turborepo.com/schema.json',
      extends: ['//'],
      tasks: {
        'bpf:build': {
          inputs: ['bpf.config.json', 'src/**/*.c', '**/*.h', '../counters/include/**/*.h', '!dist/bpf/**'],
          outputs: ['dist/bpf/xdp.o', 'dist/bpf/xdp.manifest.json'],
        },
      },
    });
    expect(result('packages/counters/turbo.json').tasks['bpf:build']).toEqual({
      inputs: ['bpf.config.json', 'src/**/*.c', '**/*.h', 'include/**/*.h', '!dist/bpf/**'],
      outputs: ['dist/bpf/libcounters.a'],
    });
    const rust = result('packages/rusty/turbo.json').tasks['bpf:build'];
    expect(rust.inputs).toEqual(expect.arrayContaining(['**/*.rs', 'Cargo.toml', 'Cargo.lock', 'rust-toolchain.toml', '!target/**', '../../Cargo.toml', '../../Cargo.lock']));
    expect(rust.outputs).toEqual(['dist/bpf/rusty.o', 'dist/bpf/rusty.manifest.json']);
    for (const o of [...rust.outputs, ...result('packages/xdp/turbo.json').tasks['bpf:build'].outputs]) expect(o).not.toMatch(/\.bc$|\.d$|target|\*\*/);
  });

  it('adds the scripts, the adapter and the libraries to each BPF package.json, and nothing to others', () => {
    const { plan, result } = planned();
    expect(result('packages/xdp/package.json')).toEqual({
      scripts: { 'bpf:build': 'bpf-turbo build', 'bpf:verify': 'bpf-turbo verify', 'bpf:inspect': 'bpf-turbo inspect' },
      devDependencies: { '@bpf-linker/turbo': '^0.1.0' },
      dependencies: { counters: '*' },
    });
    expect(result('packages/counters/package.json').dependencies).toBeUndefined();
    expect(plan.files.map((f) => f.path)).not.toContain('packages/web/package.json');
  });

  it('uses workspace:* for library dependencies under pnpm', () => {
    const { result } = planned({ ...SAMPLE, 'pnpm-workspace.yaml': 'packages:\n  - packages/*\n' });
    expect(result('packages/xdp/package.json').dependencies).toEqual({ counters: 'workspace:*' });
  });

  it('inputs follow include directories outside the package, and a custom outDir', () => {
    const { result } = planned({
      ...SAMPLE,
      'vmlinux/x86/vmlinux.h': '',
      'packages/xdp/bpf.config.json': { outDir: 'out', compile: { includeDirs: ['../../vmlinux/x86'] }, programs: [{ name: 'xdp', sources: ['src/*.c'], libraries: ['counters'] }] },
    });
    expect(result('packages/xdp/turbo.json').tasks['bpf:build']).toEqual({
      inputs: ['bpf.config.json', 'src/*.c', '**/*.h', '../../vmlinux/x86/**/*.h', '../counters/include/**/*.h', '!out/**'],
      outputs: ['out/xdp.o', 'out/xdp.manifest.json'],
    });
  });

  it('root tasks are the same definitions every time', () => {
    expect(rootTasks()).toEqual(rootTasks());
    expect(packageGlob('packages/a', 'packages/a/src/x.c')).toBe('src/x.c');
    expect(packageGlob('packages/a', '!packages/b/dist/**')).toBe('!../b/dist/**');
    expect(packageGlob('', 'src/x.c')).toBe('src/x.c');
  });
});
