/**
 * What a generator writes for a new BPF program or library: the bpf.config.json content and the
 * source files, as plain data. The Nx generators put them in a Tree, `turbo gen` writes them to
 * disk; both get the same programs from the same PROGRAM_TYPES.
 */
import type { BpfProjectConfig, CargoSettings, LinkSettings } from '../plan/config';
import { rustNameProblem, type ProjectNames } from './names';
import { PROGRAM_TYPE_INFO, PROGRAM_TYPES, parseProgramType, type ProgramType, type ProgramTypeInfo } from './program-types';

export interface ScaffoldFile {
  /** Relative to the project directory, `/`-separated. */
  path: string;
  content: string;
}

/** A library program code calls: its header and its counting function. */
export interface LibraryUse {
  project: string;
  header: string;
  record: string;
}

export interface ProgramChoice {
  language?: string;
  type?: string;
  attach?: string;
  libraries?: readonly string[];
}

export interface ResolvedProgram {
  language: 'c' | 'rust';
  type: ProgramType;
  info: ProgramTypeInfo;
  /** The ELF section libbpf attaches by. */
  section: string;
}

/** Checks a program's language, type and attach point; errors say what is expected. */
export function resolveProgram(choice: ProgramChoice): ResolvedProgram {
  const language = (choice.language ?? 'c').trim().toLowerCase();
  if (language !== 'c' && language !== 'rust') throw new Error(`--language must be c or rust (got "${choice.language}")`);
  const type = parseProgramType(choice.type ?? 'xdp');
  if (!type) throw new Error(`--type must be one of ${PROGRAM_TYPES.join(', ')} (got "${choice.type}")`);
  const info = PROGRAM_TYPE_INFO[type];
  const given = choice.attach?.trim() ? choice.attach.trim() : undefined;
  if (given !== undefined && !info.attach) throw new Error(`--attach does not apply to ${type} programs`);
  const attach = given ?? info.attach?.default;
  if (info.attach && attach !== undefined && !info.attach.pattern.test(attach)) {
    throw new Error(`--attach for ${type} is a ${info.attach.meaning} (like "${info.attach.default}"), not "${attach}"`);
  }
  if (language === 'rust' && (choice.libraries?.length ?? 0) > 0) {
    throw new Error('--libraries applies to C programs; a Rust program links its crate dependencies');
  }
  return { language, type, info, section: info.section(attach ?? '') };
}

/**
 * What a program needs from a library project: its header (in one of its public include
 * directories) declaring `<name>_record()`, which the program template calls. `readFile` reads a
 * file relative to the library's directory, or returns undefined.
 */
export function libraryUse(project: string, config: BpfProjectConfig | undefined, readFile: (path: string) => string | undefined): LibraryUse {
  if (!config?.library) throw new Error(`--libraries: project "${project}" is not a BPF library (its bpf.config.json declares no "library")`);
  const snake = config.library.name.replace(/-/g, '_');
  const header = `${snake}.h`;
  const declares = (config.library.publicIncludeDirs ?? []).some((d) => readFile(`${d}/${header}`)?.includes(`${snake}_record(`));
  if (!declares) {
    throw new Error(`--libraries: "${project}" has no ${header} declaring ${snake}_record() in its public include directories; the program template calls it`);
  }
  return { project, header, record: `${snake}_record` };
}

export interface ProgramScaffold {
  names: ProjectNames;
  program: ResolvedProgram;
  libraries: readonly LibraryUse[];
  /** How this host builds the project, for the generated comments: `nx run xdp:link`. */
  buildCommand: string;
  /** Toolchain settings for a Rust crate's `cargo` (suggestRustToolchain). */
  cargo?: Pick<CargoSettings, 'rustc' | 'toolchain'>;
}

/**
 * Refuses a program whose generated code would not build, beyond what projectNames refuses for
 * every project: a Rust keyword or reserved name for a Rust program; a function named like its
 * own ELF section or the "license" section (LLVM: "invalid symbol redefinition"); a function
 * named like a symbol of a library it links (`<lib>_record`, `<lib>_hits`).
 */
