/**
 * The bpf-linker binary against real clang-19/clang-22 bitcode, real libLLVM 19 and 22, and the
 * running kernel's verifier. Each test asserts properties of the object produced.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readBpfObject, readElf, type BpfObject } from '@bpf-linker/core';
import {
  LLVM_MAJORS,
  compileC,
  embedBitcodeInElf,
  makeArchive,
  makeTempDir,
  type CompileMode,
  type LlvmMajor,
} from '../../linker-core/test/support/toolchain';
import { kernelLoadUnavailable, loadIntoKernel } from '../../linker-core/test/support/kernel';
import { runCli } from './support/cli';

const SEED = join(__dirname, '../../../examples/seed');
const FIXTURES = join(__dirname, 'fixtures');
const noKernel = kernelLoadUnavailable();

function object(path: string): BpfObject {
  return readBpfObject(readFileSync(path));
}

function symbolBinding(path: string, name: string): string | undefined {
  return readElf(readFileSync(path))
    .symbols()
    .find((s) => s.name === name)?.binding;
}

function btfFuncLinkage(o: BpfObject, name: string): string | undefined {
  return o.btfSummary?.funcs.find((f) => f.name === name)?.linkage;
}

function linkOk(args: string[], env?: NodeJS.ProcessEnv, timeoutMs?: number) {
  const r = runCli(args, env, timeoutMs);
  expect(r.stderr, `bpf-linker ${args.join(' ')}`).not.toMatch(/Error:/);
  expect(r.status).toBe(0);
  return r;
}

/** Seed sources compiled in every input form. */
function buildSeed(major: LlvmMajor, dir: string) {
  const c = (name: string, mode: CompileMode, ext: string) =>
    compileC({ major, source: join(SEED, `${name}.c`), out: join(dir, `${name}.${mode}${ext}`), mode });
  const libBc = c('lib', 'bc', '.bc');
  const progBc = c('program', 'bc', '.bc');
  const libLto = c('lib', 'flto', '.o');
  const progLto = c('program', 'flto', '.o');
  const libLl = c('lib', 'll', '.ll');
  const progLl = c('program', 'll', '.ll');
  const libElf = embedBitcodeInElf(major, c('lib', 'obj', '.o'), libBc, join(dir, 'lib.embedded.o'));
  const progElf = embedBitcodeInElf(major, c('program', 'obj', '.o'), progBc, join(dir, 'program.embedded.o'));
  const libA = makeArchive(major, join(dir, 'liblib.a'), [libBc]);
  return { libBc, progBc, libLto, progLto, libLl, progLl, libElf, progElf, libA };
}

