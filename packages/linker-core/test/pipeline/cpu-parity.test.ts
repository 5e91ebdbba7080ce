/**
 * Parity with clang's own objects: every C fixture of the repository, compiled by clang-19 and
 * clang-22 with and without -mcpu, to an object (the reference) and to bitcode that linkSync links
 * with no --cpu. The link must generate code for the CPU the bitcode asked for, so the objects have
 * the same number of instructions and the same use of 32-bit ALU/JMP instructions (v3 code).
 *
 * Fixtures of several files are compared with the sum of clang's objects: no fixture here has a
 * static function that the link-time O2 inlines where clang kept a call (the corpus has such
 * sources, e2e/corpus/expected.ts), so every count must be equal.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultLinkOptions, linkSync, readBpfObject } from '../../src';
import { FIXTURES as OBJECT_FIXTURES, type FixtureSpec } from '../object/fixtures';
import { MULTIARCH_INCLUDE, llvmTool, makeTempDir, writeSource, type LlvmMajor } from '../support/toolchain';

const REPO = join(__dirname, '../../../..');
const CLI_FIXTURES = join(REPO, 'packages/cli/test/fixtures');

interface CFixture {
  name: string;
  /** C sources linked together (one program), or text written to `<name>.c`. */
  sources: (string | { text: string })[];
  flags?: string[];
  target?: 'bpf' | 'bpfel' | 'bpfeb';
}

/** Every C fixture in the repository that is a program or a library on its own (dup_a/dup_b are a duplicate-symbol error). */
const FIXTURES: CFixture[] = [
  { name: 'seed', sources: [join(REPO, 'examples/seed/program.c'), join(REPO, 'examples/seed/lib.c')] },
  { name: 'slot', sources: [join(CLI_FIXTURES, 'slot_prog.c'), join(CLI_FIXTURES, 'slot_lib.c')] },
  { name: 'loop', sources: [join(CLI_FIXTURES, 'loop.c')] },
  { name: 'kfunc', sources: [join(CLI_FIXTURES, 'kfunc.c')] },
  { name: 'memfill', sources: [join(CLI_FIXTURES, 'memfill.c')] },
  { name: 'v3_index', sources: [join(CLI_FIXTURES, 'v3_index.c')] },
  { name: 'rust-counters', sources: [join(CLI_FIXTURES, 'rust/c/counters.c')] },
  { name: 'rust-anon', sources: [join(CLI_FIXTURES, 'rust/c/anon.c')] },
  { name: 'rust-noinline', sources: [join(CLI_FIXTURES, 'rust/c/noinline.c')] },
  { name: 'rust-unroll', sources: [join(CLI_FIXTURES, 'rust/c/unroll.c')] },
  { name: 'rust-btf-anon', sources: [join(REPO, 'packages/linker-core/test/fixtures/rust-btf/anon.c')] },
  { name: 'kernels-bounded_loop', sources: [join(REPO, 'e2e/kernels/fixtures/bounded_loop.c')] },
  { name: 'kernels-bpf_loop', sources: [join(REPO, 'e2e/kernels/fixtures/bpf_loop.c')] },
  // The object readers' fixtures (some with their own -mcpu or byte order).
  ...Object.entries(OBJECT_FIXTURES)
    .filter(([name]) => name !== 'lib' && name !== 'program') // the seed, above
    .map(([name, spec]: [string, FixtureSpec]) => ({
      name: `object-${name}`,
      sources: ['path' in spec.source ? spec.source.path : { text: spec.source.text }],
      flags: spec.flags,
      target: spec.target,
    })),
];

/**
 * Per clang: no -mcpu (the compiler's default: v1 for 19, v3 for 22; the bitcode has no
 * target-cpu, so the producer's default decides) and the other CPU named (a target-cpu attribute).
 */
