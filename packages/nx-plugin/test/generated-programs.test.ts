/**
 * What the generators write builds, links and loads: a library, then every program type in C
 * (with and without the library) and in Rust, each built by the plugin's own executors (real
 * clang, the core's linker, real cargo with the bpf-linker CLI) and loaded by the kernel.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { getProjects, type ExecutorContext } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { PROGRAM_TYPE_INFO, readBpfObject, typeById } from '@bpf-linker/core';
import archiveExecutor from '../src/executors/archive/executor';
import cargoExecutor from '../src/executors/cargo/executor';
import compileExecutor from '../src/executors/compile/executor';
import linkExecutor from '../src/executors/link/executor';
import { libraryGenerator } from '../src/generators/library/generator';
import { programGenerator } from '../src/generators/program/generator';
import { PROGRAM_TYPES, projectNames, type ProgramType } from '@bpf-linker/core';
import { resolveCli } from '../src/paths';
import { kernelLoadUnavailable, loadIntoKernel } from '../../linker-core/test/support/kernel';
import { flushTree, tempWorkspace } from './support';

const noKernel = kernelLoadUnavailable();

/**
 * Some kernels refuse whole program types whatever the program (this host answers EPERM to every
 * LSM, fentry, fexit and BTF-tracepoint program: a security policy, whatever the capabilities).
 * Each type is probed with the smallest clang-built program of its section; generated programs
 * of a type are loaded only where that one loads, and the test title says when it is not.
 */
function typeLoadUnavailable(section: string): string | null {
  if (noKernel) return noKernel;
  const dir = mkdtempSync(join(tmpdir(), 'bpf-type-probe-'));
  writeFileSync(join(dir, 'p.c'), `__attribute__((section("${section}"), used)) int p(void *c) { return ${section.startsWith('cgroup') || section === 'sk_msg' || section === 'sockops' ? 1 : 0}; }\nchar _l[] __attribute__((section("license"), used)) = "GPL";\n`);
  execFileSync('/usr/lib/llvm-22/bin/clang', ['-target', 'bpf', '-O2', '-g', '-c', join(dir, 'p.c'), '-o', join(dir, 'p.o')]);
  const r = loadIntoKernel(join(dir, 'p.o'));
  return r.ok ? null : `this kernel refuses even clang's own ${section} program: ${r.log.split('\n').find((l) => l.includes('failed')) ?? r.log.trim()}`;
}
const noRust = !existsSync('/usr/bin/cargo') || !existsSync('/usr/lib/rustlib/bpfel-unknown-none/lib') ? 'Debian cargo with the prebuilt BPF core is missing' : null;

/**
 * Names that are odd but valid identifiers in the generated code: mixed case and separators,
 * digits, a keyword inside a word, C library names that only draw a warning, the template's own
 * local names, a section name of another type, Rust prelude and core names.
 */
const AWKWARD: Array<{ name: string; type: ProgramType; language?: 'rust'; libraries?: string }> = [
  { name: 'A_b-c', type: 'xdp' },
  { name: 'xdp2', type: 'xdp' },
  { name: 'intx', type: 'socket_filter' },
  { name: 'tc', type: 'xdp' },
  { name: 'key', type: 'kprobe' },
  { name: 'runs', type: 'tracepoint' },
  { name: 'skb', type: 'socket_filter' },
  { name: 'log', type: 'tc' },
  { name: 'bpfFirewall', type: 'cgroup_skb', libraries: 'Odd_lib-name' },
  { name: 'odd_lib_name_runs', type: 'xdp', libraries: 'Odd_lib-name' },
  { name: 'Rs_b-c', type: 'xdp', language: 'rust' },
  { name: 'core', type: 'tc', language: 'rust' },
  { name: 'c_void', type: 'xdp', language: 'rust' },
  { name: 'u32', type: 'socket_filter', language: 'rust' },
  { name: 'memcpy', type: 'kprobe', language: 'rust' },
];

let ws: string;
let context: (project: string) => ExecutorContext;