export function checkProgramNames(p: Pick<ProgramScaffold, 'names' | 'program' | 'libraries'>): void {
  const { names: n, program } = p;
  if (program.language === 'rust') {
    const problem = rustNameProblem(n);
    if (problem) throw new Error(`${problem}; choose another name`);
  }
  const section = [program.section, 'license'].find((s) => s === n.snake);
  if (section !== undefined) {
    throw new Error(
      `"${n.name}" is not a valid name for a program of type ${program.type}: its function "${n.snake}" would have the name of ${section === 'license' ? 'the "license" section of its LICENSE' : `its ELF section "${section}"`}, which LLVM refuses (invalid symbol redefinition); choose another name`,
    );
  }
  for (const l of p.libraries) {
    const taken = [l.record, l.record.replace(/_record$/, '_hits')].find((s) => s === n.snake);
    if (taken !== undefined) {
      throw new Error(`"${n.name}" is not a valid name for a program linking "${l.project}": its function "${n.snake}" would clash with the library's ${taken === l.record ? `function ${taken}()` : `map ${taken}`}; choose another name`);
    }
  }
}

/**
 * CO-RE for the generated tracing programs: relocate task_struct accesses, checked against the
 * building machine's kernel BTF when it has one (and relocated anyway when it has none).
 */
const CORE_LINK = { core: 'auto', coreTypes: ['task_struct'] } as const satisfies LinkSettings;

export function programConfig(p: ProgramScaffold): BpfProjectConfig {
  checkProgramNames(p);
  const n = p.names;
  return p.program.language === 'rust'
    ? { programs: [{ name: n.fileName, cargo: { manifest: 'Cargo.toml', bin: n.snake, ...p.cargo }, ...(p.program.info.readsKernelStructs ? { link: CORE_LINK } : {}) }] }
    : { programs: [{ name: n.fileName, sources: ['src/**/*.c'], ...(p.libraries.length ? { libraries: p.libraries.map((l) => l.project) } : {}) }] };
}

export function programFiles(p: ProgramScaffold): ScaffoldFile[] {
  checkProgramNames(p);
  return p.program.language === 'rust' ? rustProgram(p) : [{ path: `src/${p.names.fileName}.bpf.c`, content: cProgram(p) }];
}

function cProgram({ names: n, program: { info, section }, libraries, buildCommand }: ProgramScaffold): string {
  const includes = info.cIncludes.map((i) => `#include <${i}>\n`).join('');
  const libIncludes = libraries.map((l) => `#include "${l.header}"\n`).join('');
  const map = libraries.length
    ? ''
    : `
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ${n.snake}_runs SEC(".maps");
`;
  const body = libraries.length
    ? libraries.map((l) => `\t${l.record}(0);\n`).join('')
    : `\t__u32 key = 0;
	__u64 *runs = bpf_map_lookup_elem(&${n.snake}_runs, &key);

	if (runs)
		__sync_fetch_and_add(runs, 1);
`;
  return `/* ${n.name}: ${info.description}.
 * Built by \`${buildCommand}\` into dist/bpf/${n.fileName}.o (with BTF). */
#include <linux/bpf.h>
${includes}#include <bpf/bpf_helpers.h>
${libIncludes}${map}
SEC("${section}")
int ${n.snake}(${info.cParam})
{
${body}	return ${info.cReturn};
}

char LICENSE[] SEC("license") = "GPL";
`;
}

