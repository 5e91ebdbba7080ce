/**
 * Real Rust toolchains for the Rust tests: Debian's rustc 1.96 with its prebuilt BPF core
 * (`/usr/bin/rustc`, sysroot /usr), and rustup's toolchains when they are installed. rustc
 * runs our built `bpf-linker` exactly as it runs upstream's: through `-C linker=` or PATH.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { formatBtfDump, readBpfObject, readElf, type BpfObject } from '@bpf-linker/core';
import { CLI } from '../support/cli';

export const RUSTC = '/usr/bin/rustc';
export const CARGO = '/usr/bin/cargo';
export const RUSTDOC = '/usr/bin/rustdoc';
export const FIXTURES = join(__dirname, '../fixtures/rust');
export const CLANG = '/usr/lib/llvm-22/bin/clang';

export type BpfTarget = 'bpfel-unknown-none' | 'bpfeb-unknown-none';

/** Why Debian's rustc cannot build for `target` here, or null when it can. */
export function debianRustUnavailable(target: BpfTarget = 'bpfel-unknown-none'): string | null {
  if (!existsSync(RUSTC)) return `${RUSTC} is missing (apt-get install rustc-web cargo-web)`;
  if (!existsSync(`/usr/lib/rustlib/${target}/lib`)) return `no prebuilt ${target} core (apt-get install libstd-rust-web-dev-bpf)`;
  return null;
}

