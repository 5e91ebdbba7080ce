/**
 * Project names become file names and C and Rust identifiers: awkward names that still compile
 * are accepted, names whose generated code would not compile are refused with the reason, and
 * the list of names libbpf's headers declare is checked against the installed headers.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  C_KEYWORDS,
  LIBBPF_NAMES,
  PROGRAM_TYPE_INFO,
  checkProgramNames,
  programConfig,
  programFiles,
  projectDirectory,
  projectNames,
  resolveProgram,
  type LibraryUse,
} from '../../src/scaffold';
import { locateTools } from '../../src/plan';
import { makeTempDir } from '../support/toolchain';

const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
};

describe('projectNames', () => {
  it('accepts awkward names that are valid identifiers, and derives the file and C names', () => {
    expect(projectNames('A_b-c')).toEqual({ name: 'A_b-c', fileName: 'a-b-c', snake: 'a_b_c' });
    expect(projectNames('xdp2')).toEqual({ name: 'xdp2', fileName: 'xdp2', snake: 'xdp2' });
    expect(projectNames('intx')).toEqual({ name: 'intx', fileName: 'intx', snake: 'intx' });
    expect(projectNames('xdpCounter').snake).toBe('xdp_counter');
    // Lower-case C library names that only draw a warning, and names the templates use locally.
    for (const ok of ['log', 'time', 'memcpy', 'key', 'runs', 'ctx', 'skb', 'sec', 'bpf_firewall', 'match', 'type']) expect(projectNames(ok).snake).toBe(ok);
  });

  it('refuses names whose C identifier is a keyword, a libbpf name or a special C library function', () => {
    expect(refusal(() => projectNames('int'))).toBe('"int" is not a valid BPF project name: its C identifier "int" is a C keyword; choose another name');
    expect(refusal(() => projectNames('Return'))).toBe('"Return" is not a valid BPF project name: its C identifier "return" is a C keyword; choose another name');
    for (const k of ['struct', 'static', 'typeof', 'asm', 'sizeof', 'bool']) expect(refusal(() => projectNames(k))).toContain(`its C identifier "${k}" is a C keyword`);
    expect(refusal(() => projectNames('bpf-map-lookup-elem'))).toBe(
      '"bpf-map-lookup-elem" is not a valid BPF project name: its C identifier "bpf_map_lookup_elem" is already declared by libbpf\'s bpf/bpf_helpers.h or the kernel headers the generated C includes; choose another name',
    );
    for (const m of ['offsetof', 'barrier', 'bpf_printk', 'container_of', 'bpfLoop']) expect(refusal(() => projectNames(m))).toContain('is already declared by libbpf');
    expect(refusal(() => projectNames('main'))).toBe(
      '"main" is not a valid BPF project name: its C identifier "main" is taken: main is the entry point of a C program: clang requires int argc as its first parameter; choose another name',
    );
    expect(refusal(() => projectNames('exit'))).toBe(
      '"exit" is not a valid BPF project name: its C identifier "exit" is taken: clang treats exit() as the C library function, which never returns: the program would not return; choose another name',
    );
    expect(refusal(() => projectNames('1bad'))).toBe('"1bad" is not a valid BPF project name: use letters, digits, - and _, starting with a letter');
    expect(refusal(() => projectNames('-x'))).toContain('starting with a letter');
  });
});

describe('program names', () => {
  const scaffold = (name: string, choice: { language?: string; type?: string }, libraries: LibraryUse[] = []) => ({
    names: projectNames(name),
    program: resolveProgram(choice),
    libraries,
    buildCommand: 'build',
  });
  const counters: LibraryUse = { project: 'counters', header: 'counters.h', record: 'counters_record' };

  it('refuses Rust keywords and the names the Rust template and cargo use, for Rust programs only', () => {
    expect(refusal(() => programConfig(scaffold('fn', { language: 'rust' })))).toBe(
      '"fn" is not a valid name for a Rust BPF program: its Rust identifier "fn" is a Rust keyword; choose another name',
    );
    for (const k of ['match', 'type', 'Loop', 'move', 'impl', 'yield', 'gen']) expect(refusal(() => programFiles(scaffold(k, { language: 'rust' })))).toContain('is a Rust keyword');
    expect(refusal(() => programFiles(scaffold('panic', { language: 'rust' })))).toBe(
      '"panic" is not a valid name for a Rust BPF program: the template defines the panic handler fn panic(); choose another name',
    );
    expect(refusal(() => programFiles(scaffold('build', { language: 'rust' })))).toBe(
      '"build" is not a valid name for a Rust BPF program: cargo forbids the binary name "build": it is a directory of cargo\'s target directory; choose another name',
    );
    // The same names are fine in C.
    for (const ok of ['match', 'type', 'panic', 'build']) expect(() => programFiles(scaffold(ok, { language: 'c' }))).not.toThrow();
  });

  it('refuses a function named like its ELF section or the license section, in both languages', () => {
    for (const language of ['c', 'rust']) {
      expect(refusal(() => programConfig(scaffold('xdp', { language, type: 'xdp' })))).toBe(
        '"xdp" is not a valid name for a program of type xdp: its function "xdp" would have the name of its ELF section "xdp", which LLVM refuses (invalid symbol redefinition); choose another name',
      );
      expect(refusal(() => programConfig(scaffold('license', { language })))).toContain('would have the name of the "license" section of its LICENSE');
    }
    for (const [type, section] of [['tc', 'tc'], ['socket_filter', 'socket'], ['perf_event', 'perf_event']]) {
      expect(PROGRAM_TYPE_INFO[type as 'tc'].section('')).toBe(section);
      expect(refusal(() => programFiles(scaffold(section, { type })))).toContain(`its ELF section "${section}"`);
    }
    // Another type's section name is only a name.
    expect(() => programFiles(scaffold('xdp', { type: 'tc' }))).not.toThrow();
  });

  it("refuses a function named like a linked library's function or map", () => {
    expect(refusal(() => checkProgramNames(scaffold('counters_record', {}, [counters])))).toBe(
      '"counters_record" is not a valid name for a program linking "counters": its function "counters_record" would clash with the library\'s function counters_record(); choose another name',
    );
    expect(refusal(() => programFiles(scaffold('counters-hits', {}, [counters])))).toContain("would clash with the library's map counters_hits");
    expect(() => programFiles(scaffold('counters_hits', {}))).not.toThrow();
  });
});

describe('projectDirectory', () => {
  it('refuses absolute paths and paths leaving the workspace', () => {
    expect(projectDirectory('apps/x/')).toBe('apps/x');
    expect(refusal(() => projectDirectory('/tmp/x'))).toContain('is absolute');
    expect(refusal(() => projectDirectory('../outside'))).toContain('leaves the workspace');
    expect(refusal(() => projectDirectory('apps/../../outside'))).toContain('leaves the workspace');
  });
});

/** The installed libbpf and kernel headers the C templates include, as clang sees them. */
function headerNames(): { clang: string; names: string[] } | string {
  const tools = locateTools();
  const clang = tools.clang.path;
  if (!clang.startsWith('/') || !existsSync('/usr/include/bpf/bpf_helpers.h')) return 'clang or libbpf-dev is missing';
  const dir = makeTempDir('bpfl-names-');
  const source = join(dir, 'all.c');
  const includes = new Set(['linux/bpf.h', 'linux/types.h', 'bpf/bpf_helpers.h', ...Object.values(PROGRAM_TYPE_INFO).flatMap((t) => t.cIncludes)]);
  writeFileSync(source, [...includes].map((i) => `#include <${i}>\n`).join(''));
  const args = ['-target', 'bpf', ...(tools.host.targetArch ? [`-D__TARGET_ARCH_${tools.host.targetArch}`] : []), ...(tools.host.multiarchInclude ? ['-idirafter', tools.host.multiarchInclude] : [])];
  const macros = execFileSync(clang, [...args, '-dM', '-E', source], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^#define ([A-Za-z_]\w*)/.exec(l)?.[1]);
  const ast = JSON.parse(execFileSync(clang, [...args, '-fsyntax-only', '-Xclang', '-ast-dump=json', source], { encoding: 'utf8', maxBuffer: 1 << 30 })) as { inner?: AstNode[] };
  const decls: string[] = [];
  const walk = (n: AstNode) => {
    if (n.name && ['FunctionDecl', 'VarDecl', 'TypedefDecl', 'EnumConstantDecl'].includes(n.kind)) decls.push(n.name);
    if (n.kind === 'EnumDecl') for (const c of n.inner ?? []) walk(c);
  };
  for (const d of ast.inner ?? []) if (!d.isImplicit) walk(d);
  // The names a snake_case form can take.
  return { clang, names: [...new Set([...macros, ...decls])].filter((n): n is string => !!n && /^[a-z][a-z0-9_]*$/.test(n)).sort() };
}
interface AstNode {
  kind: string;
  name?: string;
  isImplicit?: boolean;
  inner?: AstNode[];
}

describe('LIBBPF_NAMES', () => {
  const found = headerNames();

  it.skipIf(typeof found === 'string')('covers every lower-case name the included headers declare', () => {
    const { names } = found as { names: string[] };
    expect(names.length).toBeGreaterThan(200);
    expect(names.filter((n) => !LIBBPF_NAMES.has(n) && !C_KEYWORDS.has(n))).toEqual([]);
  });

  it('has no name the templates could derive from a valid project: <snake>_runs, <snake>_record, <snake>_hits', () => {
    const names = typeof found === 'string' ? [...LIBBPF_NAMES] : [...LIBBPF_NAMES, ...found.names];
    expect(names.filter((n) => /_(runs|record|hits)$/.test(n))).toEqual([]);
  });
});