beforeAll(async () => {
  const tree = createTreeWithEmptyWorkspace();
  await libraryGenerator(tree, { name: 'counters', directory: 'libs/counters', skipFormat: true });
  for (const type of PROGRAM_TYPES) {
    const t = type.replace(/_/g, '-');
    await programGenerator(tree, { name: `c-${t}`, directory: `c/${t}`, type, skipFormat: true });
    await programGenerator(tree, { name: `lib-${t}`, directory: `lib/${t}`, type, libraries: 'counters', skipFormat: true });
    await programGenerator(tree, { name: `rust-${t}`, directory: `rust/${t}`, type, language: 'rust', skipFormat: true });
  }
  await libraryGenerator(tree, { name: 'Odd_lib-name', directory: 'libs/odd', skipFormat: true });
  for (const a of AWKWARD) await programGenerator(tree, { name: a.name, directory: `awkward/${a.name}`, type: a.type, language: a.language, libraries: a.libraries, skipFormat: true });
  ws = tempWorkspace();
  flushTree(tree, ws);
  const projects = Object.fromEntries([...getProjects(tree)].map(([name, p]) => [name, p]));
  context = (projectName) => ({
    root: ws,
    cwd: ws,
    projectName,
    isVerbose: false,
    projectsConfigurations: { version: 2, projects },
    nxJsonConfiguration: {},
    projectGraph: { nodes: {}, dependencies: {} },
  }) as ExecutorContext;
  Object.assign(process.env, { RUSTC: '/usr/bin/rustc', CARGO: '/usr/bin/cargo', CARGO_HOME: join(ws, '.cargo-home'), CARGO_NET_OFFLINE: 'true' });
  expect(await compileExecutor({}, context('counters'))).toEqual({ success: true });
  expect(await archiveExecutor({}, context('counters'))).toEqual({ success: true });
  expect(await compileExecutor({}, context('Odd_lib-name'))).toEqual({ success: true });
  expect(await archiveExecutor({}, context('Odd_lib-name'))).toEqual({ success: true });
}, 600_000);

const refusedTypes = new Map<string, string | null>();
/** Why objects of this type cannot be loaded here, or null. */
function loadUnavailable(type: ProgramType): string | null {
  if (!refusedTypes.has(type)) refusedTypes.set(type, typeLoadUnavailable(SECTIONS[type]));
  return refusedTypes.get(type)!;
}

function expectLoads(object: string, type: ProgramType): void {
  if (loadUnavailable(type) !== null) return;
  const r = loadIntoKernel(object);
  expect(r.log, object).toBe(r.ok ? r.log : '<accepted by the verifier>');
}

function expectObject(path: string, section: string): void {
  const obj = readBpfObject(readFileSync(path));
  expect(obj.programs.filter((p) => !p.isSubprogram).map((p) => p.section)).toEqual([section]);
  expect(obj.btf, 'BTF').toBeDefined();
  expect(obj.license).toBe('GPL');
}

const SECTIONS: Record<string, string> = {
  xdp: 'xdp',
  tc: 'tc',
  kprobe: 'kprobe/do_nanosleep',
  kretprobe: 'kretprobe/do_nanosleep',
  tracepoint: 'tracepoint/syscalls/sys_enter_execve',
  raw_tracepoint: 'raw_tracepoint/sys_enter',
  uprobe: 'uprobe//bin/bash:readline',
  socket_filter: 'socket',
  cgroup_skb: 'cgroup_skb/ingress',
  lsm: 'lsm/file_open',
  perf_event: 'perf_event',
  uretprobe: 'uretprobe//bin/bash:readline',
  fentry: 'fentry/do_nanosleep',
  fexit: 'fexit/do_nanosleep',
  tp_btf: 'tp_btf/sched_switch',
  sk_msg: 'sk_msg',
  sock_ops: 'sockops',
  cgroup_sockopt: 'cgroup/getsockopt',
  cgroup_sysctl: 'cgroup/sysctl',
  cgroup_device: 'cgroup/dev',
};

