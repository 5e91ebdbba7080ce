/**
 * bpf-linker as rustc's linker: the exact argv rustc hands over, the flags for old kernels
 * proven on the produced code, Rust + C bitcode in one object, big-endian output, rustup's
 * own libLLVM for rustup's bitcode, and link time with the prebuilt core. Every object comes
 * from a real rustc run (Debian's 1.96, or rustup's toolchains when installed).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EM_BPF, findLlvmCandidates, rankCandidates, readElf } from '@bpf-linker/core';
import { makeTempDir } from '../../../linker-core/test/support/toolchain';
import { kernelLoadUnavailable, loadIntoKernel } from '../../../linker-core/test/support/kernel';
import { CLI, runCli } from '../support/cli';
import {
  FIXTURES,
  RUSTC,
  RUSTUP_HOME,
  RUSTUP_PROXY_RUSTC,
  bpfObject,
  btfDump,
  buildCrate,
  compileCBitcode,
  debianRustUnavailable,
  expectSuccess,
  recordingLinker,
  run,
  rustc,
  rustupToolchain,
  symbolBinding,
  writeNoCoreCrate,
} from './support';

const noRust = debianRustUnavailable();
const noKernel = kernelLoadUnavailable();

function expectLoads(path: string): void {
  const r = loadIntoKernel(path);
  expect(r.log, path).toBe(r.ok ? r.log : '<accepted by the verifier>');
}

const allCalls = (path: string) => bpfObject(path).programs.flatMap((p) => p.calls);
const allBackEdges = (path: string) => bpfObject(path).programs.flatMap((p) => p.backEdges);

describe.skipIf(noRust)('rustc → bpf-linker (Debian rustc 1.96)', () => {
  let dir: string;
  let aux: string;
  const out = (name: string) => join(dir, name);

  beforeAll(() => {
    dir = makeTempDir('bpfl-rustc-');
    aux = join(dir, 'aux');
    mkdirSync(aux);
    buildCrate({ src: 'dep_exports.rs', crateType: 'rlib', out: join(aux, 'libdep_exports.rlib') });
  });

  describe('the argv rustc passes, recorded and linked', () => {
    it('export file, symbols.o, bitcode codegen units, rlibs, -L, --cpu, --cpu-features, -o, -O, --debug, then link-args', () => {
      const linker = recordingLinker(join(dir, 'rec-argv'));
      const dest = out('argv-prog');
      buildCrate({
        src: 'exported_symbols.rs',
        crateType: 'bin',
        out: dest,
        opt: 's',
        libDirs: [aux],
        linker: linker.path,
        extra: ['-C', 'target-cpu=generic', '-C', 'target-feature=+alu32'],
        linkArgs: ['--btf', '--log-level=warn'],
      });
      const [call] = linker.calls();
      expect(call.status).toBe(0);
      const a = call.argv;
      expect(a).toEqual([
        '--export-symbols', expect.stringMatching(/\/rustc\w+\/symbols$/),
        expect.stringMatching(/\/rustc\w+\/symbols\.o$/),
        // next to -o: relative when -o is, absolute here
        expect.stringMatching(new RegExp(`^${dir}/argv-prog\\.exported_symbols\\.[0-9a-f]+-cgu\\.0\\.rcgu\\.o$`)),
        join(aux, 'libdep_exports.rlib'),
        expect.stringMatching(/\/bpfel-unknown-none\/lib\/libcore-[0-9a-f]+\.rlib$/),
        expect.stringMatching(/\/bpfel-unknown-none\/lib\/libcompiler_builtins-[0-9a-f]+\.rlib$/),
        '-L', expect.stringMatching(/\/rustc\w+\/raw-dylibs$/),
        '--cpu', 'generic',
        '--cpu-features', '+alu32',
        '-L', aux,
        '-o', dest,
        '-Os',
        '--debug',
        '--btf', '--log-level=warn',
      ]);
      // What each input is: symbols.o is an ELF without bitcode, codegen units are raw bitcode,
      // rlibs are ar archives holding lib.rmeta next to bitcode members.
      expect(call.magic[a[2]]).toBe('7f454c46');
      expect(call.magic[a[3]]).toBe('4243c0de');
      for (const rlib of a.slice(4, 7)) {
        expect(call.magic[rlib], rlib).toBe('213c6172');
        expect(call.archiveMembers[rlib], rlib).toContain('lib.rmeta');
        expect(call.archiveMembers[rlib].some((m) => m.endsWith('.rcgu.o')), rlib).toBe(true);
      }
      // The export file lists the #[no_mangle] functions of the crate and of its dependency.
      expect(call.exportSymbols!.split('\n').filter(Boolean).sort()).toEqual(['dep_no_mangle', 'exported_program', 'local_no_mangle']);

      const obj = bpfObject(dest);
      expect(obj.codeSections.some((s) => s.usesAlu32)).toBe(true);
      expect(obj.btfSummary?.funcs).toEqual(expect.arrayContaining([{ name: 'exported_program', linkage: 'global' }]));
      // symbols.o and lib.rmeta are expected inputs: skipping them is not worth a warning.
      expect(call.stderr).not.toMatch(/symbols\.o|lib\.rmeta/);
    });

    it('--cpu-features with a value that starts with `-` (target-feature=-alu32)', () => {
      const linker = recordingLinker(join(dir, 'rec-features'));
      const dest = buildCrate({
        src: 'exported_symbols.rs',
        crateType: 'bin',
        out: out('minus-alu32'),
        debuginfo: 0,
        libDirs: [aux],
        linker: linker.path,
        extra: ['-C', 'target-cpu=generic', '-C', 'target-feature=-alu32'],
      });
      const { argv, status, stderr } = linker.calls()[0];
      expect(status).toBe(0);
      expect(stderr).toBe(''); // a plain link prints nothing (rustc shows linker output as warnings)
      expect(argv.slice(argv.indexOf('--cpu-features'), argv.indexOf('--cpu-features') + 2)).toEqual(['--cpu-features', '-alu32']);
      expect(bpfObject(dest).codeSections.some((s) => s.usesAlu32)).toBe(false);
    });

    it.each([
      ['0', '-O0'],
      ['3', '-O3'],
      ['z', '-Oz'],
    ])('-C opt-level=%s is passed as %s and links', (level, flag) => {
      const linker = recordingLinker(join(dir, `rec-opt-${level}`));
      const dest = buildCrate({ src: 'ignore_inline_never.rs', crateType: 'bin', out: out(`opt-${level}`), opt: level, debuginfo: 0, linker: linker.path });
      const { argv } = linker.calls()[0];
      expect(argv.slice(argv.indexOf('-o'), argv.indexOf('-o') + 4)).toEqual(['-o', dest, flag, '--debug']);
      expect(bpfObject(dest).programs.find((p) => p.name === 'fun')?.section).toBe('uprobe/fun');
    });

    it('user link-args come after rustc\'s own, and the first --emit wins', () => {
      const linker = recordingLinker(join(dir, 'rec-emit'));
      const dest = buildCrate({
        src: 'ignore_inline_never.rs',
        crateType: 'bin',
        out: out('emit.s'),
        debuginfo: 0,
        linker: linker.path,
        extra: ['-C', 'link-args=--emit=asm --emit=llvm-ir'],
      });
      expect(linker.calls()[0].argv.slice(-3)).toEqual(['--debug', '--emit=asm', '--emit=llvm-ir']);
      expect(readFileSync(dest, 'utf8')).toMatch(/^fun:$/m);
    });

    it('a failing link makes rustc fail with our message', () => {
      const r = rustc({ src: 'ignore_inline_never.rs', crateType: 'bin', out: out('bad'), debuginfo: 0, linkArgs: ['--cpu=v9'] });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/error: linking with `[^`]*bpf-linker\.cjs` failed: exit status: 1/);
      expect(r.stderr).toContain('Error: invalid CPU v9');
      expect(existsSync(out('bad'))).toBe(false);
    });
  });

  describe('flags for old kernels, proven on the instructions', () => {
    let unrollC: string;
    let noinlineC: string;
    beforeAll(() => {
      unrollC = compileCBitcode('c/unroll.c', out('unroll.bc'));
      noinlineC = compileCBitcode('c/noinline.c', out('noinline.bc'));
    });

    it('Rust: a constant-bound loop keeps its back-edge by default; --unroll-loops removes it', () => {
      const plain = buildCrate({ src: 'unroll_loop.rs', crateType: 'bin', out: out('rs-loop'), debuginfo: 0 });
      const unrolled = buildCrate({ src: 'unroll_loop.rs', crateType: 'bin', out: out('rs-loop-unrolled'), debuginfo: 0, linkArgs: ['--unroll-loops'] });
      expect(bpfObject(plain).programs.find((p) => p.name === 'sum_rounds')?.backEdges.length).toBeGreaterThan(0);
      expect(bpfObject(unrolled).programs.find((p) => p.name === 'sum_rounds')?.backEdges).toEqual([]);
    });

    it('Rust: an #[inline(never)] callee is a bpf-to-bpf call by default; --ignore-inline-never leaves none', () => {
      const plain = buildCrate({ src: 'ignore_inline_never.rs', crateType: 'bin', out: out('rs-call'), debuginfo: 0 });
      const inlined = buildCrate({ src: 'ignore_inline_never.rs', crateType: 'bin', out: out('rs-inlined'), debuginfo: 0, linkArgs: ['--ignore-inline-never'] });
      expect(bpfObject(plain).programs.find((p) => p.name === 'fun')?.calls).toHaveLength(1);
      expect(allCalls(inlined)).toEqual([]);
    });

    it('Rust: both flags on a crate with a dependency — no call and no back-edge anywhere', () => {
      const path = buildCrate({
        src: 'exported_symbols.rs',
        crateType: 'bin',
        out: out('rs-old-kernel'),
        libDirs: [aux],
        linkArgs: ['--unroll-loops', '--ignore-inline-never', '--btf'],
      });
      expect(allCalls(path)).toEqual([]);
      expect(bpfObject(path).programs.find((p) => p.name === 'exported_program')?.backEdges).toEqual([]);
    });

    it('C: the same loop unrolled and the same call inlined', () => {
      runOk([unrollC, '-o', out('c-loop.o')]);
      runOk([unrollC, '--unroll-loops', '-o', out('c-loop-unrolled.o')]);
      runOk([noinlineC, '-o', out('c-call.o')]);
      runOk([noinlineC, '--ignore-inline-never', '-o', out('c-inlined.o')]);
      expect(allBackEdges(out('c-loop.o')).length).toBeGreaterThan(0);
      expect(allBackEdges(out('c-loop-unrolled.o'))).toEqual([]);
      expect(bpfObject(out('c-call.o')).programs.find((p) => p.name === 'fun')?.calls).toEqual(['add_42']);
      expect(allCalls(out('c-inlined.o'))).toEqual([]);
    });

    it.skipIf(noKernel)('the unrolled and inlined objects load', () => {
      expectLoads(out('c-loop-unrolled.o'));
      expectLoads(out('c-inlined.o'));
      expectLoads(out('rs-loop-unrolled'));
    });
  });

  describe('Rust and C bitcode in one link', () => {
    const buildMixed = (cBitcode: string, name: string, exportMap = true) =>
      buildCrate({
        src: 'mixed.rs',
        crateType: 'bin',
        out: out(name),
        linkArgs: ['--btf', cBitcode, ...(exportMap ? ['--export=c_counters'] : [])],
      });

    it('a Rust program calls a C function that uses a C map (clang-22 bitcode)', () => {
      const path = buildMixed(compileCBitcode('c/counters.c', out('counters22.bc')), 'mixed22');
      const obj = bpfObject(path);
      expect(obj.programs.find((p) => p.name === 'rust_xdp')).toMatchObject({ section: 'xdp', binding: 'global', calls: ['c_bump'] });
      expect(obj.programs.find((p) => p.name === 'c_bump')).toMatchObject({ binding: 'local', helperCalls: [1] });
      expect(obj.maps).toEqual([expect.objectContaining({ name: 'c_counters', binding: 'global', typeName: 'array', keySize: 4, valueSize: 8, maxEntries: 8 })]);
      expect(obj.license).toBe('GPL');
      const dump = btfDump(path);
      expect(dump).toMatch(/<FUNC> 'rust_xdp' --> global/);
      expect(dump).toMatch(/<FUNC> 'c_bump' --> static/);
      if (!noKernel) expectLoads(path);
    });

    it('C bitcode from an older clang (19) links with Rust\'s (LLVM 22)', (ctx) => {
      ctx.skip(!existsSync('/usr/lib/llvm-19/bin/clang'), 'clang-19 is not installed');
      const bc19 = join(dir, 'counters19.bc');
      expectSuccess(
        run('/usr/lib/llvm-19/bin/clang', ['-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-g', '-O2', '-emit-llvm', '-c', join(FIXTURES, 'c/counters.c'), '-o', bc19]),
        'clang-19',
      );
      const path = buildMixed(bc19, 'mixed19');
      expect(bpfObject(path).programs.find((p) => p.name === 'rust_xdp')?.calls).toEqual(['c_bump']);
    });

    it('without --export the C map is internalized like any symbol rustc did not list (libbpf then refuses it)', () => {
      const path = buildMixed(out('counters22.bc'), 'mixed-static-map', false);
      expect(symbolBinding(path, 'c_counters')).toBe('local');
    });
  });

  describe.skipIf(debianRustUnavailable('bpfeb-unknown-none'))('bpfeb-unknown-none', () => {
    it('produces a big-endian BPF ELF whose code and BTF read back', () => {
      const path = buildCrate({ src: 'unroll_loop.rs', crateType: 'bin', target: 'bpfeb-unknown-none', out: out('be-prog'), linkArgs: ['--btf'] });
      const elf = readElf(readFileSync(path));
      expect(elf.littleEndian).toBe(false);
      expect(elf.machine).toBe(EM_BPF);
      const obj = bpfObject(path);
      expect(obj.littleEndian).toBe(false);
      expect(obj.programs.find((p) => p.name === 'sum_rounds')).toMatchObject({ section: 'socket', binding: 'global' });
      expect(obj.btfSummary?.funcs).toEqual(expect.arrayContaining([{ name: 'sum_rounds', linkage: 'global' }]));
    });
  });

  describe('merging many inputs (a rustc link hands over ~380 units)', () => {
    // How fast the merge is belongs to bench/ (measured against llvm-link in one run), not here.
    it('links libcore and compiler_builtins whole (--whole-archive: over 300 units)', () => {
      const bc = out('timed.rcgu.o');
      // With obj-is-bitcode, --emit=obj writes the codegen unit rustc would hand the linker.
      expectSuccess(
        run(RUSTC, ['--edition', '2021', '--target', 'bpfel-unknown-none', '--crate-type', 'lib', '-C', 'panic=abort', '-C', 'opt-level=2', '-C', 'debuginfo=2', '--emit=obj', '-o', bc, join(FIXTURES, 'dep_section.rs')]),
        'rustc --emit=obj',
      );
      const lib = '/usr/lib/rustlib/bpfel-unknown-none/lib';
      const rlibs = ['libcore', 'libcompiler_builtins'].map((n) => join(lib, readdirMatching(lib, new RegExp(`^${n}-[0-9a-f]+\\.rlib$`))));
      // --whole-archive: every member, to time the merge (a normal link selects a handful).
      const r = runOk([bc, ...rlibs, '--export', 'dep', '--btf', '--whole-archive', '--log-level=debug', '-o', out('timed.o')]);
      const link = Number(/stage times \(ms\):.*\blink ([\d.]+)/.exec(r.stderr)?.[1]);
      expect(link).toBeGreaterThan(0);
      expect(r.stderr.match(/^\[DEBUG\] linking /gm)?.length).toBeGreaterThan(300);
      expect(bpfObject(out('timed.o')).programs.find((p) => p.name === 'dep')?.section).toBe('uprobe/dep');
    });

    it('keeps a linkonce definition that only an earlier input uses', () => {
      const ir = (name: string, body: string) => {
        const p = out(name);
        writeFileSync(p, `target datalayout = "e-m:e-p:64:64-i64:64-i128:128-n32:64-S128"\ntarget triple = "bpfel"\n${body}\n`);
        return p;
      };
      const a = ir('a.ll', 'declare i64 @helper(i64)\ndefine i64 @prog(i64 %x) section "xdp" {\n  %r = call i64 @helper(i64 %x)\n  ret i64 %r\n}');
      const b = ir('b.ll', 'define i64 @filler_b() {\n  ret i64 1\n}');
      const c = ir('c.ll', 'define i64 @filler_c() {\n  ret i64 2\n}');
      const d = ir('d.ll', 'define linkonce_odr i64 @helper(i64 %x) {\n  %r = add i64 %x, 7\n  ret i64 %r\n}');
      // a+b and c+d are merged first; d's helper must still reach a.
      runOk([a, b, c, d, '--export', 'prog', '-o', out('linkonce.o')]);
      const undefinedSymbols = readElf(readFileSync(out('linkonce.o')))
        .symbols()
        .filter((s) => s.name !== '' && s.sectionIndex === 0);
      expect(undefinedSymbols).toEqual([]);
      expect(allCalls(out('linkonce.o'))).toEqual([]);
    });

    it('names both inputs of a duplicate definition, wherever they sit in the merge', () => {
      const ir = (name: string, body: string) => {
        const p = out(name);
        writeFileSync(p, `target triple = "bpfel"\n${body}\n`);
        return p;
      };
      const inputs = ['one', 'two', 'three', 'four', 'five'].map((n) =>
        ir(`dup-${n}.ll`, `define i64 @only_${n}() {\n  ret i64 0\n}${n === 'two' || n === 'five' ? '\ndefine i64 @twice() {\n  ret i64 1\n}' : ''}`),
      );
      const r = runCli([...inputs, '-o', out('dup.o')]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`Error: symbol 'twice' is defined in both ${inputs[1]} and ${inputs[4]}`);
      expect(existsSync(out('dup.o'))).toBe(false);
    });
  });
});

function runOk(args: string[], env?: NodeJS.ProcessEnv) {
  const r = runCli(args, env);
  expect(r.status, `bpf-linker ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r;
}

function readdirMatching(dir: string, re: RegExp): string {
  const name = readdirSync(dir).find((f) => re.test(f));
  if (!name) throw new Error(`nothing matching ${re} in ${dir}`);
  return name;
}

describe('finding rustc\'s libLLVM for rustc bitcode', () => {
  it('looks through rustup\'s toolchains for the exact rustc named in the producer', () => {
    // A fake rustup home: discovery matches by file name and does not load the library.
    const home = makeTempDir('bpfl-fake-rustup-');
    const lib = join(home, 'toolchains/custom-x86_64-unknown-linux-gnu/lib');
    mkdirSync(lib, { recursive: true });
    writeFileSync(join(lib, 'libLLVM.so.22.1-rust-9.99.0-test'), 'not really a library');
    writeFileSync(join(lib, 'libLLVM-22-rust-9.99.0-test.so'), 'INPUT(libLLVM.so.22.1-rust-9.99.0-test)\n');
    const env = { RUSTUP_HOME: home, RUSTC: '/nonexistent/rustc', PATH: '/nonexistent' };
    const need = (rustc?: string) => ({ version: { major: 22, minor: 1, patch: 99 }, rustc, producer: `LLVM22.1.99${rustc ? `-rust-${rustc}` : ''}`, origin: 'x.rcgu.o' });
    const found = findLlvmCandidates(need('9.99.0-test'), env).filter((c) => c.source === 'rustc');
    expect(found).toEqual([{ path: join(lib, 'libLLVM.so.22.1-rust-9.99.0-test'), source: 'rustc', major: 22, minor: 1, rustc: '9.99.0-test' }]);
    // It is ranked first for that bitcode, ahead of any packaged LLVM.
    expect(rankCandidates(findLlvmCandidates(need('9.99.0-test'), env), need('9.99.0-test'))[0]).toEqual(found[0]);
    // Another rustc version, or clang bitcode, does not pick it up.
    expect(findLlvmCandidates(need('9.98.0-other'), env).filter((c) => c.source === 'rustc')).toEqual([]);
  });

  it('takes a dashed libLLVM-NN-rust-*.so when it is the library itself (older toolchains), never when it is an ld script', () => {
    const home = makeTempDir('bpfl-fake-rustup-');
    const lib = join(home, 'toolchains/old-x86_64-unknown-linux-gnu/lib');
    mkdirSync(lib, { recursive: true });
    writeFileSync(join(lib, 'libLLVM-20-rust-9.90.0-old.so'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]));
    writeFileSync(join(lib, 'libLLVM-20-rust-9.91.0-script.so'), 'INPUT(libLLVM.so.20.1-rust-9.91.0-script)\n');
    const env = { RUSTUP_HOME: home, RUSTC: '/nonexistent/rustc', PATH: '/nonexistent' };
    const need = (rustc: string) => ({ version: { major: 20, minor: 1, patch: 0 }, rustc, producer: `LLVM20.1.0-rust-${rustc}`, origin: 'x.rcgu.o' });
    expect(findLlvmCandidates(need('9.90.0-old'), env).filter((c) => c.source === 'rustc')).toEqual([
      { path: join(lib, 'libLLVM-20-rust-9.90.0-old.so'), source: 'rustc', major: 20, minor: 1, rustc: '9.90.0-old' },
    ]);
    expect(findLlvmCandidates(need('9.91.0-script'), env).filter((c) => c.source === 'rustc')).toEqual([]);
  });
});

const nightly = rustupToolchain('nightly');
const stable = rustupToolchain('stable');

describe.skipIf(!nightly || !existsSync(RUSTUP_PROXY_RUSTC))('rustup toolchains: rustc\'s own libLLVM for its bitcode', () => {
  let dir: string;
  let crate: string;
  const out = (name: string) => join(dir, name);
  /** rustup-run rustc with a #![no_core] crate (no core for bpfel-unknown-none in rustup here). */
  const build = (toolchain: string, name: string, linkArgs: string[], env: NodeJS.ProcessEnv = process.env, linker = CLI) =>
    run(
      RUSTUP_PROXY_RUSTC,
      [`+${toolchain}`, '--edition', '2021', '--target', 'bpfel-unknown-none', '--crate-type', 'bin', '-C', 'panic=abort', '-C', 'opt-level=2', '-C', 'debuginfo=2',
        '-C', `linker=${linker}`, ...linkArgs.map((a) => `-Clink-arg=${a}`), '-o', out(name), crate],
      { env },
    );

  beforeAll(() => {
    dir = makeTempDir('bpfl-rustup-');
    crate = writeNoCoreCrate(join(dir, 'nightly_prog.rs'));
  });

  it('nightly: the link uses nightly\'s libLLVM (found through rustup\'s LD_LIBRARY_PATH)', () => {
    const r = expectSuccess(build('nightly', 'nightly-prog', ['--btf', '--log-level=info']), 'rustc +nightly');
    // Nightly rustc shows the linker's stderr as a warning.
    expect(r.stderr).toContain(`using ${nightly!.libLlvm} (LLVM 22.1.`);
    expect(r.stderr).toMatch(new RegExp(`using \\S+ \\(LLVM \\d+\\.\\d+\\.\\d+, rustc\\)`));
    const obj = bpfObject(out('nightly-prog'));
    expect(obj.programs.find((p) => p.name === 'nightly_prog')).toMatchObject({ section: 'xdp', binding: 'global', btfLinkage: 'global' });
    if (!noKernel) expectLoads(out('nightly-prog'));
  });

  it('nightly: a plain build shows no linker output at all', () => {
    const r = expectSuccess(build('nightly', 'nightly-quiet', []), 'rustc +nightly');
    expect(r.stderr).not.toContain('linker stderr');
  });

  it('nightly\'s rustc binary run directly (no rustup, no LD_LIBRARY_PATH): found through rustc\'s PATH entry', () => {
    const env = { ...process.env };
    delete env.LD_LIBRARY_PATH;
    env.RUSTC = '/nonexistent/rustc'; // not asked: rustc's own PATH entry is enough
    const r = run(nightly!.rustc, ['--edition', '2021', '--target', 'bpfel-unknown-none', '--crate-type', 'bin', '-C', 'panic=abort', '-C', `linker=${CLI}`,
      '-Clink-arg=--log-level=info', '-o', out('direct'), crate], { env });
    expectSuccess(r, `${nightly!.rustc}`);
    expect(r.stderr).toContain(`using ${nightly!.libLlvm} (LLVM`);
  });

  it.skipIf(!stable)('stable (RUSTC_BOOTSTRAP=1 for #![no_core]): stable\'s libLLVM', () => {
    // Stable rustc (1.95) does not show a successful linker's stderr: record it.
    const linker = recordingLinker(join(dir, 'rec-stable'));
    expectSuccess(build('stable', 'stable-prog', ['--log-level=info'], { ...process.env, RUSTC_BOOTSTRAP: '1' }, linker.path), 'rustc +stable');
    expect(linker.calls()[0].stderr).toContain(`using ${stable!.libLlvm} (LLVM 22.1.`);
    expect(bpfObject(out('stable-prog')).programs.map((p) => p.name)).toContain('nightly_prog');
  });

  describe('bpf-linker run by hand on rustup bitcode', () => {
    let nightlyBc: string;
    let env: NodeJS.ProcessEnv;
    beforeAll(() => {
      nightlyBc = out('nightly.bc');
      expectSuccess(
        run(RUSTUP_PROXY_RUSTC, ['+nightly', '--edition', '2021', '--target', 'bpfel-unknown-none', '--crate-type', 'cdylib', '-C', 'panic=abort', '-C', 'opt-level=2', '--emit=llvm-bc', '-o', nightlyBc, crate]),
        'rustc +nightly --emit=llvm-bc',
      );
      // No rustc environment: no LD_LIBRARY_PATH, no rustlib PATH entry, and `rustc` is a
      // toolchain other than the one that made the bitcode.
      env = { ...process.env, RUSTUP_HOME, RUSTC: stable?.rustc ?? '/nonexistent/rustc' };
      delete env.LD_LIBRARY_PATH;
      env.PATH = (env.PATH ?? '').split(delimiter).filter((d) => !d.includes('/lib/rustlib/')).join(delimiter);
    });

    it('finds the toolchain named in the producer (LLVM22.1.x-rust-1.9x-nightly) among rustup\'s toolchains', () => {
      const r = runOk([nightlyBc, '--export', 'nightly_prog', '--log-level=info', '-o', out('by-hand.o')], env);
      expect(r.stderr).toContain(`using ${nightly!.libLlvm} (LLVM`);
    });

    it('--llvm-path accepts rustup\'s libLLVM-NN-rust-*.so ld script and loads the library it names', () => {
      const script = readdirMatching(nightly!.libDir, /^libLLVM-\d+-rust-.*\.so$/);
      expect(readFileSync(join(nightly!.libDir, script), 'utf8')).toMatch(/^INPUT\(/);
      const r = runOk([nightlyBc, '--export', 'nightly_prog', '--log-level=info', '--llvm-path', join(nightly!.libDir, script), '-o', out('ld-script.o')], env);
      expect(r.stderr).toContain(`using ${nightly!.libLlvm} (LLVM`);
      expect(r.stderr).toContain('forced');
    });

    it('without any rustup library reachable, a newer packaged LLVM reads the bitcode', () => {
      const r = runOk([nightlyBc, '--export', 'nightly_prog', '--log-level=info', '-o', out('system.o')], { ...env, RUSTUP_HOME: '/nonexistent', RUSTC: '/nonexistent/rustc', HOME: '/nonexistent' });
      expect(r.stderr).toMatch(/using \S+libLLVM\.so\.22\.1 \(LLVM 22\.1\.\d+, system\)/);
    });
  });
});
