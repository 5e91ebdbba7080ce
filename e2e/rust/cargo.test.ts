/**
 * End to end, as an Aya user works: a cargo workspace (program crate + library crate) built
 * with `cargo build --target bpfel-unknown-none`, bpf-linker given with `-C linker=`, or
 * installed from the packed npm package and found by rustc in PATH; the objects are loaded
 * into the running kernel's verifier when bpf() is allowed here. rustup's nightly cargo is
 * used too when it is installed.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../packages/linker-core/test/support/toolchain';
import { kernelLoadUnavailable, loadIntoKernel } from '../../packages/linker-core/test/support/kernel';
import { CLI } from '../../packages/cli/test/support/cli';
import {
  CARGO,
  RUSTC,
  RUSTDOC,
  RUSTUP_PROXY_RUSTC,
  bpfObject,
  btfDump,
  debianRustUnavailable,
  expectSuccess,
  run,
  rustupToolchain,
  writeNoCoreCrate,
  type ProcessRun,
} from '../../packages/cli/test/rust/support';

const WORKSPACE = join(__dirname, '../fixtures/rust/workspace');
const CLI_PACKAGE = join(__dirname, '../../packages/cli');
const noRust = debianRustUnavailable();
const noKernel = kernelLoadUnavailable();

function expectLoads(path: string): void {
  const r = loadIntoKernel(path);
  expect(r.log, path).toBe(r.ok ? r.log : '<accepted by the verifier>');
}

interface CargoRun {
  /** Extra cargo arguments (profile). */
  args?: string[];
  rustflags: string;
  targetDir: string;
  path?: string;
}