describe.each(PROGRAM_TYPES)('a generated %s program', (type) => {
  const t = type.replace(/_/g, '-');

  it(`in C builds, links with BTF and loads (when the kernel takes ${type} programs)`, async () => {
    expect(await compileExecutor({}, context(`c-${t}`))).toEqual({ success: true });
    expect(await linkExecutor({}, context(`c-${t}`))).toEqual({ success: true });
    const object = join(ws, `c/${t}/dist/bpf/c-${t}.o`);
    expectObject(object, SECTIONS[type]);
    expectLoads(object, type);
  });

  it(`in C, linking the library, builds, links and loads (when the kernel takes ${type} programs)`, async () => {
    expect(await compileExecutor({}, context(`lib-${t}`))).toEqual({ success: true });
    expect(await linkExecutor({}, context(`lib-${t}`))).toEqual({ success: true });
    const object = join(ws, `lib/${t}/dist/bpf/lib-${t}.o`);
    expectObject(object, SECTIONS[type]);
    expect(readBpfObject(readFileSync(object)).maps.map((m) => m.name)).toEqual(['counters_hits']);
    expectLoads(object, type);
  });

  it.skipIf(noRust)(`in Rust builds with cargo and the bpf-linker CLI, and loads (when the kernel takes ${type} programs)`, async () => {
    expect(resolveCli(ws)).toBeDefined();
    expect(await cargoExecutor({}, context(`rust-${t}`))).toEqual({ success: true });
    const object = join(ws, `rust/${t}/dist/bpf/rust-${t}.o`);
    expectObject(object, SECTIONS[type]);
    // Tracing programs read task_struct.tgid as a CO-RE access (bpf.config.json: core auto).
    const o = readBpfObject(readFileSync(object));
    const relocations = (o.btfExt?.coreRelos ?? []).flatMap((s) => s.records.map((r) => `${r.kind} ${typeById(o.btf!, r.typeId).name} ${r.accessString}`));
    expect(relocations).toEqual(PROGRAM_TYPE_INFO[type].readsKernelStructs ? ['byte_off task_struct 0:1'] : []);
    expectLoads(object, type);
  });
});

describe('awkward but valid names', () => {
  it.each(AWKWARD.filter((a) => !a.language))('$name ($type) compiles, links and loads', async ({ name, type, libraries }) => {
    expect(await compileExecutor({}, context(name))).toEqual({ success: true });
    expect(await linkExecutor({}, context(name))).toEqual({ success: true });
    const { fileName, snake } = projectNames(name);
    const object = join(ws, `awkward/${name}/dist/bpf/${fileName}.o`);
    expectObject(object, SECTIONS[type]);
    const obj = readBpfObject(readFileSync(object));
    expect(obj.programs.filter((p) => !p.isSubprogram).map((p) => p.name)).toEqual([snake]);
    expect(obj.maps.map((m) => m.name)).toEqual([libraries ? 'odd_lib_name_hits' : `${snake}_runs`]);
    expectLoads(object, type);
  });

  it.skipIf(noRust).each(AWKWARD.filter((a) => a.language === 'rust'))('$name ($type, Rust) builds and loads', async ({ name, type }) => {
    expect(await cargoExecutor({}, context(name))).toEqual({ success: true });
    const { fileName, snake } = projectNames(name);
    const object = join(ws, `awkward/${name}/dist/bpf/${fileName}.o`);
    expectObject(object, SECTIONS[type]);
    expect(readBpfObject(readFileSync(object)).programs.filter((p) => !p.isSubprogram).map((p) => p.name)).toEqual([snake]);
    expectLoads(object, type);
  });
});

it('says which program types this kernel refuses (their objects are built and linked, not loaded)', () => {
  const refused = PROGRAM_TYPES.map((t) => [t, loadUnavailable(t)] as const).filter(([, why]) => why !== null);
  for (const [t, why] of refused) console.warn(`${t}: not loaded: ${why}`);
  // Everything else loads: a type refused by mistake would hide its programs' verdicts.
  if (!noKernel) expect(refused.map(([t]) => t).filter((t) => !['lsm', 'fentry', 'fexit', 'tp_btf'].includes(t))).toEqual([]);
});