const VARIANTS: { major: LlvmMajor; mcpu?: string }[] = [
  { major: 19 },
  { major: 19, mcpu: 'v3' },
  { major: 22 },
  { major: 22, mcpu: 'v1' },
];

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${basename(cmd)} ${args.join(' ')}: ${err}`))));
  });
}

async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

interface Counts {
  instructions: number;
  alu32: boolean;
  jmp32: boolean;
}

function counts(paths: string[]): Counts {
  const sections = paths.flatMap((p) => readBpfObject(readFileSync(p)).codeSections);
  return {
    instructions: sections.reduce((n, s) => n + s.instructionCount, 0),
    alu32: sections.some((s) => s.usesAlu32),
    jmp32: sections.some((s) => s.usesJmp32),
  };
}

interface Case {
  id: string;
  fixture: CFixture;
  major: LlvmMajor;
  mcpu?: string;
  bitcode: string[];
  objects: string[];
}

describe('objects linked without --cpu match clang-19 and clang-22 objects, with and without -mcpu', () => {
  const cases: Case[] = [];
  let dir: string;

  beforeAll(async () => {
    dir = makeTempDir('bpfl-cpu-parity-');
    const jobs: (() => Promise<void>)[] = [];
    for (const fixture of FIXTURES) {
      const own = fixture.flags?.some((f) => f.startsWith('-mcpu='));
      // A fixture with its own -mcpu is built once per clang, as it is.
      for (const v of VARIANTS.filter((x) => !own || x.mcpu === undefined)) {
        const id = `${fixture.name} clang-${v.major}${v.mcpu ? ` -mcpu=${v.mcpu}` : ''}`;
        const c: Case = { id, fixture, major: v.major, mcpu: v.mcpu, bitcode: [], objects: [] };
        cases.push(c);
        fixture.sources.forEach((source, i) => {
          const stem = join(dir, `${fixture.name}-${v.major}-${v.mcpu ?? 'default'}-${i}`);
          const src = typeof source === 'string' ? source : writeSource(dir, `${fixture.name}.c`, source.text);
          const args = [
            '-target', fixture.target ?? 'bpf', MULTIARCH_INCLUDE, '-g', '-O2',
            ...(fixture.flags ?? []), ...(v.mcpu ? [`-mcpu=${v.mcpu}`] : []), src,
          ];
          c.bitcode.push(`${stem}.bc`);
          c.objects.push(`${stem}.o`);
          jobs.push(() => run(llvmTool(v.major, 'clang'), [...args, '-emit-llvm', '-c', '-o', `${stem}.bc`]));
          jobs.push(() => run(llvmTool(v.major, 'clang'), [...args, '-c', '-o', `${stem}.o`]));
        });
      }
    }
    await pool(jobs, 2, (job) => job());
  });

  it('links every fixture for the CPU its bitcode asked for, with clang’s instruction count', () => {
    const rows: string[] = [];
    const mismatches: string[] = [];
    for (const c of cases) {
      const result = linkSync(defaultLinkOptions({ inputs: c.bitcode, btf: true }));
      const out = join(dir, `${c.id.replace(/[ =]/g, '_')}.linked.o`);
      writeFileSync(out, result.bytes);
      const ref = counts(c.objects);
      const ours = counts([out]);
      const expectedCpu = c.mcpu ?? c.fixture.flags?.find((f) => f.startsWith('-mcpu='))?.slice(6) ?? (c.major >= 20 ? 'v3' : 'v1');
      rows.push(`${c.id.padEnd(40)} cpu ${result.target.cpu} insns clang ${ref.instructions} ours ${ours.instructions} alu32 ${ref.alu32}/${ours.alu32} jmp32 ${ref.jmp32}/${ours.jmp32}`);
      if (result.target.cpu !== expectedCpu || result.target.cpuFrom !== 'inputs') {
        mismatches.push(`${c.id}: linked for ${result.target.cpu} (${result.target.reason}), asked for ${expectedCpu}`);
      }
      if (ours.alu32 !== ref.alu32 || ours.jmp32 !== ref.jmp32) mismatches.push(`${c.id}: ALU32/JMP32 clang ${ref.alu32}/${ref.jmp32}, ours ${ours.alu32}/${ours.jmp32}`);
      if (ours.instructions !== ref.instructions) {
        mismatches.push(`${c.id}: ${ours.instructions} instructions, clang ${ref.instructions}`);
      }
    }
    if (process.env.BPFL_CPU_PARITY_VERBOSE) console.log(rows.join('\n'));
    expect(mismatches).toEqual([]);
    // Both ISAs were exercised: v3 code (32-bit ALU) and v1 code (none).
    expect(rows.filter((r) => / alu32 true\/true /.test(r)).length).toBeGreaterThan(20);
    expect(rows.filter((r) => / alu32 false\/false /.test(r)).length).toBeGreaterThan(20);
  });
});