export interface ProcessRun {
  status: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): ProcessRun {
  const r = spawnSync(cmd, args, {
    cwd: options.cwd,
    encoding: 'utf8',
    env: options.env ?? process.env,
    timeout: options.timeout ?? 120_000,
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function expectSuccess(r: ProcessRun, what: string): ProcessRun {
  expect(r.status, `${what}\n${r.stdout}${r.stderr}`).toBe(0);
  return r;
}

export interface CrateBuild {
  /** Crate root, relative to FIXTURES unless absolute. */
  src: string;
  crateType: 'bin' | 'cdylib' | 'rlib';
  out: string;
  target?: BpfTarget;
  /** -C opt-level (default 2). */
  opt?: string;
  /** -C debuginfo (default 2). */
  debuginfo?: number;
  /** Each becomes `-C link-arg=<arg>`, after everything rustc passes itself. */
  linkArgs?: string[];
  /** -L directories (aux rlibs). */
  libDirs?: string[];
  /** Path of the linker; default our CLI; null: none given, rustc looks `bpf-linker` up in PATH. */
  linker?: string | null;
  extra?: string[];
  rustc?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function rustcArgs(b: CrateBuild): string[] {
  const src = b.src.startsWith('/') ? b.src : join(FIXTURES, b.src);
  return [
    '--edition', '2021',
    '--target', b.target ?? 'bpfel-unknown-none',
    '--crate-type', b.crateType,
    '-C', 'panic=abort',
    '-C', `opt-level=${b.opt ?? '2'}`,
    '-C', `debuginfo=${b.debuginfo ?? 2}`,
    ...(b.linker === null || b.crateType === 'rlib' ? [] : ['-C', `linker=${b.linker ?? CLI}`]),
    ...(b.libDirs ?? []).flatMap((d) => ['-L', d]),
    ...(b.linkArgs ?? []).map((a) => `-Clink-arg=${a}`),
    ...(b.extra ?? []),
    '-o', b.out,
    src,
  ];
}

/** Compiles (and, for bin/cdylib, links) a crate with rustc; returns the run. */
export function rustc(b: CrateBuild): ProcessRun {
  return run(b.rustc ?? RUSTC, rustcArgs(b), { cwd: b.cwd, env: b.env });
}

/** Like rustc() but the build must succeed; returns the output path. */
export function buildCrate(b: CrateBuild): string {
  expectSuccess(rustc(b), `rustc ${rustcArgs(b).join(' ')}`);
  return b.out;
}

export function bpfObject(path: string): BpfObject {
  return readBpfObject(readFileSync(path));
}

/** btfdump's `btf dump` text for an object (what upstream's BTF tests run FileCheck on). */
export function btfDump(path: string): string {
  const o = bpfObject(path);
  if (!o.btf) throw new Error(`${path} has no .BTF section`);
  return formatBtfDump(o.btf, o.btfExt);
}

/** ELF symbol binding of `name` (global, local, weak), or undefined when there is no such symbol. */
export function symbolBinding(path: string, name: string): string | undefined {
  return readElf(readFileSync(path))
    .symbols()
    .find((s) => s.name === name)?.binding;
}

/** `.globl NAME` directives of an assembly listing. */
export function globlSymbols(asm: string): string[] {
  return [...asm.matchAll(/^\s*\.globl\s+(\S+)/gm)].map((m) => m[1]);
}

export function compileCBitcode(source: string, out: string, flags: string[] = ['-g', '-O2']): string {
  const src = source.startsWith('/') ? source : join(FIXTURES, source);
  expectSuccess(run(CLANG, ['-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', ...flags, '-emit-llvm', '-c', src, '-o', out]), `clang ${src}`);
  return out;
}

export interface LinkerCall {
  argv: string[];
  /** The first four bytes (hex) of every argument that names a file, by argument. */
  magic: Record<string, string>;
  /** Members of every ar archive argument. */
  archiveMembers: Record<string, string[]>;
  /** Contents of the --export-symbols file. */
  exportSymbols?: string;
  /** What our linker printed on stderr, and its exit status. */
  stderr: string;
  status: number;
}

/**
 * A `bpf-linker` that records how rustc calls it (while rustc's temporary files still exist),
 * then runs ours with the same argv and passes its output and exit status through.
 */
export function recordingLinker(dir: string): { path: string; calls: () => LinkerCall[] } {
  const callsDir = join(dir, 'calls');
  mkdirSync(callsDir, { recursive: true });
  const path = join(dir, 'bpf-linker');
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  writeFileSync(
    path,
    `#!/bin/sh\nBPFL_CLI=${quote(CLI)} BPFL_RECORD_DIR=${quote(callsDir)} exec ${quote(process.execPath)} ${quote(join(__dirname, 'record-linker.cjs'))} "$@"\n`,
  );
  chmodSync(path, 0o755);
  return {
    path,
    calls: () =>
      readdirSync(callsDir)
        .sort()
        .map((f) => JSON.parse(readFileSync(join(callsDir, f), 'utf8')) as LinkerCall),
  };
}

export interface RustupToolchain {
  name: string;
  /** The toolchain's own rustc binary (not the rustup proxy). */
  rustc: string;
  /** `<toolchain>/lib`, where its libLLVM.so.<maj>.<min>-rust-<version> lives. */
  libDir: string;
  /** The real libLLVM shared object and the rustc version in its name. */
  libLlvm: string;
  rustcVersion: string;
}

export const RUSTUP_HOME = process.env.RUSTUP_HOME || join(homedir(), '.rustup');
export const RUSTUP_PROXY_RUSTC = join(process.env.CARGO_HOME || join(homedir(), '.cargo'), 'bin', 'rustc');

/** A rustup toolchain whose name starts with `channel` (nightly, stable), with its libLLVM. */
export function rustupToolchain(channel: string): RustupToolchain | undefined {
  const dir = join(RUSTUP_HOME, 'toolchains');
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith(`${channel}-`));
  } catch {
    return undefined;
  }
  for (const name of names) {
    const libDir = join(dir, name, 'lib');
    const rustcPath = join(dir, name, 'bin', 'rustc');
    let lib: string | undefined;
    try {
      lib = readdirSync(libDir).find((f) => /^libLLVM\.so\.\d+\.\d+-rust-/.test(f));
    } catch {
      continue;
    }
    if (!lib || !existsSync(rustcPath)) continue;
    return { name, rustc: rustcPath, libDir, libLlvm: join(libDir, lib), rustcVersion: lib.replace(/^libLLVM\.so\.\d+\.\d+-rust-/, '') };
  }
  return undefined;
}

/**
 * A `#![no_core]` crate: builds for bpfel-unknown-none with any rustc (nightly, or stable with
 * RUSTC_BOOTSTRAP=1), no core for the target needed. toolchains.md §5.5.
 */
export function writeNoCoreCrate(path: string): string {
  writeFileSync(
    path,
    `#![feature(no_core, lang_items)]
#![allow(internal_features)]
#![no_core]
#![no_std]
#![no_main]

#[lang = "pointee_sized"]
pub trait PointeeSized {}
#[lang = "meta_sized"]
pub trait MetaSized: PointeeSized {}
#[lang = "sized"]
pub trait Sized: MetaSized {}
#[lang = "copy"]
pub trait Copy {}
impl Copy for u32 {}

#[no_mangle]
#[link_section = "xdp"]
pub extern "C" fn nightly_prog(_ctx: *mut u8) -> u32 {
    2
}
`,
  );
  return path;
}