describe.skipIf(noRust)('a cargo workspace for bpfel-unknown-none (Debian cargo 1.96)', () => {
  let dir: string;
  let ws: string;
  let cargoHome: string;
  const BTF_FLAGS = '-C debuginfo=2 -C link-arg=--btf';

  /** `cargo build --offline --target bpfel-unknown-none` with Debian's rustc and a private CARGO_HOME. */
  const cargo = (c: CargoRun): ProcessRun =>
    run(CARGO, ['build', '--offline', '--target', 'bpfel-unknown-none', ...(c.args ?? [])], {
      cwd: ws,
      env: {
        ...process.env,
        RUSTC,
        RUSTDOC,
        CARGO_HOME: cargoHome,
        CARGO_TARGET_DIR: c.targetDir,
        RUSTFLAGS: c.rustflags,
        PATH: c.path ?? process.env.PATH,
      },
    });
  const artifact = (targetDir: string, profile = 'release') => join(targetDir, 'bpfel-unknown-none', profile, 'program');

  beforeAll(() => {
    dir = makeTempDir('bpfl-cargo-');
    ws = join(dir, 'workspace');
    cpSync(WORKSPACE, ws, { recursive: true });
    cargoHome = join(dir, 'cargo-home');
  });

  describe('cargo build --release, RUSTFLAGS="-C linker=<bpf-linker> -C debuginfo=2 -C link-arg=--btf"', () => {
    let path: string;
    beforeAll(() => {
      const targetDir = join(dir, 'target-linker');
      expectSuccess(cargo({ args: ['--release'], rustflags: `-C linker=${CLI} ${BTF_FLAGS}`, targetDir }), 'cargo build --release');
      path = artifact(targetDir);
    });

    it('has both #[no_mangle] programs in their sections, global, calling the library crate', () => {
      const obj = bpfObject(path);
      const count = obj.programs.find((p) => p.name === 'count_packets');
      const classify = obj.programs.find((p) => p.name === 'classify');
      expect(count).toMatchObject({ section: 'xdp', binding: 'global', btfLinkage: 'global', helperCalls: [1] });
      expect(classify).toMatchObject({ section: 'socket', binding: 'global', btfLinkage: 'global', helperCalls: [1] });
      // The library's generic helper and enum method stay bpf-to-bpf calls into local functions.
      const callees = new Set([...count!.calls, ...classify!.calls]);
      expect([...callees].some((c) => c.includes('saturating_bump'))).toBe(true);
      for (const c of callees) expect(obj.programs.find((p) => p.name === c)?.binding, c).toBe('local');
    });

    it('has the #[no_mangle] BTF map (global, in .maps) and the license', () => {
      const obj = bpfObject(path);
      expect(obj.maps).toEqual([
        expect.objectContaining({ name: 'COUNTERS', section: '.maps', binding: 'global', source: 'btf', typeName: 'array', keyType: 'u32', valueType: 'u64', maxEntries: 4 }),
      ]);
      expect(obj.license).toBe('GPL');
    });

    it('has BTF with sanitized generic names, static helpers, and no ENUM for the enum with data', () => {
      const dump = btfDump(path);
      expect(dump).toMatch(/<FUNC> 'count_packets' --> global/);
      expect(dump).toMatch(/<FUNC> 'saturating_bump_3C_u64_3E_' --> static/);
      expect(dump).toMatch(/<STRUCT> 'ArrayMap_3C_u32_2C__20_u64_2C__20_2_2C__20_4_3E_' sz:32 n:4/);
      expect(dump).toMatch(/<VAR> 'COUNTERS' kind:global-alloc/);
      expect(dump).not.toMatch(/<ENUM> 'Verdict'/);
      expect(dump).not.toMatch(/<PTR> '/); // pointer types carry no name in BTF
    });

    it.skipIf(noKernel)('loads into the kernel verifier', () => {
      expectLoads(path);
    });
  });

  it('cargo build (dev profile: rustc passes -O0) links an object the verifier accepts', () => {
    const targetDir = join(dir, 'target-dev');
    expectSuccess(cargo({ rustflags: `-C linker=${CLI} ${BTF_FLAGS}`, targetDir }), 'cargo build');
    const path = artifact(targetDir, 'debug');
    expect(bpfObject(path).programs.map((p) => p.name)).toEqual(expect.arrayContaining(['count_packets', 'classify']));
    if (!noKernel) expectLoads(path);
  });

  describe('the npm package, installed globally', () => {
    let prefix: string;
    let tarball: string;
    let pathWithLinker: string;
    beforeAll(() => {
      expect(existsSync(CLI), `${CLI} is missing: build the CLI first`).toBe(true);
      const packDir = join(dir, 'pack');
      mkdirSync(packDir);
      const pack = expectSuccess(run('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: CLI_PACKAGE }), 'npm pack');
      const [info] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as { filename: string }[];
      tarball = join(packDir, info.filename);
      prefix = join(dir, 'global');
      expectSuccess(
        run('npm', ['install', '-g', '--prefix', prefix, tarball, '--prefer-offline', '--no-audit', '--no-fund'], { timeout: 300_000 }),
        'npm install -g',
      );
      pathWithLinker = [join(prefix, 'bin'), process.env.PATH].join(delimiter);
    });

    it('the tarball holds the bundled executable and the package declares bpf-linker and koffi', () => {
      const list = expectSuccess(run('tar', ['tzvf', tarball]), 'tar').stdout;
      expect(list).toMatch(/^-rwxr-xr-x .* package\/dist\/bpf-linker\.cjs$/m);
      const pkg = JSON.parse(expectSuccess(run('tar', ['xzOf', tarball, 'package/package.json']), 'tar').stdout);
      expect(pkg.bin).toEqual({ 'bpf-linker': 'dist/bpf-linker.cjs' });
      expect(Object.keys(pkg.dependencies)).toEqual(['koffi']);
      const installed = join(prefix, 'lib/node_modules', pkg.name);
      expect(existsSync(join(installed, 'node_modules/koffi/package.json'))).toBe(true);
      expect(statSync(join(prefix, 'bin/bpf-linker')).isFile()).toBe(true);
      const version = expectSuccess(run(join(prefix, 'bin/bpf-linker'), ['--version']), 'bpf-linker --version');
      expect(version.stdout).toBe(`bpf-linker ${pkg.version}\n`);
    });

    it('rustc finds bpf-linker in PATH: no -C linker needed', () => {
      const targetDir = join(dir, 'target-path');
      expectSuccess(cargo({ args: ['--release'], rustflags: BTF_FLAGS, targetDir, path: pathWithLinker }), 'cargo build via PATH');
      const path = artifact(targetDir);
      expect(bpfObject(path).programs.find((p) => p.name === 'count_packets')?.section).toBe('xdp');
      if (!noKernel) expectLoads(path);
    });

    it('-C linker=bpf-linker (looked up in PATH) and -C linker=<absolute path> work too', () => {
      for (const [name, linker] of [['named', 'bpf-linker'], ['absolute', join(prefix, 'bin/bpf-linker')]] as const) {
        const targetDir = join(dir, `target-${name}`);
        expectSuccess(cargo({ args: ['--release'], rustflags: `-C linker=${linker} ${BTF_FLAGS}`, targetDir, path: pathWithLinker }), `-C linker=${linker}`);
        expect(bpfObject(artifact(targetDir)).maps.map((m) => m.name)).toEqual(['COUNTERS']);
      }
    });

    it('without it in PATH, rustc stops with "linker `bpf-linker` not found"', () => {
      const targetDir = join(dir, 'target-missing');
      const path = (process.env.PATH ?? '').split(delimiter).filter((d) => !existsSync(join(d, 'bpf-linker'))).join(delimiter);
      const r = cargo({ args: ['--release'], rustflags: BTF_FLAGS, targetDir, path });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('linker `bpf-linker` not found');
    });

    const nightly = rustupToolchain('nightly');
    it.skipIf(!nightly || !existsSync(RUSTUP_PROXY_RUSTC))('rustup nightly cargo with the installed bpf-linker uses nightly\'s libLLVM', () => {
      // A standalone crate: no core for bpfel-unknown-none in rustup here, so #![no_core].
      const crateDir = join(dir, 'nightly-crate');
      mkdirSync(join(crateDir, 'src'), { recursive: true });
      writeNoCoreCrate(join(crateDir, 'src/main.rs'));
      writeFileSync(join(crateDir, 'Cargo.toml'), '[package]\nname = "nightly-prog"\nversion = "0.1.0"\nedition = "2021"\n\n[profile.release]\npanic = "abort"\n');
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        CARGO_HOME: join(dir, 'cargo-home-nightly'),
        RUSTFLAGS: '-C debuginfo=2 -C link-arg=--btf -C link-arg=--log-level=info',
        PATH: pathWithLinker,
      };
      delete env.RUSTC; // rustup's own rustc, not Debian's
      delete env.RUSTDOC;
      const cargoProxy = join(RUSTUP_PROXY_RUSTC, '../cargo');
      const r = expectSuccess(
        run(cargoProxy, ['+nightly', 'build', '--offline', '--release', '--target', 'bpfel-unknown-none'], { cwd: crateDir, env }),
        'cargo +nightly build',
      );
      expect(r.stderr).toContain(`using ${nightly!.libLlvm} (LLVM`);
      const path = join(crateDir, 'target/bpfel-unknown-none/release/nightly-prog');
      expect(readFileSync(path).subarray(0, 4).toString('hex')).toBe('7f454c46');
      expect(bpfObject(path).programs.find((p) => p.name === 'nightly_prog')).toMatchObject({ section: 'xdp', btfLinkage: 'global' });
      if (!noKernel) expectLoads(path);
    });
  });
});
