/**
 * Plans run for real: clang compiles, the archive writer and linkSync produce a library and a
 * program, cargo builds a Rust crate with the bpf-linker CLI as its linker, and the kernel
 * loads the objects. Also: the bitcode does not depend on where the workspace is.
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { readBpfObject } from '../../src/object';
import {
  BuildError,
  planBuild,
  probeToolchain,
  readBpfProjects,
  runSteps,
  type BpfProjectConfig,
  type BuildManifest,
  type BuildPlan,
} from '../../src/plan';
import { kernelLoadUnavailable, loadIntoKernel } from '../support/kernel';
import { makeTempDir } from '../support/toolchain';
import { COUNTERS_LIBRARY, writeWorkspace } from '../support/workspace';

const CLI = fileURLToPath(new URL('../../../cli/dist/bpf-linker.cjs', import.meta.url));
const RUST_ENV = { RUSTC: '/usr/bin/rustc', CARGO: '/usr/bin/cargo', CARGO_NET_OFFLINE: 'true' };
const noRust = !existsSync('/usr/bin/cargo') || !existsSync('/usr/lib/rustlib/bpfel-unknown-none/lib')
  ? 'Debian cargo/rustc with the prebuilt BPF core are missing (scripts/setup.sh)'
  : !existsSync(CLI) ? `${CLI} is missing: build the CLI first` : null;
const noKernel = kernelLoadUnavailable();

const FILES: Record<string, string> = {
  ...COUNTERS_LIBRARY,
  'apps/probe/bpf.config.json': JSON.stringify({ link: { cpu: 'v3' }, programs: [{ name: 'probe', sources: ['src/**/*.c'], libraries: ['counters'] }] }),
  'apps/probe/src/xdp.c': '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n#include "counters.h"\nSEC("xdp") int probe_xdp(struct xdp_md *ctx) { counters_record(0); return XDP_PASS; }\nchar LICENSE[] SEC("license") = "GPL";\n',
  'apps/probe/src/kprobe/kprobe.c': '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n#include "counters.h"\nSEC("kprobe/do_nanosleep") int probe_kprobe(void *ctx) { counters_record(1); return 0; }\n',
  'apps/rusty/bpf.config.json': JSON.stringify({ programs: [{ name: 'rusty', cargo: {} }] }),
  'apps/rusty/Cargo.toml': '[package]\nname = "rusty"\nversion = "0.1.0"\nedition = "2021"\n\n[[bin]]\nname = "rusty"\npath = "src/main.rs"\n\n[profile.release]\npanic = "abort"\ndebug = 2\n\n[profile.dev]\npanic = "abort"\n\n[workspace]\n',
  'apps/rusty/src/main.rs': '#![no_std]\n#![no_main]\n#[no_mangle]\n#[link_section = "xdp"]\npub extern "C" fn rusty(_ctx: *mut core::ffi::c_void) -> u32 { 2 }\n#[no_mangle]\n#[link_section = "license"]\npub static LICENSE: [u8; 4] = *b"GPL\\0";\n#[panic_handler]\nfn panic(_: &core::panic::PanicInfo) -> ! { loop {} }\n',
};

const PROJECTS = [
  { name: 'counters', root: 'libs/counters' },
  { name: 'probe', root: 'apps/probe' },
  { name: 'rusty', root: 'apps/rusty' },
];

function makeWorkspace(): string {
  return writeWorkspace(makeTempDir('bpfl-run-'), FILES);
}

function plan(ws: string, name: string, env: NodeJS.ProcessEnv = process.env): BuildPlan {
  const projects = readBpfProjects(ws, PROJECTS);
  const p = projects.find((x) => x.name === name)!;
  return planBuild(p.config, { workspaceRoot: ws, project: p, projects, toolchain: probeToolchain({ env }), env, linker: CLI });
}

const manifestOf = (ws: string, path: string): BuildManifest => JSON.parse(readFileSync(join(ws, path), 'utf8'));