describe.each(LLVM_MAJORS)('with clang-%i bitcode', (major) => {
  let dir: string;
  let seed: ReturnType<typeof buildSeed>;
  const out = (name: string) => join(dir, name);

  beforeAll(() => {
    dir = makeTempDir(`bpfl-cli-${major}-`);
    seed = buildSeed(major, dir);
  });

  describe('the seed example (static library in an archive + program)', () => {
    let obj: BpfObject;
    let path: string;
    beforeAll(() => {
      path = out('seed.o');
      linkOk([seed.progBc, seed.libA, '--btf', '-o', path]);
      obj = object(path);
    });

    it('has the program sections, .maps, license, .BTF and .BTF.ext', () => {
      for (const s of ['xdp', 'kprobe/do_nanosleep', '.maps', 'license', '.BTF', '.BTF.ext']) {
        expect(obj.sectionNames).toContain(s);
      }
      expect(obj.license).toBe('GPL');
      expect(obj.maps.map((m) => m.name)).toEqual(['counters']);
      expect(obj.maps[0]).toMatchObject({ typeName: 'array', keySize: 4, valueSize: 8, maxEntries: 16 });
    });

    it('keeps every symbol with its source linkage when no export list is given (default mode)', () => {
      for (const s of ['xdp_prog', 'kprobe_prog', 'lib_count', 'counters', 'LICENSE']) {
        expect(symbolBinding(path, s), s).toBe('global');
      }
      expect(btfFuncLinkage(obj, 'lib_count')).toBe('global');
      expect(obj.programs.find((p) => p.name === 'xdp_prog')?.calls).toEqual(['lib_count']);
    });

    it.skipIf(noKernel)('is accepted by the kernel verifier', () => {
      const r = loadIntoKernel(path);
      expect(r.log).toBe(r.ok ? r.log : '<accepted>');
      expect(r.ok).toBe(true);
    });
  });

  describe('every input kind alone', () => {
    for (const kind of ['bc', 'flto', 'elf', 'll', 'archive'] as const) {
      it(`a self-contained program as ${kind}`, () => {
        const source = join(FIXTURES, 'loop.c');
        const bc = compileC({ major, source, out: out(`alone.bc`), mode: 'bc' });
        const input = {
          bc: () => bc,
          flto: () => compileC({ major, source, out: out('alone.flto.o'), mode: 'flto' }),
          elf: () => embedBitcodeInElf(major, compileC({ major, source, out: out('alone.elf.o'), mode: 'obj' }), bc, out('alone.embedded.o')),
          ll: () => compileC({ major, source, out: out('alone.ll'), mode: 'll' }),
          archive: () => makeArchive(major, out('alone.a'), [bc]),
        }[kind]();
        const path = out(`alone-${kind}.o`);
        linkOk([input, '--btf', '-o', path]);
        const obj = object(path);
        expect(obj.programs.map((p) => p.name)).toEqual(['sum_bytes']);
        expect(obj.license).toBe('GPL');
        expect(btfFuncLinkage(obj, 'sum_bytes')).toBe('global');
      });
    }
  });

  describe('every input kind, mixed', () => {
    const kinds = ['bc', 'lto', 'elf', 'll', 'archive'] as const;
    const pick = (kind: (typeof kinds)[number], which: 'lib' | 'prog') => {
      const map = {
        bc: which === 'lib' ? seed.libBc : seed.progBc,
        lto: which === 'lib' ? seed.libLto : seed.progLto,
        elf: which === 'lib' ? seed.libElf : seed.progElf,
        ll: which === 'lib' ? seed.libLl : seed.progLl,
        archive: seed.libA,
      };
      return map[kind];
    };
    for (const progKind of ['bc', 'lto', 'elf', 'll'] as const) {
      for (const libKind of kinds) {
        it(`program as ${progKind}, library as ${libKind}`, () => {
          const path = out(`mix-${progKind}-${libKind}.o`);
          linkOk([pick(progKind, 'prog'), pick(libKind, 'lib'), '--btf', '-o', path]);
          const obj = object(path);
          expect(obj.programs.map((p) => p.name).sort()).toEqual(['kprobe_prog', 'lib_count', 'xdp_prog']);
          expect(obj.maps.map((m) => m.name)).toEqual(['counters']);
          expect(obj.sectionNames).toContain('.BTF');
        });
      }
    }
  });

  describe('export modes', () => {
    it('explicit (--export): the list and the memory builtins stay global, the rest is internalized', () => {
      const path = out('explicit.o');
      linkOk([seed.progBc, seed.libA, '--btf', '--export', 'xdp_prog,kprobe_prog', '-o', path]);
      expect(symbolBinding(path, 'xdp_prog')).toBe('global');
      expect(symbolBinding(path, 'kprobe_prog')).toBe('global');
      expect(symbolBinding(path, 'lib_count')).toBe('local');
      expect(symbolBinding(path, 'counters')).toBe('local'); // bpf-linker's semantics: maps too
      const obj = object(path);
      expect(btfFuncLinkage(obj, 'lib_count')).toBe('static');
      expect(btfFuncLinkage(obj, 'xdp_prog')).toBe('global');
    });

    it('explicit (--export-symbols FILE with CRLF lines) merges with --export', () => {
      const list = out('symbols.txt');
      writeFileSync(list, 'xdp_prog\r\ncounters\r\n\r\n');
      const path = out('export-file.o');
      linkOk([seed.progBc, seed.libA, '--export-symbols', list, '--export=LICENSE', '-o', path]);
      expect(symbolBinding(path, 'xdp_prog')).toBe('global');
      expect(symbolBinding(path, 'counters')).toBe('global');
      expect(symbolBinding(path, 'LICENSE')).toBe('global');
      expect(symbolBinding(path, 'kprobe_prog')).toBe('local');
    });

    it('--internalize keeps programs, maps and license, and makes helpers static functions', () => {
      const path = out('internalize.o');
      linkOk([seed.progBc, seed.libA, '--btf', '--internalize', '-o', path]);
      for (const s of ['xdp_prog', 'kprobe_prog', 'counters', 'LICENSE']) expect(symbolBinding(path, s), s).toBe('global');
      expect(symbolBinding(path, 'lib_count')).toBe('local');
      const obj = object(path);
      expect(btfFuncLinkage(obj, 'lib_count')).toBe('static');
      expect(btfFuncLinkage(obj, 'xdp_prog')).toBe('global');
      if (!noKernel) expect(loadIntoKernel(path).ok).toBe(true);
    });

    it('never internalizes declarations (kfunc externs)', () => {
      const bc = compileC({ major, source: join(FIXTURES, 'kfunc.c'), out: out('kfunc.bc'), mode: 'bc' });
      for (const flags of [[], ['--internalize'], ['--export', 'with_rcu']]) {
        const path = out(`kfunc-${flags.length}.o`);
        linkOk([bc, ...flags, '-o', path]);
        const sym = readElf(readFileSync(path))
          .symbols()
          .find((s) => s.name === 'bpf_rcu_read_lock');
        expect(sym, `${flags.join(' ')}`).toMatchObject({ binding: 'global', sectionIndex: 0 });
      }
    });
  });

  it('expands memset/memmove/memcpy inline for C (nothing defines them), so the object loads', () => {
    const bc = compileC({ major, source: join(FIXTURES, 'memfill.c'), out: out('memfill.bc'), mode: 'bc' });
    const path = out('memfill.o');
    for (const mode of [[], ['--internalize'], ['--export', 'fill,events,LICENSE']]) {
      linkOk([bc, '--btf', ...mode, '-o', path]);
      const undefinedCalls = readElf(readFileSync(path))
        .symbols()
        .filter((s) => s.sectionIndex === 0 && /^mem/.test(s.name));
      expect(undefinedCalls, mode.join(' ')).toEqual([]);
      if (!noKernel) expect(loadIntoKernel(path).ok, mode.join(' ')).toBe(true);
    }
  });

  it('an unresolvable libcall is an error (nothing written); --fatal-errors=false writes the object anyway', () => {
    // Forcing in-order expansion leaves memset/memmove as calls that no C object defines.
    const bc = compileC({ major, source: join(FIXTURES, 'memfill.c'), out: out('memfill-forced.bc'), mode: 'bc' });
    const dest = out('memfill-forced.o');
    const forced = ['--btf', '--llvm-args=--bpf-expand-memcpy-in-order', '-o', dest];
    const r = runCli([bc, ...forced]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^Error: LLVM issued diagnostic with error severity while compiling the module linked from [^\n]*:\n.*A call to built-in function 'memset' is not supported\./m);
    expect(r.stderr).toContain('hint: the object would call a function nothing defines');
    // Each diagnostic once: in the error, not also as an [ERROR] line before it.
    expect(r.stderr.match(/A call to built-in function 'memset' is not supported\./g)).toHaveLength(1);
    expect(r.stderr).not.toContain('[ERROR]');
    expect(existsSync(dest)).toBe(false);
    // Without the error, the diagnostics are still printed (once) as [ERROR] lines.
    const written = linkOk([bc, ...forced, '--fatal-errors=false']);
    expect(written.stderr.match(/^\[ERROR\] llvm: .*A call to built-in function 'memset' is not supported\./gm)).toHaveLength(1);
    const undefinedMem = readElf(readFileSync(dest)).symbols().filter((s) => s.sectionIndex === 0 && /^mem/.test(s.name)).map((s) => s.name);
    expect(undefinedMem.sort()).toEqual(['memmove', 'memset']);
  });

  describe('a cross-file helper returning a map-value pointer', () => {
    let lib: string;
    let prog: string;
    beforeAll(() => {
      lib = compileC({ major, source: join(FIXTURES, 'slot_lib.c'), out: out('slot_lib.bc'), mode: 'bc' });
      prog = compileC({ major, source: join(FIXTURES, 'slot_prog.c'), out: out('slot_prog.bc'), mode: 'bc' });
      linkOk([prog, lib, '--btf', '-o', out('slot-default.o')]);
      linkOk([prog, lib, '--btf', '--internalize', '-o', out('slot-internal.o')]);
    });

    it('is a global BTF FUNC in default mode and a static one with --internalize', () => {
      expect(btfFuncLinkage(object(out('slot-default.o')), 'get_slot')).toBe('global');
      expect(btfFuncLinkage(object(out('slot-internal.o')), 'get_slot')).toBe('static');
    });

    it.skipIf(noKernel)('is rejected by the verifier in default mode, like clang\'s own object, and accepted with --internalize', () => {
      const rejected = loadIntoKernel(out('slot-default.o'));
      expect(rejected.ok).toBe(false);
      // 6.18: "Global function get_slot() doesn't return scalar"; 6.1: "R0 is not a scalar value".
      const notScalar = /get_slot\(\) doesn't return scalar|R0 is not a scalar value/;
      expect(rejected.log).toMatch(notScalar);
      // clang's own objects linked by libbpf behave the same way.
      const libO = compileC({ major, source: join(FIXTURES, 'slot_lib.c'), out: out('slot_lib.o'), mode: 'obj' });
      const progO = compileC({ major, source: join(FIXTURES, 'slot_prog.c'), out: out('slot_prog.o'), mode: 'obj' });
      const gen = spawnSync('/usr/sbin/bpftool', ['gen', 'object', out('slot-libbpf.o'), progO, libO], { encoding: 'utf8' });
      expect(gen.status).toBe(0);
      expect(loadIntoKernel(out('slot-libbpf.o')).log).toMatch(notScalar);
      const accepted = loadIntoKernel(out('slot-internal.o'));
      expect(accepted.log).toBe(accepted.ok ? accepted.log : '<accepted>');
    });
  });

  describe('flags', () => {
    it('--emit asm | llvm-ir | llvm-bc, and the first --emit wins', () => {
      linkOk([seed.progBc, seed.libA, '--emit', 'asm', '-o', out('seed.s')]);
      const asm = readFileSync(out('seed.s'), 'utf8');
      expect(asm).toMatch(/^xdp_prog:/m);
      expect(asm).toMatch(/call lib_count/);
      linkOk([seed.progBc, seed.libA, '--emit=llvm-ir', '--emit=asm', '-o', out('seed.ll')]);
      expect(readFileSync(out('seed.ll'), 'utf8')).toMatch(/^; ModuleID = 'linked_module'/);
      linkOk([seed.progBc, seed.libA, '--emit', 'llvm-bc', '-o', out('seed.out.bc')]);
      expect([...readFileSync(out('seed.out.bc')).subarray(0, 4)]).toEqual([0x42, 0x43, 0xc0, 0xde]);
    });

    it('-O: the last level wins; -O3 unrolls a constant loop, -Oz keeps the back-edge', () => {
      const bc = compileC({ major, source: join(FIXTURES, 'loop.c'), out: out('loop.bc'), mode: 'bc', flags: ['-g', '-O2', '-Xclang', '-disable-llvm-passes'] });
      linkOk([bc, '-Oz', '-O3', '-o', out('loop-o3.o')]);
      linkOk([bc, '-O3', '-Oz', '-o', out('loop-oz.o')]);
      const sum = (p: string) => object(p).programs.find((f) => f.name === 'sum_bytes')!;
      expect(sum(out('loop-o3.o')).backEdges).toEqual([]);
      expect(sum(out('loop-oz.o')).backEdges.length).toBeGreaterThan(0);
    });

    it('-O0 is run as -O1 (BPF needs optimization to compile)', () => {
      linkOk([seed.progBc, seed.libA, '-O0', '--dump-module', out('dump-o0'), '-o', out('o0.o')]);
      linkOk([seed.progBc, seed.libA, '-O1', '--dump-module', out('dump-o1'), '-o', out('o1.o')]);
      expect(readFileSync(out('dump-o0/post-opt.ll'), 'utf8')).toBe(readFileSync(out('dump-o1/post-opt.ll'), 'utf8'));
    });

    it('--btf absent: no .BTF and no DWARF, and a warning that libbpf needs BTF for .maps', () => {
      const r = linkOk([seed.progBc, seed.libA, '-o', out('nobtf.o')]);
      expect(r.stderr).toBe('[WARN] the inputs define maps in .maps, which libbpf can only load with BTF: pass --btf (and compile with -g)\n');
      const names = object(out('nobtf.o')).sectionNames;
      expect(names).not.toContain('.BTF');
      expect(names.filter((n) => n.startsWith('.debug_'))).toEqual([]);
    });

    it('--cpu v3 gives 32-bit ALU/JMP instructions; generic does not', () => {
      linkOk([seed.progBc, seed.libA, '--cpu', 'v3', '-o', out('v3.o')]);
      linkOk([seed.progBc, seed.libA, '--cpu', 'generic', '-o', out('generic.o')]);
      const v3 = object(out('v3.o')).codeSections;
      const generic = object(out('generic.o')).codeSections;
      expect(v3.some((s) => s.usesAlu32 || s.usesJmp32)).toBe(true);
      expect(generic.some((s) => s.usesAlu32 || s.usesJmp32)).toBe(false);
    });

    it.skipIf(noKernel)('--cpu probe asks the running kernel (which supports 32-bit ALU here)', () => {
      linkOk([seed.progBc, seed.libA, '--cpu', 'probe', '-o', out('probe.o')]);
      expect(object(out('probe.o')).codeSections.some((s) => s.usesAlu32)).toBe(true);
    });

    it('--cpu v4 is accepted; an unknown CPU is an error', () => {
      linkOk([seed.progBc, seed.libA, '--cpu', 'v4', '-o', out('v4.o')]);
      const r = runCli([seed.progBc, '--cpu', 'v9', '-o', out('v9.o')]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^Error: invalid CPU v9/);
      expect(existsSync(out('v9.o'))).toBe(false);
    });

    it('--dump-module writes pre-opt.ll and post-opt.ll', () => {
      linkOk([seed.progBc, seed.libA, '--internalize', '--dump-module', out('dump'), '-o', out('dump.o')]);
      const pre = readFileSync(out('dump/pre-opt.ll'), 'utf8');
      const post = readFileSync(out('dump/post-opt.ll'), 'utf8');
      expect(pre).toMatch(/define dso_local i32 @lib_count/);
      expect(post).toMatch(/define internal [^@]*@lib_count/);
      // A second dump replaces each file by a rename (a new inode), never by writing into it, so
      // a link killed mid-dump cannot leave half a file; a hard link to the old one is kept whole.
      const keep = out('dump-pre-kept.ll');
      rmSync(keep, { force: true });
      linkSync(out('dump/pre-opt.ll'), keep);
      const inode = statSync(out('dump/pre-opt.ll')).ino;
      linkOk([seed.progBc, seed.libA, '--dump-module', out('dump'), '-o', out('dump.o')]);
      expect(statSync(out('dump/pre-opt.ll')).ino).not.toBe(inode);
      expect(readFileSync(keep, 'utf8')).toBe(pre);
      expect(readdirSync(out('dump')).sort()).toEqual(['post-opt.ll', 'pre-opt.ll']);
    });

    it('--log-file receives the log (and stdout too, as bpf-linker does)', () => {
      const log = out('link.log');
      const r = linkOk([seed.progBc, seed.libA, '--log-level', 'INFO', '--log-file', log, '-o', out('logged.o')]);
      const text = readFileSync(log, 'utf8');
      expect(text).toMatch(new RegExp(`\\[INFO\\] using \\S+libLLVM\\.so\\.${major}\\.1 \\(LLVM ${major}\\.`));
      expect(r.stdout).toBe(text);
    });

    it('--target bpfeb produces a big-endian object', () => {
      linkOk([seed.progBc, seed.libA, '--target', 'bpfeb', '-o', out('be.o')]);
      expect(readElf(readFileSync(out('be.o'))).littleEndian).toBe(false);
    });

    it('--ignore-inline-never inlines the helper: no bpf-to-bpf call remains', () => {
      linkOk([seed.progBc, seed.libA, '--ignore-inline-never', '--internalize', '-o', out('inlined.o')]);
      const obj = object(out('inlined.o'));
      expect(obj.programs.flatMap((p) => p.calls)).toEqual([]);
      expect(obj.programs.map((p) => p.name).sort()).toEqual(['kprobe_prog', 'xdp_prog']);
    });
  });

  describe('errors', () => {
    it('a symbol defined twice names the symbol and both inputs', () => {
      const a = compileC({ major, source: join(FIXTURES, 'dup_a.c'), out: out('dup_a.bc'), mode: 'bc' });
      const b = compileC({ major, source: join(FIXTURES, 'dup_b.c'), out: out('dup_b.bc'), mode: 'bc' });
      const r = runCli([a, b, '-o', out('dup.o')]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`Error: symbol 'twice' is defined in both ${a} and ${b}`);
      // LLVM's own words for it are not printed a second time as a log line.
      expect(r.stderr).not.toContain('multiply defined');
      expect(existsSync(out('dup.o'))).toBe(false);
    });

    it('corrupt and truncated inputs of every kind: exit 1, the file named, no output', () => {
      const cases: [string, Uint8Array][] = [];
      for (const src of [seed.progBc, seed.libA, seed.progElf]) {
        const bytes = readFileSync(src);
        for (const cut of [3, 9, 40, Math.floor(bytes.length / 2), bytes.length - 3]) {
          cases.push([`${src}.cut${cut}`, bytes.subarray(0, cut)]);
        }
        const flipped = Buffer.from(bytes);
        for (let i = 24; i < flipped.length; i += 7) flipped[i] ^= 0x5a;
        cases.push([`${src}.flipped`, flipped]);
      }
      // IR text: a prefix ending between two lines can be a valid module, so cut inside a definition.
      const ll = readFileSync(seed.progLl);
      const define = ll.indexOf('define ');
      cases.push([`${seed.progLl}.cut`, ll.subarray(0, define + 20)]);
      cases.push([`${seed.progLl}.garbled`, Buffer.concat([ll.subarray(0, define), Buffer.from('define i32 @broken( {\n')])]);
      cases.push([out('garbage.o'), Buffer.from('this is not an object file\n')]);
      cases.push([out('empty.bc'), new Uint8Array(0)]);
      for (const [name, bytes] of cases) {
        writeFileSync(name, bytes);
        const dest = `${name}.out.o`;
        const r = runCli([name, '-o', dest]);
        expect(r.status, `${name}: ${r.stderr}`).toBe(1);
        expect(r.stderr, name).toMatch(/^Error: /);
        expect(r.stderr, name).toContain(name);
        expect(r.stderr, name).not.toMatch(/internal error|RangeError|TypeError/);
        expect(existsSync(dest), name).toBe(false);
      }
    });
  });
});

