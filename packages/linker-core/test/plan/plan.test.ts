/**
 * planBuild on real directories: globs, steps and their order, commands, libraries from other
 * projects (transitively, with their headers), Rust crates, and the problems it reports.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  globToRegExp,
  matchFiles,
  planBuild,
  type BpfProjectConfig,
  type BpfProjectRef,
  type CargoStep,
  type CompileStep,
  type LinkStep,
  type ToolchainIdentity,
} from '../../src/plan';
import { makeTempDir } from '../support/toolchain';

function workspace(files: Record<string, string>): string {
  const root = makeTempDir('bpfl-plan-');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** A fixed toolchain, so commands do not depend on the machine. */
const TOOLCHAIN: ToolchainIdentity = {
  linker: '1.2.3',
  host: { arch: 'x86_64', targetArch: 'x86', multiarchInclude: '/usr/include/x86_64-linux-gnu' },
  clang: { path: '/usr/lib/llvm-22/bin/clang', version: 'clang version 22.1.8' },
  llvmCandidates: [
    { path: '/usr/lib/llvm-19/lib/libLLVM.so.19.1', source: 'system', major: 19, minor: 1 },
    { path: '/usr/lib/llvm-22/lib/libLLVM.so.22.1', source: 'system', major: 22, minor: 1 },
  ],
  rustc: { path: '/usr/bin/rustc', version: 'rustc 1.96.0 (ac68faa20 2026-05-25)', llvm: '22.1.8' },
  cargo: { path: '/usr/bin/cargo', version: 'cargo 1.96.0' },
};

const LIB: BpfProjectConfig = { library: { name: 'counters', sources: ['src/*.c'], publicIncludeDirs: ['include'], libraries: ['base'] } };
const BASE: BpfProjectConfig = { library: { name: 'base', sources: ['*.c'], publicIncludeDirs: ['.'] } };

describe('globs', () => {
  it('match like Nx and Turborepo inputs', () => {
    const files = ['a.c', 'src/x.c', 'src/deep/y.c', 'src/deep/y.h', 'src/z.bpf.c', 'lib/q.c'];
    expect(matchFiles(files, ['src/**/*.c'])).toEqual(['src/x.c', 'src/deep/y.c', 'src/z.bpf.c']);
    expect(matchFiles(files, ['**/*.c'], ['src/deep/**'])).toEqual(['a.c', 'src/x.c', 'src/z.bpf.c', 'lib/q.c']);
    expect(matchFiles(files, ['{lib,src}/?.c'])).toEqual(['src/x.c', 'lib/q.c']);
    expect(matchFiles(files, ['./*.c', 'src/[xz]*.c'])).toEqual(['a.c', 'src/x.c', 'src/z.bpf.c']);
    expect(globToRegExp('a.c').test('abc')).toBe(false);
  });
});