function rustProgram({ names: n, program: { info, section }, buildCommand }: ProgramScaffold): ScaffoldFile[] {
  const cargoToml = `[package]
name = "${n.fileName}"
version = "0.1.0"
edition = "2021"
publish = false

# A BPF program: built by \`${buildCommand}\` (cargo, with bpf-linker as the linker).
[[bin]]
name = "${n.snake}"
path = "src/main.rs"

[profile.dev]
panic = "abort"
debug = 2

[profile.release]
panic = "abort"
debug = 2
codegen-units = 1

# Its own workspace: not a member of a Cargo workspace above it.
[workspace]
`;
  const cargoLock = `# This file is automatically @generated by Cargo.
# It is not intended for manual editing.
version = 4

[[package]]
name = "${n.fileName}"
version = "0.1.0"
`;
  const program = info.readsKernelStructs
    ? `//! ${n.name}: ${info.description}.
//!
//! It reads the calling process's id from the kernel's task_struct as a CO-RE access: the struct
//! below names only the fields it reads, and the linker makes the access relocatable
//! (bpf.config.json: "core": "auto", "coreTypes": ["task_struct"]), so libbpf finds the field in
//! the kernel the program is loaded into, whatever its layout.
#![no_std]
#![no_main]

use core::ffi::c_void;

#[allow(non_camel_case_types)]
#[repr(C)]
struct task_struct {
    pid: i32,
    tgid: i32,
}

const BPF_FUNC_GET_CURRENT_TASK: usize = 35;
const BPF_FUNC_PROBE_READ_KERNEL: usize = 113;

#[no_mangle]
#[link_section = "${section}"]
pub extern "C" fn ${n.snake}(ctx: *mut c_void) -> u32 {
    let _ = ctx;
    let tgid = unsafe { current_tgid() };
    core::hint::black_box(tgid);
    ${info.rustReturn}
}

/// The current task's tgid (its process id), read with bpf_probe_read_kernel.
#[inline(always)]
unsafe fn current_tgid() -> i32 {
    let get_current_task: unsafe extern "C" fn() -> *const task_struct = core::mem::transmute(BPF_FUNC_GET_CURRENT_TASK);
    let probe_read_kernel: unsafe extern "C" fn(*mut c_void, u32, *const c_void) -> i64 = core::mem::transmute(BPF_FUNC_PROBE_READ_KERNEL);
    let task = get_current_task();
    let mut tgid = 0i32;
    probe_read_kernel(core::ptr::addr_of_mut!(tgid) as *mut c_void, 4, core::ptr::addr_of!((*task).tgid) as *const c_void);
    tgid
}
`
    : `//! ${n.name}: ${info.description}.
#![no_std]
#![no_main]

use core::ffi::c_void;

#[no_mangle]
#[link_section = "${section}"]
pub extern "C" fn ${n.snake}(ctx: *mut c_void) -> u32 {
    let _ = ctx;
    ${info.rustReturn}
}
`;
  const main = `${program}
#[no_mangle]
#[link_section = "license"]
pub static LICENSE: [u8; 4] = *b"GPL\\0";

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}
`;
  return [
    { path: 'Cargo.toml', content: cargoToml },
    { path: 'Cargo.lock', content: cargoLock },
    { path: 'src/main.rs', content: main },
  ];
}

export function libraryConfig(n: ProjectNames): BpfProjectConfig {
  return { library: { name: n.fileName, sources: ['src/**/*.c'], publicIncludeDirs: ['include'] } };
}

export function libraryFiles(n: ProjectNames): ScaffoldFile[] {
  const header = `/* ${n.name}: a static BPF library (bitcode), linked into the programs that list it in
 * "libraries" of their bpf.config.json. */
#pragma once

#include <linux/types.h>

/* Counts one event in slot \`slot\` (0-15) of the ${n.snake}_hits array map.
 * Returns 1 when counted, 0 for a slot out of range. */
int ${n.snake}_record(__u32 slot);
`;
  const source = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "${n.snake}.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} ${n.snake}_hits SEC(".maps");

/* A global function: the verifier checks it once, on its own, for every caller. */
__noinline int ${n.snake}_record(__u32 slot)
{
	__u64 *count = bpf_map_lookup_elem(&${n.snake}_hits, &slot);

	if (!count)
		return 0;
	__sync_fetch_and_add(count, 1);
	return 1;
}
`;
  return [
    { path: `include/${n.snake}.h`, content: header },
    { path: `src/${n.snake}.c`, content: source },
  ];
}