describe('choosing libLLVM', () => {
  let dir: string;
  let bc22: string;
  beforeAll(() => {
    dir = makeTempDir('bpfl-llvm-');
    bc22 = compileC({ major: 22, source: join(SEED, 'program.c'), out: join(dir, 'program22.bc'), mode: 'bc' });
  });

  it('LLVM 22 bitcode with LLVM 19 forced: a clear version error, no output', () => {
    const dest = join(dir, 'forced.o');
    const r = runCli([bc22, '--llvm-path', '/usr/lib/llvm-19', '-o', dest]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^Error: the requested libLLVM \S+libLLVM\.so\.19\.1 is LLVM 19\.1\.\d+, but \S+program22\.bc was produced by LLVM22\.1\.\d+/);
    expect(r.stderr).toContain('hint: use LLVM 22.1 or newer');
    expect(existsSync(dest)).toBe(false);
  });

  it('BPF_LINKER_LLVM forces a library like --llvm-path', () => {
    const r = runCli([bc22, '-o', join(dir, 'env.o')], { BPF_LINKER_LLVM: '/usr/lib/llvm-19/lib/libLLVM.so.19.1' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/is LLVM 19\.1\.\d+, but/);
  });

  it('without forcing, LLVM 22 is chosen for LLVM 22 bitcode', () => {
    const lib22 = compileC({ major: 22, source: join(SEED, 'lib.c'), out: join(dir, 'lib22.bc'), mode: 'bc' });
    const r = linkOk([bc22, lib22, '--log-level=info', '-o', join(dir, 'auto.o')]);
    expect(r.stderr).toMatch(/\[INFO\] using \S+libLLVM\.so\.22\.1 \(LLVM 22\.1\.\d+, system\)/);
  });

  it('--print-llvm lists the installed libraries', () => {
    const r = runCli(['--print-llvm']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/libLLVM\.so\.19\.1\s+LLVM 19\.1\.\d+/);
    expect(r.stdout).toMatch(/libLLVM\.so\.22\.1\s+LLVM 22\.1\.\d+/);
  });
});

describe('an LLVM fatal error', () => {
  it('exits 1 with the reason and a hint, and leaves no output', () => {
    // A branch over 40,000 instructions: farther than the 16-bit jump offsets of -mcpu=v3.
    const dir = makeTempDir('bpfl-fatal-');
    const body = Array.from({ length: 40_000 }, (_, i) => `  store volatile i64 ${i}, ptr @g`).join('\n');
    const ir = join(dir, 'far-jump.ll');
    writeFileSync(ir, `target triple = "bpf"\n@g = global i64 0\ndefine i32 @prog(i64 %x) section "xdp" {\nentry:\n  %c = icmp eq i64 %x, 0\n  br i1 %c, label %big, label %out\nbig:\n${body}\n  br label %out\nout:\n  ret i32 0\n}\n`);
    const dest = join(dir, 'far-jump.o');
    // Code generation of 40,000 stores takes ~40 s on an idle 2-core machine, minutes on a busy one.
    const r = runCli([ir, '--cpu', 'v3', '-o', dest], {}, 400_000);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`Error: LLVM fatal error while generating code for the module linked from ${ir}: Branch target out of insn range\n  hint: a jump is farther than 16-bit offsets reach: --cpu v4 has 32-bit jumps (gotol); or split the function or unroll less\n`);
    expect(existsSync(dest)).toBe(false);
    linkOk([ir, '--cpu', 'v4', '-o', dest], undefined, 400_000);
  }, 900_000);
});

describe('command line', () => {
  it('--help and --version print to stdout and exit 0', () => {
    const h = runCli(['--help']);
    expect(h.status).toBe(0);
    expect(h.stdout).toMatch(/--export-symbols/);
    const v = runCli(['-V']);
    expect(v.stdout).toMatch(/^bpf-linker \d+\.\d+\.\d+\n$/);
  });

  it('a missing input file is an error naming it', () => {
    const r = runCli(['/nonexistent/x.bc', '-o', '/tmp/never.o']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^Error: .*\/nonexistent\/x\.bc/);
  });
});