describe('planBuild', () => {
  const ws = workspace({
    'apps/xdp/src/xdp.c': '',
    'apps/xdp/src/helpers/util.c': '',
    'apps/xdp/src/notes.txt': '',
    'apps/xdp/dist/bpf/bc/src/old.c': '', // outputs are never sources
    'apps/xdp/include/xdp.h': '',
    'libs/counters/src/counters.c': '',
    'libs/counters/include/counters.h': '',
    'libs/base/base.c': '',
    'rust/Cargo.toml': '',
    'rust/Cargo.lock': '',
    'rust/src/main.rs': '',
    'rust/target/bpfel-unknown-none/release/build/x.rs': '',
  });
  const projects: BpfProjectRef[] = [
    { name: 'counters', root: 'libs/counters', config: LIB },
    { name: 'base', root: 'libs/base', config: BASE },
  ];
  const program: BpfProjectConfig = {
    compile: { includeDirs: ['include'], defines: { DEBUG: true, LEVEL: 2 } },
    link: { cpu: 'v3' },
    programs: [{ name: 'xdp', sources: ['src/**/*.c'], libraries: ['counters', 'vendor/libextra.a'], link: { optLevel: '3' } }],
  };

  it('compiles each source once, then links the bitcode with the libraries in order', () => {
    const plan = planBuild(program, { workspaceRoot: ws, project: { name: 'xdp', root: 'apps/xdp' }, projects, toolchain: TOOLCHAIN });
    expect(plan.problems).toEqual([]);
    expect(plan.steps.map((s) => s.id)).toEqual(['compile:apps/xdp/src/helpers/util.c', 'compile:apps/xdp/src/xdp.c', 'link:xdp/xdp']);
    const compile = plan.steps[1] as CompileStep;
    expect(compile.command).toEqual([
      '/usr/lib/llvm-22/bin/clang',
      ...['-target', 'bpf', '-g', '-O2', '-emit-llvm', '-c', '-fdebug-compilation-dir=.', '-D__TARGET_ARCH_x86'],
      ...['-I', 'apps/xdp/include', '-I', 'libs/counters/include', '-I', 'libs/base'],
      ...['-idirafter', '/usr/include/x86_64-linux-gnu', '-DDEBUG', '-DLEVEL=2'],
      ...['-MD', '-MF', 'apps/xdp/dist/bpf/bc/src/xdp.d', 'apps/xdp/src/xdp.c', '-o', 'apps/xdp/dist/bpf/bc/src/xdp.bc'],
    ]);
    expect(compile.inputPatterns).toEqual(['apps/xdp/src/xdp.c', 'apps/xdp/**/*.h', 'apps/xdp/include/**/*.h', 'libs/counters/include/**/*.h', 'libs/base/**/*.h']);
    expect(compile.toolchain.clang?.version).toBe('clang version 22.1.8');

    const link = plan.steps[2] as LinkStep;
    expect(link.inputs).toEqual([
      'apps/xdp/dist/bpf/bc/src/helpers/util.bc',
      'apps/xdp/dist/bpf/bc/src/xdp.bc',
      'libs/counters/dist/bpf/libcounters.a',
      'libs/base/dist/bpf/libbase.a',
      'apps/xdp/vendor/libextra.a',
    ]);
    expect(link.options).toMatchObject({ cpu: 'v3', optLevel: '3', btf: true, emit: 'obj', output: 'apps/xdp/dist/bpf/xdp.o' });
    expect(link.command).toEqual(['bpf-linker', ...link.inputs, '-O3', '--cpu=v3', '--btf', '-o', 'apps/xdp/dist/bpf/xdp.o']);
    expect(link.outputs).toEqual(['apps/xdp/dist/bpf/xdp.o', 'apps/xdp/dist/bpf/xdp.manifest.json']);
    expect(link.dependsOn).toEqual(['compile:apps/xdp/src/helpers/util.c', 'compile:apps/xdp/src/xdp.c']);
    // clang 22 bitcode → the LLVM 22 library, as the link stage ranks them.
    expect(link.toolchain.llvm).toEqual({ path: '/usr/lib/llvm-22/lib/libLLVM.so.22.1', version: '22.1', source: 'system', rustc: undefined });

    expect(plan.dependencies).toEqual(['counters', 'base']);
    expect(plan.outputs).toEqual(link.outputs);
  });

  it('lets overrides (an Nx target option) win over the config', () => {
    const plan = planBuild(program, { workspaceRoot: ws, project: { name: 'xdp', root: 'apps/xdp' }, projects, toolchain: TOOLCHAIN, linkOverrides: { cpu: 'v1', btf: false } });
    const link = plan.steps.find((s): s is LinkStep => s.kind === 'link')!;
    expect(link.options).toMatchObject({ cpu: 'v1', btf: false, optLevel: '3' });
  });

  it('archives a library project', () => {
    const plan = planBuild(LIB, { workspaceRoot: ws, project: { name: 'counters', root: 'libs/counters' }, projects, toolchain: TOOLCHAIN });
    expect(plan.steps.map((s) => s.kind)).toEqual(['compile', 'archive']);
    expect(plan.steps[0].command).toContain('libs/counters/include');
    expect(plan.steps[1]).toMatchObject({
      members: ['libs/counters/dist/bpf/bc/src/counters.bc'],
      output: 'libs/counters/dist/bpf/libcounters.a',
      dependsOn: ['compile:libs/counters/src/counters.c'],
      runner: 'builtin',
    });
    expect(plan.dependencies).toEqual(['base']);
    expect(plan.outputs).toEqual(['libs/counters/dist/bpf/libcounters.a']);
  });

  it('builds a Rust crate with cargo, bpf-linker as the linker and a per-project target dir', () => {
    const config: BpfProjectConfig = { programs: [{ name: 'rust-xdp', cargo: {}, link: { cpu: 'v2' } }] };
    const plan = planBuild(config, { workspaceRoot: ws, project: { name: 'rust-xdp', root: 'rust' }, toolchain: TOOLCHAIN, linker: '/opt/bpf-linker' });
    const step = plan.steps[0] as CargoStep;
    expect(step.command).toEqual([
      '/usr/bin/cargo',
      ...['rustc', '--manifest-path', 'rust/Cargo.toml', '--target', 'bpfel-unknown-none', '--target-dir', 'rust/target', '--profile', 'release', '--bin', 'rust_xdp'],
      ...['--', '-C', 'linker=/opt/bpf-linker', '-C', 'debuginfo=2', '-C', 'link-arg=--cpu=v2', '-C', 'link-arg=--btf'],
      // The link report (in the target dir, not an output): the manifest's libLLVM comes from it.
      ...['-C', `link-arg=--report=${ws}/rust/target/rust-xdp.bpf-link.json`],
      // Debug info (and BTF) without the checkout's absolute path.
      `--remap-path-prefix=${ws}=.`,
      `--remap-path-prefix=${ws}/rust=.`,
    ]);
    expect(step.artifact).toBe('rust/target/bpfel-unknown-none/release/rust_xdp');
    expect(step.outputs).toEqual(['rust/dist/bpf/rust-xdp.o', 'rust/dist/bpf/rust-xdp.manifest.json']);
    expect(step.inputs).toEqual(['rust/Cargo.lock', 'rust/Cargo.toml', 'rust/src/main.rs']);
    // rustc's LLVM 22.1.8 bitcode: no rustc library among the candidates, so the system 22.1.
    expect(step.toolchain.llvm?.version).toBe('22.1');
  });

  it('reports missing sources and libraries as problems, without failing the plan', () => {
    const config: BpfProjectConfig = { programs: [{ name: 'p', sources: ['nothing/*.c'], libraries: ['nope', 'xdp'] }] };
    const plan = planBuild(config, {
      workspaceRoot: ws,
      project: { name: 'p', root: 'apps/xdp' },
      projects: [...projects, { name: 'xdp', root: 'apps/xdp', config: program }],
      toolchain: TOOLCHAIN,
    });
    expect(plan.problems.map((p) => [p.code, p.message])).toEqual([
      ['LIBRARY_NOT_FOUND', 'program p: cannot link library "nope": no BPF project is named or located "nope"'],
      ['LIBRARY_NOT_FOUND', 'program p: cannot link library "xdp": project "xdp" has no "library" in its bpf.config.json'],
      ['NO_SOURCES', 'program p: no file matches "nothing/*.c" in apps/xdp'],
    ]);
  });

  it('refuses paths that leave the project (outDir, sources) or the workspace (headers, crates, archives), and does not use them', () => {
    const config: BpfProjectConfig = {
      outDir: '../../out',
      compile: { includeDirs: ['/usr/include/bpf', '../../libs/counters/include', '../../../etc'] },
      programs: [
        {
          name: 'p',
          sources: ['src/*.c', '../../libs/counters/src/*.c', '/etc/*.c'],
          includeDirs: ['../../..'],
          libraries: ['vendor/libok.a', '../../../vendor/libx.a', '/opt/liby.a'],
        },
        { name: 'r', cargo: { manifest: '../../../crate/Cargo.toml' } },
      ],
      library: { name: 'l', sources: ['src/*.c'], publicIncludeDirs: ['include', '/usr/include', '../../..'] },
    };
    const plan = planBuild(config, { workspaceRoot: ws, project: { name: 'xdp', root: 'apps/xdp' }, toolchain: TOOLCHAIN });
    const f = 'apps/xdp/bpf.config.json';
    expect(plan.problems.map((p) => [p.code, p.file, p.message])).toEqual([
      ['PATH_OUTSIDE', f, `${f}: outDir "../../out" is outside the project apps/xdp`],
      ['PATH_OUTSIDE', f, `${f}: compile.includeDirs "../../../etc" is outside the workspace`],
      ['PATH_OUTSIDE', f, `${f}: library.publicIncludeDirs "/usr/include" is an absolute path`],
      ['PATH_OUTSIDE', f, `${f}: library.publicIncludeDirs "../../.." is outside the workspace`],
      ['PATH_OUTSIDE', f, `${f}: programs[0].libraries "../../../vendor/libx.a" is outside the workspace`],
      ['PATH_OUTSIDE', f, `${f}: programs[0].libraries "/opt/liby.a" is an absolute path`],
      ['PATH_OUTSIDE', f, `${f}: programs[0].sources "../../libs/counters/src/*.c" is outside the project apps/xdp`],
      ['PATH_OUTSIDE', f, `${f}: programs[0].sources "/etc/*.c" is an absolute path`],
      ['PATH_OUTSIDE', f, `${f}: programs[0].includeDirs "../../.." is outside the workspace`],
      ['PATH_OUTSIDE', f, `${f}: programs[1].cargo.manifest "../../../crate/Cargo.toml" is outside the workspace`],
    ]);
    expect(plan.problems[0].format()).toBe(`${f}: outDir "../../out" is outside the project apps/xdp\n  hint: outDir is a directory relative to the project, inside it, such as "dist/bpf"`);
    expect(plan.problems[1].hint).toContain('an absolute path, such as "/usr/include/bpf", names system headers');
    // None of them is used: every output in the project, every other path in the workspace
    // (absolute paths: the tools, system include directories, the workspace for rustc's remapping).
    expect(plan.outDir).toBe('apps/xdp/dist/bpf');
    const paths = plan.steps.flatMap((s) => [...s.inputs, ...s.inputPatterns, ...s.outputs, ...s.command]);
    expect(paths.filter((p) => p.startsWith('..') || p.includes('/../'))).toEqual([]);
    expect(paths.filter((p) => p.startsWith('/') && !['/usr/lib/llvm-22/bin/clang', '/usr/bin/cargo', '/usr/include/bpf', '/usr/include/bpf/**/*.h', '/usr/include/x86_64-linux-gnu'].includes(p))).toEqual([]);
    expect(plan.steps.flatMap((s) => s.outputs).every((o) => o.startsWith('apps/xdp/dist/bpf/'))).toBe(true);
    expect(plan.steps.find((s): s is LinkStep => s.kind === 'link')!.inputs.filter((i) => i.endsWith('.a'))).toEqual(['apps/xdp/vendor/libok.a']);
    expect((plan.steps.find((s) => s.kind === 'cargo') as CargoStep).cargoManifest).toBe('apps/xdp/Cargo.toml');
    expect(plan.steps.find((s): s is CompileStep => s.kind === 'compile')!.command).toEqual(expect.arrayContaining(['-I', '/usr/include/bpf', '-I', 'libs/counters/include', '-I', 'apps/xdp/include']));
  });

  it("reports a linked library project's paths against its own bpf.config.json, and the root project's outDir", () => {
    const lib: BpfProjectConfig = { outDir: '../elsewhere', library: { name: 'counters', sources: ['src/*.c'], publicIncludeDirs: ['include', '../../..'], libraries: ['../../../x.a'] } };
    const plan = planBuild({ programs: [{ name: 'p', sources: ['src/*.c'], libraries: ['counters'] }] }, {
      workspaceRoot: ws,
      project: { name: 'p', root: 'apps/xdp' },
      projects: [{ name: 'counters', root: 'libs/counters', config: lib }],
      toolchain: TOOLCHAIN,
    });
    const f = 'libs/counters/bpf.config.json';
    expect(plan.problems.map((p) => [p.file, p.message])).toEqual([
      [f, `${f}: outDir "../elsewhere" is outside the project libs/counters`],
      [f, `${f}: library.publicIncludeDirs "../../.." is outside the workspace`],
      [f, `${f}: library.libraries "../../../x.a" is outside the workspace`],
    ]);
    expect(plan.libraries.map((l) => l.archive)).toEqual(['libs/counters/dist/bpf/libcounters.a']);

    const rootProject = planBuild({ outDir: '../out', programs: [{ name: 'p', sources: ['apps/xdp/src/xdp.c'] }] }, { workspaceRoot: ws, project: { name: 'ws', root: '.' }, toolchain: TOOLCHAIN });
    expect(rootProject.problems.map((p) => p.message)).toEqual(['bpf.config.json: outDir "../out" is outside the workspace']);
    expect(rootProject.outDir).toBe('dist/bpf');
  });

  it('finds library cycles', () => {
    const a: BpfProjectConfig = { library: { name: 'a', sources: ['*.c'], libraries: ['b'] } };
    const b: BpfProjectConfig = { library: { name: 'b', sources: ['*.c'], libraries: ['a'] } };
    const plan = planBuild({ programs: [{ name: 'p', sources: ['src/*.c'], libraries: ['a'] }] }, {
      workspaceRoot: ws,
      project: { name: 'p', root: 'apps/xdp' },
      projects: [
        { name: 'a', root: 'libs/a', config: a },
        { name: 'b', root: 'libs/b', config: b },
      ],
      toolchain: TOOLCHAIN,
    });
    expect(plan.problems.map((p) => p.code)).toEqual(['LIBRARY_CYCLE']);
    expect(plan.problems[0].message).toContain('a → b → a');
  });

  it('gives a source compiled with other flags for a second program its own bitcode', () => {
    const config: BpfProjectConfig = {
      programs: [
        { name: 'one', sources: ['src/xdp.c'] },
        { name: 'two', sources: ['src/xdp.c'], defines: { TWO: 1 } },
        { name: 'three', sources: ['src/xdp.c'] },
      ],
    };
    const plan = planBuild(config, { workspaceRoot: ws, project: { name: 'm', root: 'apps/xdp' }, toolchain: TOOLCHAIN });
    const compiles = plan.steps.filter((s): s is CompileStep => s.kind === 'compile').map((s) => s.output);
    expect(compiles).toEqual(['apps/xdp/dist/bpf/bc/src/xdp.bc', 'apps/xdp/dist/bpf/bc/program-two/src/xdp.bc']);
    expect(plan.problems).toEqual([]);
  });

  it('writes the report next to the object when asked, and passes it to rustc as an absolute path', () => {
    const c = planBuild({ programs: [{ name: 'x', sources: ['src/xdp.c'], link: { report: true } }] }, { workspaceRoot: ws, project: { name: 'x', root: 'apps/xdp' }, toolchain: TOOLCHAIN });
    const link = c.steps.find((s): s is LinkStep => s.kind === 'link')!;
    expect(link.outputs).toContain('apps/xdp/dist/bpf/x.report.json');
    expect(link.command).toContain('--report=apps/xdp/dist/bpf/x.report.json');
    expect('report' in link.options).toBe(false);
    const r = planBuild({ programs: [{ name: 'r', cargo: {}, link: { report: true } }] }, { workspaceRoot: ws, project: { name: 'r', root: 'rust' }, toolchain: TOOLCHAIN });
    expect(r.steps[0].command).toContain(`link-arg=--report=${join(ws, 'rust/dist/bpf/r.report.json')}`);
  });
});
