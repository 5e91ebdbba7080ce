/**
 * Helpers for the --btf sanitizer tests: BTF property checks over our BTF reader, and real
 * Debian rustc builds for bpfel-unknown-none that run our built CLI as the linker.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { findType, findTypes, readObjectBtf, typeById, type Btf, type BtfType } from '../../src/object';

export const FIXTURES = join(__dirname, '../fixtures/rust-btf');
export const RUSTC = '/usr/bin/rustc';
export const RUST_BPF_LIB = '/usr/lib/rustlib/bpfel-unknown-none/lib';
export const CLI = join(__dirname, '../../../cli/dist/bpf-linker.cjs');

/** What the kernel accepts as a BTF type or function name. */
export const KERNEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function btfOf(bytes: Uint8Array): Btf {
  const { btf } = readObjectBtf(bytes);
  if (!btf) throw new Error('the object has no .BTF');
  return btf;
}

/** Names of the members of STRUCT/UNION `name`, with their bit offsets. */
export function members(btf: Btf, kind: 'STRUCT' | 'UNION', name: string): [string, number][] {
  return findType(btf, kind, name).members.map((m) => [m.name, m.bitOffset]);
}

/** The FUNC `name`: its linkage and parameter names. */
export function func(btf: Btf, name: string): { linkage: string; params: string[] } {
  const f = findType(btf, 'FUNC', name);
  const proto = typeById(btf, f.typeId);
  if (proto.kind !== 'FUNC_PROTO') throw new Error(`FUNC ${name} does not point at a FUNC_PROTO`);
  return { linkage: f.linkage, params: proto.params.map((p) => p.name) };
}

/** The type a FUNC's parameter points at (through one PTR), e.g. the struct behind `&Foo<u32>`. */
export function pointee(btf: Btf, funcName: string, param: string): BtfType {
  const proto = typeById(btf, findType(btf, 'FUNC', funcName).typeId);
  if (proto.kind !== 'FUNC_PROTO') throw new Error('not a FUNC_PROTO');
  const ptr = typeById(btf, proto.params.find((p) => p.name === param)!.typeId);
  if (ptr.kind !== 'PTR') throw new Error(`${funcName}(${param}) is a ${ptr.kind}, not a PTR`);
  return typeById(btf, ptr.typeId) as BtfType;
}

/**
 * What the kernel's BTF checker needs from names: pointers anonymous, every STRUCT, UNION,
 * ENUM, TYPEDEF, FUNC and VAR name an identifier (or empty where allowed), every struct's
 * members at ascending offsets. Forward declarations are left out: the rules leave them alone.
 */
export function expectKernelAcceptableBtf(btf: Btf): void {
  const named = (kinds: string[]) => btf.types.filter((t) => kinds.includes(t.kind) && t.name !== '');
  expect(findTypes(btf, 'PTR').filter((p) => p.name !== '').map((p) => p.name)).toEqual([]);
  expect(named(['STRUCT', 'UNION', 'ENUM', 'ENUM64', 'TYPEDEF', 'FUNC', 'VAR']).filter((t) => !KERNEL_NAME.test(t.name)).map((t) => t.name)).toEqual([]);
  for (const s of findTypes(btf, 'STRUCT')) {
    const offsets = s.members.map((m) => m.bitOffset);
    expect(offsets, `members of STRUCT '${s.name}'`).toEqual([...offsets].sort((a, b) => a - b));
  }
}

export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Why Rust-to-BPF builds cannot run here, or null. */
export function rustUnavailable(): string | null {
  if (!existsSync(RUSTC)) return `${RUSTC} is missing (apt-get install rustc-web)`;
  if (!existsSync(RUST_BPF_LIB)) return `${RUST_BPF_LIB} is missing (apt-get install libstd-rust-web-dev-bpf)`;
  if (!existsSync(CLI)) return `${CLI} is missing: build it (cd packages/cli && node build.mjs)`;
  return null;
}

/**
 * Fails when the built CLI is older than the core sources it bundles: rustc runs the built file,
 * so a stale build would test old code.
 */
export function expectFreshCli(): void {
  const built = statSync(CLI).mtimeMs;
  const src = join(__dirname, '../../src');
  const stale: string[] = [];
  const scan = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) scan(p);
      else if (e.name.endsWith('.ts') && statSync(p).mtimeMs > built) stale.push(p);
    }
  };
  scan(src);
  expect(stale, `${CLI} is older than these sources: rebuild it (cd packages/cli && node build.mjs)`).toEqual([]);
}

export interface RustBuild {
  /** A file under FIXTURES. */
  src: string;
  crateType: 'bin' | 'cdylib' | 'rlib';
  out: string;
  /** Each becomes `-C link-arg=<arg>` (after what rustc passes itself). */
  linkArgs?: string[];
  extra?: string[];
}

/**
 * `rustc --target bpfel-unknown-none` with debug info, linked by our CLI through `-C linker=`,
 * as cargo would run it: rustc passes the export list, symbols.o, the codegen unit, the core and
 * compiler_builtins rlibs and always `--debug`.
 */
export function rustc(b: RustBuild): Run {
  const args = [
    '--edition', '2021',
    '--target', 'bpfel-unknown-none',
    '--crate-type', b.crateType,
    '-C', 'panic=abort',
    '-C', 'opt-level=2',
    '-C', 'debuginfo=2',
    '-C', `linker=${CLI}`,
    ...(b.linkArgs ?? []).flatMap((a) => ['-C', `link-arg=${a}`]),
    ...(b.extra ?? []),
    '-o', b.out,
    join(FIXTURES, b.src),
  ];
  const r = run(RUSTC, args, { RUSTC });
  expect(r.status, `rustc ${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
  return r;
}
