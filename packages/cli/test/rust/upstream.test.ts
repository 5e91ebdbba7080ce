/**
 * aya-rs/bpf-linker's own test cases (tests/assembly, tests/btf, tests/nightly; behaviour §15),
 * re-created: each fixture is compiled by a real rustc for bpfel-unknown-none with our built
 * `bpf-linker` as `-C linker`, after its auxiliary crates are built as rlibs, and the same facts
 * upstream's FileCheck lines state are checked on our output: the assembly text, the ELF
 * symbols, and the BTF through our btfdump-format dump.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findType, findTypes, typeById } from '@bpf-linker/core';
import { makeTempDir } from '../../../linker-core/test/support/toolchain';
import {
  bpfObject,
  btfDump,
  buildCrate,
  compileCBitcode,
  debianRustUnavailable,
  globlSymbols,
  symbolBinding,
  type CrateBuild,
} from './support';

const noRust = debianRustUnavailable();

describe.skipIf(noRust)('upstream test cases, with Debian rustc and its prebuilt BPF core', () => {
  let dir: string;
  let aux: string;
  const out = (name: string) => join(dir, name);
  /** Builds a fixture against the auxiliary rlibs. */
  const build = (b: Omit<CrateBuild, 'libDirs'>) => buildCrate({ ...b, libDirs: [aux] });
  const asm = (b: Omit<CrateBuild, 'libDirs'>) => readFileSync(build({ ...b, linkArgs: [...(b.linkArgs ?? []), '--emit=asm'] }), 'utf8');

  beforeAll(() => {
    dir = makeTempDir('bpfl-rust-upstream-');
    aux = join(dir, 'aux');
    mkdirSync(aux);
    // // aux-build: dep-section.rs, dep-exports.rs (built with the test's debuginfo, like compiletest).
    buildCrate({ src: 'dep_section.rs', crateType: 'rlib', out: join(aux, 'libdep_section.rlib') });
    buildCrate({ src: 'dep_exports.rs', crateType: 'rlib', out: join(aux, 'libdep_exports.rlib') });
  });

  describe.each(['bin', 'cdylib'] as const)('assembly/%s: program sections from the crate and from an rlib', (crateType) => {
    it('keeps `uprobe/connect`, the rlib\'s `uprobe/dep` and the map\'s `maps/counter` sections', () => {
      const text = asm({ src: 'sections.rs', crateType, out: out(`sections-${crateType}.s`) });
      expect(text).toContain('.section\t"uprobe/connect","ax"');
      expect(text).toContain('.section\t"uprobe/dep","ax"');
      expect(text).toContain('.section\t"maps/counter","aw"');
    });

    it('puts the functions and the map static in those sections as global symbols', () => {
      const path = build({ src: 'sections.rs', crateType, out: out(crateType === 'bin' ? 'sections' : 'libsections.so') });
      const obj = bpfObject(path);
      expect(obj.programs.find((p) => p.name === 'connect')).toMatchObject({ section: 'uprobe/connect', binding: 'global' });
      expect(obj.programs.find((p) => p.name === 'dep')).toMatchObject({ section: 'uprobe/dep', binding: 'global' });
      expect(obj.maps.find((m) => m.name === 'COUNTER')).toMatchObject({
        section: 'maps/counter',
        binding: 'global',
        source: 'legacy',
        fields: { type: 2, key_size: 4, value_size: 8, max_entries: 1, map_flags: 0 },
      });
    });
  });

  describe.each(['bin', 'cdylib'] as const)('assembly/exported-symbols (revision %s)', (crateType) => {
    it('#[no_mangle] functions of the crate and of the rlib stay .globl; pub and re-exported ones do not', () => {
      const globl = globlSymbols(asm({ src: 'exported_symbols.rs', crateType, out: out(`exported-${crateType}.s`) }));
      expect(globl).toContain('local_no_mangle');
      expect(globl).toContain('dep_no_mangle');
      expect(globl).toContain('exported_program');
      for (const internal of ['local_public', 'dep_public_symbol', 'local_re_exported']) {
        expect(globl.filter((s) => s.includes(internal)), internal).toEqual([]);
      }
    });

    it('the same in the ELF symbol table: global for the export list, local for the rest', () => {
      const path = build({ src: 'exported_symbols.rs', crateType, out: out(`exported-${crateType}.o`) });
      const obj = bpfObject(path);
      for (const name of ['local_no_mangle', 'dep_no_mangle', 'exported_program']) expect(symbolBinding(path, name), name).toBe('global');
      const mangled = obj.programs.filter((p) => /local_public|dep_public_symbol/.test(p.name));
      expect(mangled.map((p) => p.name)).toEqual(expect.arrayContaining([expect.stringMatching(/local_public/), expect.stringMatching(/dep_public_symbol/)]));
      for (const p of mangled) expect(p.binding, p.name).toBe('local');
    });
  });

  describe('assembly/ignore-inline-never (cdylib)', () => {
    it('with --ignore-inline-never the #[inline(never)] callee is inlined into `fun`', () => {
      const text = asm({ src: 'ignore_inline_never.rs', crateType: 'cdylib', out: out('inline.s'), linkArgs: ['--ignore-inline-never'] });
      const fun = text.slice(text.indexOf('fun:'), text.indexOf('.Lfunc_end0'));
      expect(fun).toMatch(/r[0-9] = r[0-9]/);
      expect(fun).toMatch(/r[0-9] \+= 42/);
      expect(fun).not.toMatch(/\bcall\b/);
    });

    it('without it the callee stays a bpf-to-bpf call', () => {
      const obj = bpfObject(build({ src: 'ignore_inline_never.rs', crateType: 'cdylib', out: out('libnoinline.so') }));
      expect(obj.programs.find((p) => p.name === 'fun')?.calls).toEqual([expect.stringMatching(/add_42/)]);
    });
  });

  describe('assembly/di_generics (cdylib, --emit=llvm-ir --btf)', () => {
    it('escapes generic names in the debug info handed to the BPF backend', () => {
      const ir = readFileSync(
        build({ src: 'di_generics.rs', crateType: 'cdylib', out: out('generics.ll'), linkArgs: ['--emit=llvm-ir', '--btf'] }),
        'utf8',
      );
      expect(ir).toContain('name: "Foo_3C_u32_3E_"');
      expect(ir).toContain('name: "Bar_3C_di_generics_3A__3A_Foo_3C_u32_3E__3E_"');
      expect(ir).toContain('name: "my_function_3C_u32_3E_"');
    });

    it('and the BTF carries the escaped names', () => {
      const dump = btfDump(build({ src: 'di_generics.rs', crateType: 'cdylib', out: out('libgenerics.so'), linkArgs: ['--btf'] }));
      expect(dump).toMatch(/<STRUCT> 'Foo_3C_u32_3E_' sz:4 n:1/);
      expect(dump).toMatch(/<STRUCT> 'Bar_3C_di_generics_3A__3A_Foo_3C_u32_3E__3E_' sz:4 n:1/);
      expect(dump).toMatch(/<FUNC> 'my_function_3C_u32_3E_' --> static \[\d+\]/);
      expect(dump).not.toMatch(/'[^'\n]*[<>:, ][^'\n]*'/); // no raw generic punctuation in any name
    });
  });

  describe('assembly/unroll-loop (--unroll-loops -O3; ignored upstream)', () => {
    it('no back-edge remains, and each of the 200 rounds is a load', () => {
      const text = asm({ src: 'unroll_loop.rs', crateType: 'bin', out: out('unroll.s'), opt: '3', debuginfo: 0, linkArgs: ['--unroll-loops'] });
      const body = text.slice(text.indexOf('sum_rounds:'), text.indexOf('.Lfunc_end0'));
      expect(body.match(/= \*\(u8 \*\)/g)?.length).toBe(200);
      const obj = bpfObject(build({ src: 'unroll_loop.rs', crateType: 'bin', out: out('unroll'), opt: '3', linkArgs: ['--unroll-loops'] }));
      expect(obj.programs.find((p) => p.name === 'sum_rounds')?.backEdges).toEqual([]);
    });
  });

  describe('btf/assembly/basic (bin, --btf)', () => {
    it('the program is a global BTF FUNC', () => {
      const dump = btfDump(build({ src: 'sections.rs', crateType: 'bin', out: out('basic'), linkArgs: ['--btf'] }));
      expect(dump).toMatch(/<FUNC> 'connect' --> global \[\d+\]/);
    });
  });

  describe('btf/assembly/data-carrying-enum (cdylib, --btf)', () => {
    let dump: string;
    beforeAll(() => {
      dump = btfDump(build({ src: 'data_carrying_enum.rs', crateType: 'cdylib', out: out('libenum.so'), linkArgs: ['--btf'] }));
    });

    it('a C-like enum is a BTF ENUM with its variants', () => {
      expect(dump).toContain("<ENUM> 'SimpleEnum' sz:1 n:3\n\t#00 First = 0\n\t#01 Second = 1\n\t#02 Third = 2\n");
    });

    it('an enum whose variants carry data is not an ENUM', () => {
      expect(dump).not.toContain("<ENUM> 'DataCarryingEnum'");
    });
  });

  describe('btf/assembly/exported-symbols (bin, --btf, aux dep-exports)', () => {
    let path: string;
    let dump: string;
    beforeAll(() => {
      path = build({ src: 'exported_symbols.rs', crateType: 'bin', out: out('exported-btf'), linkArgs: ['--btf'] });
      dump = btfDump(path);
    });

    it('exported functions are global FUNCs; their prototypes keep the parameter names', () => {
      const m = /<FUNC> 'local_no_mangle' --> global \[(\d+)\]/.exec(dump);
      expect(m, dump).not.toBeNull();
      expect(dump).toContain(`#${m![1]}: <FUNC_PROTO> r-->[`);
      const btf = bpfObject(path).btf!;
      const proto = typeById(btf, findType(btf, 'FUNC', 'local_no_mangle').typeId);
      expect(proto.kind === 'FUNC_PROTO' && proto.params.map((p) => p.name)).toEqual(['_arg1', '_arg2']);
      expect(dump).toMatch(/<FUNC> 'dep_no_mangle' --> global \[\d+\]/);
    });

    it('internalized functions are static FUNCs', () => {
      expect(dump).toMatch(/<FUNC> '[^'\n]*local_public[^'\n]*' --> static/);
      expect(dump).toMatch(/<FUNC> '[^'\n]*dep_public_symbol[^'\n]*' --> static/);
    });
  });

  describe('btf/assembly/maybe-uninit-union-name (cdylib, --btf)', () => {
    it('MaybeUninit<u8> is a UNION with the escaped name', () => {
      const path = build({ src: 'maybe_uninit_union.rs', crateType: 'cdylib', out: out('libunion.so'), linkArgs: ['--btf'] });
      expect(btfDump(path)).toMatch(/<UNION> 'MaybeUninit_3C_u8_3E_' sz:1 n:\d+/);
      expect(findTypes(bpfObject(path).btf!, 'UNION').map((u) => u.name)).toContain('MaybeUninit_3C_u8_3E_');
    });
  });

  describe('nightly/btf/assembly/anon_struct_c (bin, --btf, Rust + C bitcode)', () => {
    it('the C typedef of an anonymous struct keeps the struct anonymous', () => {
      const anon = compileCBitcode('c/anon.c', out('anon.bc'));
      // Upstream passes anon.bc with nightly's #[link(kind = "link-arg")]; -C link-arg does the same on stable.
      const path = build({ src: 'anon_struct.rs', crateType: 'bin', out: out('anon'), linkArgs: ['--btf', anon] });
      const dump = btfDump(path);
      const m = /<TYPEDEF> 'incognito' --> \[(\d+)\]/.exec(dump);
      expect(m, dump).not.toBeNull();
      expect(dump).toContain(`#${m![1]}: <STRUCT> '<anon>' sz:4 n:1`);
      expect(bpfObject(path).programs.find((p) => p.name === 'anon_program')?.section).toBe('uprobe/anon');
    });
  });
});