describe('running a plan', () => {
  let ws: string;
  beforeAll(async () => {
    ws = makeWorkspace();
    for (const name of ['counters', 'probe']) await runSteps(plan(ws, name).steps, { workspaceRoot: ws, concurrency: 2 });
  });

  it('archives the library and links the program against it, with BTF and a manifest', () => {
    const obj = readBpfObject(readFileSync(join(ws, 'apps/probe/dist/bpf/probe.o')));
    expect(obj.programs.filter((p) => !p.isSubprogram).map((p) => [p.name, p.section]).sort()).toEqual([
      ['probe_kprobe', 'kprobe/do_nanosleep'],
      ['probe_xdp', 'xdp'],
    ]);
    expect(obj.maps.map((m) => m.name)).toEqual(['counters_hits']);
    expect(obj.btf).toBeDefined();
    const m = manifestOf(ws, 'apps/probe/dist/bpf/probe.manifest.json');
    expect(m).toMatchObject({ program: 'probe', object: 'probe.o', btf: true, license: 'GPL', maps: [{ name: 'counters_hits', type: 'array' }] });
    expect(m.llvm?.version).toMatch(/^22\./);
    expect(m.cacheKey).toMatch(/^[0-9a-f]{64}$/);
    expect(m.inputs?.map((i) => i.path)).toEqual([
      'apps/probe/dist/bpf/bc/src/kprobe/kprobe.bc',
      'apps/probe/dist/bpf/bc/src/xdp.bc',
      'libs/counters/dist/bpf/libcounters.a',
    ]);
    expect(m.options).toMatchObject({ cpu: 'v3', btf: true });
  });

  it.skipIf(noKernel)('loads in the kernel', () => {
    const r = loadIntoKernel(join(ws, 'apps/probe/dist/bpf/probe.o'));
    expect(r.log, 'verifier').toBe(r.ok ? r.log : '<accepted>');
  });

  it('compiles to the same bitcode in another directory, and links to the same key', async () => {
    const other = makeWorkspace();
    for (const name of ['counters', 'probe']) await runSteps(plan(other, name).steps, { workspaceRoot: other });
    for (const f of ['apps/probe/dist/bpf/bc/src/xdp.bc', 'libs/counters/dist/bpf/libcounters.a', 'apps/probe/dist/bpf/probe.o']) {
      expect(readFileSync(join(other, f)).equals(readFileSync(join(ws, f))), f).toBe(true);
    }
    expect(manifestOf(other, 'apps/probe/dist/bpf/probe.manifest.json')).toEqual(manifestOf(ws, 'apps/probe/dist/bpf/probe.manifest.json'));
  });

  it('refuses a manifest that would replace one of the inputs, before linking; the input is kept', async () => {
    const steps = plan(ws, 'probe').steps;
    const link = steps.find((s) => s.kind === 'link')!;
    if (link.kind !== 'link') throw new Error('no link step');
    const input = 'apps/probe/dist/bpf/bc/src/xdp.bc';
    const before = readFileSync(join(ws, input));
    const err = await runSteps([{ ...link, manifest: input, output: 'apps/probe/dist/bpf/probe-other.o' }], { workspaceRoot: ws }).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(`the manifest ${join(ws, input)} is the same file as the input ${join(ws, input)}: refusing to overwrite an input`);
    expect(readFileSync(join(ws, input)).equals(before)).toBe(true);
    expect(existsSync(join(ws, 'apps/probe/dist/bpf/probe-other.o'))).toBe(false);
  });

  it("reports clang's error with the source and the command", async () => {
    const bad = makeWorkspace();
    writeFileSync(join(bad, 'apps/probe/src/xdp.c'), 'int broken(void) { return undeclared; }\n');
    const err = await runSteps(plan(bad, 'probe').steps, { workspaceRoot: bad }).catch((e) => e);
    expect(err).toBeInstanceOf(BuildError);
    expect((err as BuildError).code).toBe('COMPILE_FAILED');
    const text = (err as BuildError).format();
    expect(text).toContain('clang failed on apps/probe/src/xdp.c (exit 1)');
    expect(text).toContain("  | apps/probe/src/xdp.c:1:27: error: use of undeclared identifier 'undeclared'");
    expect(text).toContain('hint: the command was: ');
  });

  it('names the missing tool', async () => {
    const config: BpfProjectConfig = { compile: { clang: '/nonexistent/clang' }, programs: [{ name: 'x', sources: ['src/xdp.c'] }] };
    const p = planBuild(config, { workspaceRoot: ws, project: { name: 'x', root: 'apps/probe' } });
    const err = await runSteps(p.steps, { workspaceRoot: ws }).catch((e) => e);
    expect(err).toMatchObject({ code: 'TOOL_NOT_FOUND', message: 'cannot run /nonexistent/clang: ENOENT' });
  });
});

describe.skipIf(noRust)('a Rust crate through cargo and the bpf-linker CLI', () => {
  let ws: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    ws = makeWorkspace();
    env = { ...process.env, ...RUST_ENV, CARGO_HOME: join(ws, '.cargo-home'), PATH: `/usr/bin:${process.env.PATH}` };
    await runSteps(plan(ws, 'rusty', env).steps, { workspaceRoot: ws, env });
  });

  it('copies only the final object out of the per-project target dir, with BTF and a manifest', () => {
    const obj = readBpfObject(readFileSync(join(ws, 'apps/rusty/dist/bpf/rusty.o')));
    // memcpy & co. stay as subprograms (bpf-linker exports the memory builtins).
    expect(obj.programs.filter((p) => !p.isSubprogram).map((p) => [p.name, p.section])).toEqual([['rusty', 'xdp']]);
    expect(obj.btf).toBeDefined();
    expect(existsSync(join(ws, 'apps/rusty/target/bpfel-unknown-none/release/rusty'))).toBe(true);
    const m = manifestOf(ws, 'apps/rusty/dist/bpf/rusty.manifest.json');
    expect(m).toMatchObject({ program: 'rusty', btf: true, license: 'GPL' });
    expect(m.rustc).toMatch(/^rustc 1\.9/);
    // As a C link's manifest: the libLLVM that linked, in full (from the linker's report), the
    // crate's files with their hashes, and a cache key.
    expect(m.llvm).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+$/), library: expect.stringMatching(/^libLLVM/) });
    expect(m.inputs?.map((i) => i.path).sort()).toEqual(['apps/rusty/Cargo.toml', 'apps/rusty/src/main.rs']);
    expect(m.inputs?.every((i) => /^[0-9a-f]{64}$/.test(i.sha256))).toBe(true);
    expect(m.cacheKey).toMatch(/^[0-9a-f]{64}$/);
  });

  it.skipIf(noKernel)('loads in the kernel', () => {
    const r = loadIntoKernel(join(ws, 'apps/rusty/dist/bpf/rusty.o'));
    expect(r.log, 'verifier').toBe(r.ok ? r.log : '<accepted>');
  });

  it('reports a cargo failure with the end of its output', async () => {
    const bad = join(makeTempDir('bpfl-run-bad-'), 'ws');
    cpSync(ws, bad, { recursive: true });
    writeFileSync(join(bad, 'apps/rusty/src/main.rs'), 'fn broken( {}\n');
    const err = await runSteps(plan(bad, 'rusty', env).steps, { workspaceRoot: bad, env }).catch((e) => e);
    expect(err).toMatchObject({ code: 'CARGO_FAILED' });
    expect((err as BuildError).format()).toMatch(/\| .*error/);
  });
});
