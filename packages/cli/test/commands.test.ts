/**
 * The `verify` and `inspect` commands and the `--report`/`--timings` flags of the bpf-linker
 * binary, on the seed example (clang-22 bitcode, the library in an archive) linked by the binary.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LinkReport } from '@bpf-linker/core';
import { compileC, makeArchive, makeTempDir, writeSource } from '../../linker-core/test/support/toolchain';
import { ONE_OF_TWO_C, verifyUnavailable } from '../../linker-core/test/verify/fixtures';
import { parseArgs } from '../src/args';
import { CLI, runCli } from './support/cli';

const SEED = join(__dirname, '../../../examples/seed');
const STAGES = ['read', 'select', 'choose-llvm', 'link', 'debug-info', 'internalize', 'optimize', 'partition', 'codegen', 'write'];

const unavailable = verifyUnavailable();
const canDropPrivileges = process.getuid?.() === 0 && existsSync('/usr/bin/setpriv') ? null : 'needs root and setpriv to run a child as nobody';
const skipped = (what: string, reason: string | null) => (reason ? `${what} (skipped: ${reason})` : what);

let dir: string;
let seedBc: { program: string; lib: string; archive: string };
let seedObject: string;
let twoObject: string;

function linkOk(args: string[]) {
  const r = runCli(args);
  expect(r.stderr, `bpf-linker ${args.join(' ')}`).not.toMatch(/Error:/);
  expect(r.status).toBe(0);
  return r;
}

beforeAll(() => {
  dir = makeTempDir('bpfl-commands-');
  // Readable by the unprivileged child of the permission test.
  chmodSync(dir, 0o755);
  const bc = (name: string, source: string) => compileC({ major: 22, source, out: join(dir, `${name}.bc`), mode: 'bc' });
  const lib = bc('lib', join(SEED, 'lib.c'));
  seedBc = { program: bc('program', join(SEED, 'program.c')), lib, archive: makeArchive(22, join(dir, 'liblib.a'), [lib]) };
  seedObject = join(dir, 'seed.o');
  linkOk([seedBc.program, seedBc.archive, '--btf', '-o', seedObject]);
  twoObject = join(dir, 'two.o');
  linkOk([bc('two', writeSource(dir, 'two.c', ONE_OF_TWO_C)), '--btf', '-o', twoObject]);
  for (const o of [seedObject, twoObject]) chmodSync(o, 0o644);
});

describe.skipIf(unavailable !== null)(skipped('bpf-linker verify', unavailable), () => {
  it('accepts the seed example: one line per program, exit status 0', () => {
    const r = runCli(['verify', seedObject]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${seedObject.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: 2 programs accepted \\(kernel .+, libbpf \\d+\\.\\d+\\)$`, 'm'));
    expect(r.stdout).toMatch(/^ {2}OK {8}kprobe_prog +kprobe\/do_nanosleep +kprobe, 17 insns, \d+ processed, \d+ µs$/m);
    expect(r.stdout).toMatch(/^ {2}OK {8}xdp_prog +xdp +xdp, 17 insns, \d+ processed, \d+ µs$/m);
  });

  it('rejects one program of three and still gives the other two their verdicts: exit status 1', () => {
    const r = runCli(['verify', twoObject]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('1 of 3 programs rejected');
    expect(r.stdout).toMatch(/^ {2}REJECTED {2}vfy_bad .*rejected by the verifier \(EACCES\)$/m);
    expect(r.stdout).toMatch(/^ {6}invalid access to packet, off=8 size=1/m);
    expect(r.stdout).toMatch(/^ {4}verifier log:\n {6}\| /m);
    expect(r.stdout).toMatch(/^ {2}OK {8}vfy_good /m);
    expect(r.stdout).toMatch(/^ {2}OK {8}vfy_also_good /m);
  });

  it('prints JSON with --json, one entry per object', () => {
    const r = runCli(['verify', '--json', seedObject, twoObject]);
    expect(r.status).toBe(1);
    const entries = JSON.parse(r.stdout) as { path: string; accepted: boolean; programs: { name: string; accepted: boolean; reason?: string; stats?: object }[] }[];
    expect(entries.map((e) => [e.path, e.accepted])).toEqual([
      [seedObject, true],
      [twoObject, false],
    ]);
    expect(entries[0]).toMatchObject({ objectName: 'seed', loads: 1, libbpf: { version: expect.any(String) }, kernel: expect.any(String) });
    const verdicts = Object.fromEntries(entries[1].programs.map((p) => [p.name, p.accepted]));
    expect(verdicts).toEqual({ vfy_bad: false, vfy_good: true, vfy_also_good: true });
    expect(entries[1].programs.find((p) => p.name === 'vfy_bad')?.reason).toMatch(/^invalid access to packet/);
    expect(entries[0].programs[0].stats).toMatchObject({ processedInsns: expect.any(Number) });
  });

  it('prints the complete log of accepted programs with --logs', () => {
    const r = runCli(['verify', '--logs', seedObject]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ {6}\| \d+: \(85\) call bpf_map_lookup_elem#1/m);
  });
});

describe('bpf-linker verify: errors', () => {
  it.skipIf(canDropPrivileges !== null)(skipped('says that loading needs root when run unprivileged (setpriv to nobody): exit status 2', canDropPrivileges), () => {
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'verify', seedObject], { encoding: 'utf8' });
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Error: the kernel refused to load BPF programs: bpf\(\) failed with EPERM \(running as uid 65534, not root\)$/m);
    expect(r.stderr).toMatch(/hint: .*needs root or CAP_BPF.*sudo/);
    expect(r.status).toBe(2);

    const json = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'verify', '--json', seedObject], { encoding: 'utf8' });
    expect(JSON.parse(json.stdout)).toEqual([{ path: seedObject, error: { code: 'BPF_NOT_PERMITTED', message: expect.any(String), hint: expect.any(String) } }]);
    expect(json.status).toBe(2);
  });

  it('names a missing file, and a file that is not a BPF object', () => {
    const missing = runCli(['verify', join(dir, 'missing.o')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain(`Error: cannot read ${join(dir, 'missing.o')}: no such file or directory`);
    const bitcode = runCli(['verify', seedBc.program]);
    expect(bitcode.status).toBe(2);
    expect(bitcode.stderr).toContain('is not a BPF object (not an ELF file)');
    expect(bitcode.stderr).toContain('hint: link bitcode into an object first');
  });

  it('needs an object and knows its options', () => {
    expect(runCli(['verify']).stderr).toContain('Error: no object to verify');
    const unknown = runCli(['verify', '--frobnicate', seedObject]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("unexpected argument '--frobnicate' found");
    const help = runCli(['verify', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: bpf-linker verify [OPTIONS] <OBJECT>...');
    expect(help.stdout).toMatch(/--json[\s\S]*--logs[\s\S]*--log-size <BYTES>[\s\S]*--libbpf <PATH>/);
    expect(help.stdout).toContain('Exit status, the first that applies (over all objects):');
    expect(help.stdout).toMatch(/^ {2}2 {2}an object could not be verified at all[\s\S]*^ {2}1 {2}the verifier \(or libbpf\) rejected a program\n {2}3 {2}the kernel refused a program \(REFUSED\)[\s\S]*^ {2}0 {2}every program accepted$/m);
    expect(help.stdout).toMatch(/^ {2}REFUSED {3}refused by the kernel/m);
  });
});

describe('bpf-linker inspect', () => {
  it('shows programs, subprograms, maps, license, BTF and sections', () => {
    const r = runCli(['inspect', seedObject]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/: BPF object, little-endian, license "GPL"$/m);
    expect(r.stdout).toMatch(/^Programs \(2\):\n {2}kprobe_prog +kprobe\/do_nanosleep +4 insns +calls lib_count/m);
    expect(r.stdout).toMatch(/^ {2}xdp_prog +xdp +4 insns +calls lib_count/m);
    expect(r.stdout).toMatch(/^Subprograms \(1\):\n {2}lib_count +\.text +\d+ insns/m);
    expect(r.stdout).toMatch(/^ {2}counters +array +key 4 B \(__u32\) +value 8 B \(__u64\) +max_entries 16/m);
    expect(r.stdout).toMatch(/^BTF: \d+ types/m);
    expect(r.stdout).toMatch(/^Sections \(\d+\):$/m);
  });

  it('prints JSON with --json, and the BTF types with --btf', () => {
    const r = runCli(['inspect', '--json', '--btf', seedObject]);
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(Object.keys(json)).toEqual(['endianness', 'programs', 'subprograms', 'maps', 'globals', 'datasecs', 'sections', 'license', 'btf', 'btfDump']);
    expect(json.programs.map((p: { name: string }) => p.name)).toEqual(['kprobe_prog', 'xdp_prog']);
    expect(json.maps[0]).toMatchObject({ name: 'counters', typeName: 'array', keySize: 4, valueSize: 8, maxEntries: 16 });
    expect(json.btfDump).toMatch(/^#0: <VOID>\n#1: </);
    const text = runCli(['inspect', '--btf', seedObject]);
    expect(text.stdout).toMatch(/^BTF types:\n#0: <VOID>$/m);
  });

  it('takes exactly one object', () => {
    expect(runCli(['inspect']).stderr).toContain('Error: no object to inspect');
    expect(runCli(['inspect', seedObject, seedObject]).stderr).toContain('Error: inspect takes one object');
    expect(runCli(['inspect', '--help']).stdout).toContain('Usage: bpf-linker inspect [OPTIONS] <OBJECT>');
  });
});

describe('command dispatch keeps bpf-linker compatible', () => {
  it('links a file named `verify` when one exists in the working directory', () => {
    const cwd = makeTempDir('bpfl-dispatch-');
    copyFileSync(seedBc.program, join(cwd, 'verify'));
    const r = spawnSync(process.execPath, [CLI, 'verify', seedBc.lib, '--btf', '-o', 'out.o'], { cwd, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(existsSync(join(cwd, 'out.o'))).toBe(true);
  });

  it('runs the command when `inspect` is a directory in the working directory (a directory is no input)', () => {
    const cwd = makeTempDir('bpfl-dispatch-');
    mkdirSync(join(cwd, 'inspect'));
    const r = spawnSync(process.execPath, [CLI, 'inspect', seedObject], { cwd, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(': BPF object, little-endian');
  });

  it('lists the commands and the report flags in --help', () => {
    const help = runCli(['--help']).stdout;
    expect(help).toContain('bpf-linker verify <OBJECT>... [--json] [--logs]');
    expect(help).toContain('bpf-linker inspect <OBJECT> [--json] [--btf]');
    expect(help).toMatch(/--report <PATH> +Write a JSON link report/);
    expect(help).toMatch(/--timings +Print how long each stage took/);
  });
});

describe('bpf-linker --report and --timings', () => {
  const report = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as LinkReport & { output: string; timings: Record<string, number> };
  const definers = (r: LinkReport) => Object.fromEntries(r.symbols.map((s) => [s.name, s.definedBy]));
  const statuses = (r: LinkReport) => Object.fromEntries(r.symbols.map((s) => [s.name, s.status]));

  it('--internalize: who defined each symbol; lib_count internalized, nothing removed', () => {
    const out = join(dir, 'report-internalize.o');
    linkOk([seedBc.program, seedBc.archive, '--internalize', '-o', out, '--report', join(dir, 'internalize.json')]);
    const r = report(join(dir, 'internalize.json'));
    expect(r).toMatchObject({ version: 1, output: out, exportMode: 'internalize' });
    expect(r.inputs.map((i) => [i.input, i.kind, i.defines])).toEqual([
      [seedBc.program, 'bitcode', ['xdp_prog', 'kprobe_prog', 'LICENSE']],
      [`${seedBc.archive}(lib.bc)`, 'bitcode', ['lib_count', 'counters']],
    ]);
    expect(definers(r)).toEqual({
      xdp_prog: seedBc.program,
      kprobe_prog: seedBc.program,
      LICENSE: seedBc.program,
      lib_count: `${seedBc.archive}(lib.bc)`,
      counters: `${seedBc.archive}(lib.bc)`,
    });
    expect(r.symbols.find((s) => s.name === 'counters')).toMatchObject({ file: seedBc.archive, member: 'lib.bc', kind: 'variable' });
    expect(statuses(r)).toEqual({ xdp_prog: 'exported', kprobe_prog: 'exported', LICENSE: 'exported', lib_count: 'internalized', counters: 'exported' });
    expect(r.internalized).toEqual(['lib_count']);
    expect(r.removed).toEqual([]);
    expect(Object.keys(r.timings)).toEqual(STAGES);
  });

  it('--export xdp_prog: everything else internalized, kept alive by `used` or a call', () => {
    linkOk([seedBc.program, seedBc.archive, '--export', 'xdp_prog', '-o', join(dir, 'report-export.o'), '--report', join(dir, 'export.json')]);
    const r = report(join(dir, 'export.json'));
    expect(r.exportMode).toBe('explicit');
    expect(r.exported).toEqual(['xdp_prog']);
    expect([...r.internalized].sort()).toEqual(['LICENSE', 'counters', 'kprobe_prog', 'lib_count']);
    expect(r.removed).toEqual([]);
    expect(definers(r).lib_count).toBe(`${seedBc.archive}(lib.bc)`);
    expect(r.symbols.filter((s) => s.internalizedByLinker).map((s) => s.name).sort()).toEqual(['LICENSE', 'counters', 'kprobe_prog', 'lib_count']);
  });

  it('lists a helper that was internalized and then inlined everywhere as removed', () => {
    const helper = compileC({
      major: 22,
      source: writeSource(dir, 'helper.c', 'int add_one(int x) { return x + 1; }\n'),
      out: join(dir, 'helper.bc'),
      mode: 'bc',
    });
    const user = compileC({
      major: 22,
      source: writeSource(dir, 'user.c', `#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nint add_one(int x);\nSEC("socket") int use_it(void *c) { return add_one(41); }\nchar L[] SEC("license") = "GPL";\n`),
      out: join(dir, 'user.bc'),
      mode: 'bc',
    });
    linkOk([user, helper, '--internalize', '-o', join(dir, 'removed.o'), '--report', join(dir, 'removed.json')]);
    const r = report(join(dir, 'removed.json'));
    expect(r.symbols.find((s) => s.name === 'add_one')).toEqual({
      name: 'add_one',
      kind: 'function',
      definedBy: helper,
      file: helper,
      status: 'removed',
      internalizedByLinker: true,
    });
    expect(r.removed).toEqual(['add_one']);

    // Without an export mode the helper keeps its external linkage and stays.
    linkOk([user, helper, '-o', join(dir, 'kept.o'), '--report', join(dir, 'kept.json')]);
    const kept = report(join(dir, 'kept.json'));
    expect(kept.exportMode).toBe('default');
    expect(statuses(kept).add_one).toBe('exported');
    expect(kept.removed).toEqual([]);
  });

  it('--timings prints every stage and the total on one line of stderr, in the debug log\'s format', () => {
    const r = runCli([seedBc.program, seedBc.archive, '--btf', '-o', join(dir, 'timed.o'), '--timings']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    const m = /^stage times \(ms\): (.*)\n$/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    const parts = m![1].split(', ').map((p) => p.split(' '));
    expect(parts.map(([stage]) => stage)).toEqual([...STAGES, 'total']);
    for (const [, ms] of parts) expect(ms).toMatch(/^\d+\.\d\d$/);
    const total = parts.slice(0, -1).reduce((sum, [, ms]) => sum + Number(ms), 0);
    expect(Number(parts[parts.length - 1][1])).toBeCloseTo(total, 1);
  });

  it('parses --report and --timings into the link command, leaving LinkOptions alone', () => {
    const parsed = parseArgs(['-o', 'out.o', 'in.bc', '--report', 'r.json', '--timings']);
    expect(parsed).toMatchObject({ kind: 'link', reportFile: 'r.json', timings: true });
    expect(parseArgs(['-o', 'out.o', 'in.bc', '--report=r.json'])).not.toHaveProperty('timings');
    expect(parseArgs(['-o', 'out.o', 'in.bc'])).not.toHaveProperty('reportFile');
  });
});
