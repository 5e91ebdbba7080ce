/**
 * The --btf sanitizer on real rustc output: Debian's rustc 1.96 (LLVM 22) builds the fixtures
 * for bpfel-unknown-none and runs our built CLI as its linker, exactly as cargo would (export
 * list, symbols.o, core and compiler_builtins rlibs). The ports of upstream's BTF tests check the
 * same properties as upstream's FileCheck lines; the kernel then loads the sanitized BTF.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findType, findTypes, typeById, type Btf } from '../../src/object';
import { kernelLoadUnavailable, loadIntoKernel } from '../support/kernel';
import { llvmTool, makeTempDir } from '../support/toolchain';
import { FIXTURES, RUSTC, btfOf, expectFreshCli, expectKernelAcceptableBtf, func, members, pointee, run, rustUnavailable, rustc } from './support';

const noRust = rustUnavailable();
const noKernel = kernelLoadUnavailable();
const WARNING = 'debug info was not emitted for the following types:';

/** BTF the kernel refused makes libbpf print this and carry on without BTF. */
const BTF_REJECTED = /Error loading \.BTF into kernel|BTF is optional/;

describe.skipIf(noRust)('Rust for bpfel-unknown-none, linked by our CLI with --btf', () => {
  let dir: string;
  beforeAll(() => {
    expectFreshCli();
    dir = makeTempDir('bpfl-rust-btf-');
  });

  describe('di_generics (cdylib, --emit=llvm-ir)', () => {
    it('escapes generic names in the emitted IR (upstream assembly/di_generics.rs)', () => {
      const out = join(dir, 'libdi_generics.ll');
      rustc({ src: 'di_generics.rs', crateType: 'cdylib', out, linkArgs: ['--emit=llvm-ir', '--btf'], extra: ['--crate-name', 'di_generics'] });
      const ir = readFileSync(out, 'utf8');
      expect(ir).toContain('name: "Foo_3C_u32_3E_"');
      expect(ir).toContain('name: "Bar_3C_di_generics_3A__3A_Foo_3C_u32_3E__3E_"');
      expect(ir).toContain('name: "my_function_3C_u32_3E_"');
      expect(ir).not.toContain('name: "Foo<u32>"');
      // the linkage name of the generic function is rustc's mangled one, untouched
      expect(ir).toMatch(/DISubprogram\(name: "my_function_3C_u32_3E_", linkageName: "_ZN11di_generics11my_function/);
      const verify = run(llvmTool(22, 'opt'), ['-passes=verify', '-disable-output', out]);
      expect(verify.stderr).toBe('');
    });
  });

  describe('program.rs (bin): every rule, then the kernel', () => {
    let obj: string;
    let btf: Btf;
    let log: string;
    beforeAll(() => {
      obj = join(dir, 'program.o');
      const logFile = join(dir, 'program.log');
      rustc({ src: 'program.rs', crateType: 'bin', out: obj, linkArgs: ['--btf', `--log-file=${logFile}`] });
      btf = btfOf(readFileSync(obj));
      log = readFileSync(logFile, 'utf8');
    });

    it('empties the data-carrying enum (an empty STRUCT) and lists it in one warning', () => {
      const e = findType(btf, 'STRUCT', 'DataCarryingEnum');
      expect(e.members).toEqual([]);
      expect(e.size).toBe(16);
      expect(findTypes(btf, 'ENUM', 'DataCarryingEnum')).toEqual([]);
      const warnings = log.split('\n').filter((l) => l.includes(WARNING));
      expect(warnings).toHaveLength(1);
      expect(warnings[0].startsWith(`[WARN] ${WARNING} `)).toBe(true);
      expect(warnings[0].slice(warnings[0].indexOf(':') + 2).split(', ')).toContain('DataCarryingEnum');
    });

    it("keeps the C-like enum: <ENUM> 'SimpleEnum' sz:1 n:3, First = 0, Second = 1, Third = 2", () => {
      const e = findType(btf, 'ENUM', 'SimpleEnum');
      expect([e.size, e.values.length]).toEqual([1, 3]);
      expect(e.values).toEqual([
        { name: 'First', value: 0 },
        { name: 'Second', value: 1 },
        { name: 'Third', value: 2 },
      ]);
    });

    it("names the union <UNION> 'MaybeUninit_3C_u8_3E_'", () => {
      expect(findTypes(btf, 'UNION', 'MaybeUninit_3C_u8_3E_')).toHaveLength(1);
      expect(pointee(btf, 'measure_3C_u32_3E_', 'slot')).toMatchObject({ kind: 'UNION', name: 'MaybeUninit_3C_u8_3E_' });
    });

    it('puts struct members at ascending offsets (rustc declares Mixed in another order)', () => {
      expect(members(btf, 'STRUCT', 'Mixed')).toEqual([['b', 0], ['d', 64], ['c', 96], ['a', 112]]);
      expect(members(btf, 'STRUCT', 'Foo_3C_u32_3E_')).toEqual([['x', 0], ['flag', 32]]);
    });

    it('has no named PTR and only kernel-valid names', () => {
      expectKernelAcceptableBtf(btf);
    });

    it('keeps the program global and makes the internalized generic function static', () => {
      expect(func(btf, 'prog')).toEqual({ linkage: 'global', params: ['ctx'] });
      expect(func(btf, 'measure_3C_u32_3E_')).toEqual({ linkage: 'static', params: ['foo', 'shape', 'mixed', 'slot', 'simple'] });
    });

    it.skipIf(noKernel)('is loaded by the kernel with its BTF', () => {
      const r = loadIntoKernel(obj);
      expect(r.log).not.toMatch(BTF_REJECTED);
      expect(r.ok, r.log).toBe(true);
    });

    it.skipIf(noKernel)("the kernel refuses rustc's unsanitized BTF for the same program (control)", () => {
      const bc = join(dir, 'program-raw.bc');
      const raw = join(dir, 'program-raw.o');
      const args = ['--edition', '2021', '--target', 'bpfel-unknown-none', '--crate-type', 'bin', '-C', 'panic=abort'];
      expect(run(RUSTC, [...args, '-C', 'opt-level=2', '-C', 'debuginfo=2', '--emit=llvm-bc', '-o', bc, join(FIXTURES, 'program.rs')]).status).toBe(0);
      expect(run(llvmTool(22, 'llc'), ['-march=bpfel', '-filetype=obj', bc, '-o', raw]).status).toBe(0);
      expect(findTypes(btfOf(readFileSync(raw)), 'STRUCT', 'Foo<u32>')).toHaveLength(1);
      expect(loadIntoKernel(raw).log).toMatch(BTF_REJECTED);
    });
  });

  describe('exported symbols (bin + dependency rlib; upstream btf/assembly/exported-symbols.rs)', () => {
    let btf: Btf;
    beforeAll(() => {
      const rlib = join(dir, 'libdep_exports.rlib');
      rustc({ src: 'dep_exports.rs', crateType: 'rlib', out: rlib });
      const obj = join(dir, 'exported.o');
      rustc({ src: 'exported.rs', crateType: 'bin', out: obj, linkArgs: ['--btf'], extra: ['-L', dir] });
      btf = btfOf(readFileSync(obj));
    });

    it('exported functions are global and keep their parameter names', () => {
      expect(func(btf, 'local_no_mangle')).toEqual({ linkage: 'global', params: ['_arg1', '_arg2'] });
      expect(func(btf, 'dep_no_mangle').linkage).toBe('global');
      expect(func(btf, 'connect').linkage).toBe('global');
    });

    it('internalized functions are static, from this crate and from the dependency', () => {
      expect(func(btf, 'local_public')).toEqual({ linkage: 'static', params: ['x'] });
      expect(func(btf, 'dep_public_symbol')).toEqual({ linkage: 'static', params: ['x'] });
    });
  });

  describe('Rust + C bitcode in one link (upstream nightly/btf/assembly/anon_struct_c.rs)', () => {
    let obj: string;
    let btf: Btf;
    beforeAll(() => {
      const bc = join(dir, 'anon.bc');
      const clang = run(llvmTool(22, 'clang'), ['-target', 'bpf', '-g', '-O2', '-c', '-emit-llvm', join(FIXTURES, 'anon.c'), '-o', bc]);
      expect(clang.status, clang.stderr).toBe(0);
      obj = join(dir, 'anon_struct.o');
      rustc({ src: 'anon_struct.rs', crateType: 'bin', out: obj, linkArgs: ['--btf', bc] });
      btf = btfOf(readFileSync(obj));
    });

    it("keeps the C struct anonymous: <TYPEDEF> 'incognito' --> <STRUCT> '<anon>' sz:4 n:1", () => {
      const td = findType(btf, 'TYPEDEF', 'incognito');
      expect(typeById(btf, td.typeId)).toMatchObject({ kind: 'STRUCT', name: '', size: 4 });
      expect(members(btf, 'STRUCT', '')).toEqual([['value', 0]]);
      expect(func(btf, 'incognito_value')).toEqual({ linkage: 'static', params: ['i'] });
      expectKernelAcceptableBtf(btf);
    });

    it.skipIf(noKernel)('is loaded by the kernel with its BTF', () => {
      const r = loadIntoKernel(obj);
      expect(r.log).not.toMatch(BTF_REJECTED);
      expect(r.ok, r.log).toBe(true);
    });
  });
});
