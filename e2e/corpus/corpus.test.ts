/**
 * Third-party corpus: real BPF C programs that Debian packages ship —
 *  - golang-github-cilium-ebpf-dev: cilium/ebpf's testdata (16 sources, both byte orders),
 *  - golang-github-iovisor-gobpf-dev: gobpf's test program,
 *  - linux-source-6.1: the kernel's BPF selftests (tools/testing/selftests/bpf/progs, 497
 *    sources), with a vmlinux.h from Debian's 6.1 kernel.
 * The last two are unpacked from their .debs into a cache by `scripts/kernels.sh corpus`.
 * Each is compiled by clang-22 to an object (the reference, `clang -c`) and to bitcode that our
 * CLI links in default mode (no export list; `--btf` and no --cpu: the link takes the CPU the
 * bitcode asks for, v3). The two objects must agree on programs and sections, .text functions,
 * maps, globals, license, BTF FUNC/VAR/DATASEC names with linkage, the number of instructions and
 * the use of 32-bit ALU/JMP instructions (v3 code); and the host kernel (as root, through the
 * kernel harness's static libbpf loader, program by program) must give both the same verdict.
 *
 * Prints a summary and every difference; asserts the pass rate, and that each difference is one
 * of expected.ts with its reason. BPFL_CORPUS_REPORT=FILE writes every outcome as JSON;
 * BPFL_CORPUS_VERBOSE=1 prints one line per source.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../packages/linker-core/test/support/toolchain';
import { kernelLoadUnavailable } from '../../packages/linker-core/test/support/kernel';
import { CLI } from '../../packages/cli/test/support/cli';
import { KERNELS_SCRIPT, loaderPath, parseLoaderOutput, type ObjectResult } from '../kernels/harness';
import {
  CILIUM_ROOT,
  CLANG,
  LLC,
  OPT,
  compareFacts,
  compiledCpu,
  type ObjectFacts,
  discoverCilium,
  discoverGobpf,
  discoverSelftests,
  pool,
  readFacts,
  run,
  type CorpusSource,
} from './corpus';
import { passPipeline } from '@bpf-linker/core';
import { EXPECTED_SOURCE_COUNT, KNOWN_DIFFERENCES, PARTIAL_OBJECTS, type KnownDifference } from './expected';

interface Outcome {
  source: CorpusSource;
  /** Problems; empty when the objects agree. */
  problems: string[];
  load: string;
  ms: number;
  /** Milliseconds per step: compile (both), link, load (both). */
  steps: { compile: number; link: number; load: number };
  /** Code of both objects, when both could be read. */
  code?: { clang: Code; ours: Code };
}

type Code = Pick<ObjectFacts, 'instructions' | 'alu32' | 'jmp32'>;
const code = ({ instructions, alu32, jmp32 }: ObjectFacts): Code => ({ instructions, alu32, jmp32 });

const group = (id: string) => id.split('/')[0] as keyof typeof EXPECTED_SOURCE_COUNT;

const noKernel = kernelLoadUnavailable();
const MULTIARCH = '-I/usr/include/x86_64-linux-gnu';

/** A rejection's reason: the last line of the log that says more than "it failed". */
function reason(log: string): string {
  const generic = /^processed \d+ insns|failed to load object|: failed to load: -\d+$|BPF program load failed: /;
  const lines = log.split('\n').map((l) => l.trim()).filter((l) => l && !generic.test(l));
  return lines.at(-1) ?? '?';
}

/**
 * The load verdict in comparable form: `OK`, or per program its state and reason. BTF type
 * ids (`[12]`) and paths are left out: they differ between clang's object and ours by design.
 */
function verdict(r: ObjectResult | undefined): string {
  if (!r) return 'no result';
  const text = r.ok
    ? 'OK'
    : r.openError
      ? `open: ${r.openError}`
      : [...r.programs]
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((p) => (p.state === 'OK' ? `${p.name} OK` : `${p.name} ${p.state}: ${reason(p.log)}`))
          .join('; ');
  return text.replace(/'\/[^']*'/g, "'OBJ'").replace(/\[\d+\]/g, '[N]');
}

/** Loads every program of both objects on its own (one loader run), so the verdicts compare program by program. */
async function loadVerdicts(loader: string, ref: string, ours: string): Promise<[string, string]> {
  const r = await run(loader, ['--each', ref, ours], 120_000);
  if (r.status !== 0) return [`loader crashed (${r.status}): ${r.stderr.trim()}`, 'loader crashed'];
  const results = parseLoaderOutput(r.stdout);
  const stem = (p: string) => basename(p).replace(/\.o$/, '');
  return [verdict(results.get(stem(ref))), verdict(results.get(stem(ours)))];
}

async function check(dir: string, loader: string | undefined, s: CorpusSource): Promise<Outcome> {
  const start = performance.now();
  const steps = { compile: 0, link: 0, load: 0 };
  let t = performance.now();
  const lap = (k: keyof typeof steps) => {
    const now = performance.now();
    steps[k] += now - t;
    t = now;
  };
  const stem = join(dir, s.id.replace(/\//g, '_'));
  const base = ['-target', s.target, MULTIARCH, ...s.flags];
  const problems: string[] = [];
  let load = 'n/a';
  const ref = await run(CLANG, [...base, '-c', s.file, '-o', `${stem}.ref.o`]);
  const bc = await run(CLANG, [...base, '-emit-llvm', '-c', s.file, '-o', `${stem}.bc`]);
  lap('compile');
  if (ref.status !== 0 || bc.status !== 0) {
    problems.push(`clang-22 failed: ${(ref.stderr || bc.stderr).trim().split('\n')[0]}`);
    return { source: s, problems, load, ms: performance.now() - start, steps };
  }
  let link = await run(process.execPath, [CLI, `${stem}.bc`, ...s.linkFlags, '--btf', '-o', `${stem}.ours.o`]);
  // Halves of a program: the link must name exactly their undefined symbols, then link them
  // with --allow-undefined, as clang -c leaves them.
  const partial = PARTIAL_OBJECTS[s.id];
  const undefinedNames = [...(/^Error: undefined symbols?: (.*): no input defines/m.exec(link.stderr)?.[1] ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1]);
  if (partial !== undefined) {
    if (link.status === 0 || undefinedNames.join(',') !== partial.join(',')) {
      problems.push(`undefined symbols: expected an error naming ${partial.join(', ')}, got exit ${link.status}${undefinedNames.length ? ` naming ${undefinedNames.join(', ')}` : ''}`);
    }
    link = await run(process.execPath, [CLI, `${stem}.bc`, ...s.linkFlags, '--btf', '--allow-undefined', '-o', `${stem}.ours.o`]);
  }
  lap('link');
  if (link.status !== 0) {
    problems.push(`bpf-linker failed (${link.status}): ${link.stderr.trim().split('\n').slice(-3).join(' ')}`);
    return { source: s, problems, load, ms: performance.now() - start, steps };
  }
  let codes: Outcome['code'];
  try {
    const [a, b] = [readFacts(`${stem}.ref.o`), readFacts(`${stem}.ours.o`)];
    codes = { clang: code(a), ours: code(b) };
    problems.push(...compareFacts(a, b));
  } catch (e) {
    problems.push(`reading the objects failed: ${(e as Error).message}`);
  }
  // A different instruction count: say what LLVM's own tools make of clang's bitcode with the
  // link's pipeline (clang already ran it once), so the difference is explained, not assumed.
  const counted = problems.findIndex((p) => p.startsWith('instructions: clang '));
  if (counted >= 0) problems[counted] += `; ${await reoptimizedCount(stem, s)}`;
  // The host is little-endian: libbpf refuses bpfeb objects before the kernel sees them.
  if (loader && s.target === 'bpfel') {
    const [a, b] = await loadVerdicts(loader, `${stem}.ref.o`, `${stem}.ours.o`);
    load = a === b ? a : `clang: ${a} / ours: ${b}`;
    if (a !== b) problems.push(`load: clang ${a} ≠ ours ${b}`);
    lap('load');
  }
  return { source: s, problems, load, ms: performance.now() - start, steps, ...(codes && { code: codes }) };
}

/** `opt-22 default<O2>,dce | llc-22 on clang's bitcode: N`, the count of optimizing clang's bitcode again. */
async function reoptimizedCount(stem: string, s: CorpusSource): Promise<string> {
  const what = `opt-22 ${passPipeline('2')} | llc-22 -mcpu=${compiledCpu(s)} on clang's bitcode`;
  const opt = await run(OPT, [`-passes=${passPipeline('2')}`, `${stem}.bc`, '-o', `${stem}.o2.bc`]);
  const llc = opt.status === 0 ? await run(LLC, [`-mcpu=${compiledCpu(s)}`, '-O3', '-filetype=obj', `${stem}.o2.bc`, '-o', `${stem}.o2.o`]) : opt;
  if (llc.status !== 0) return `${what} failed: ${llc.stderr.trim().split('\n')[0]}`;
  try {
    return `${what}: ${readFacts(`${stem}.o2.o`).instructions}`;
  } catch (e) {
    return `${what}: unreadable (${(e as Error).message})`;
  }
}

describe('third-party BPF C corpus (Debian packages): clang-22 objects vs bpf-linker default mode', () => {
  let outcomes: Outcome[] = [];
  let unpackedUnavailable: string | undefined;
  let dir: string | undefined;
  /** The known differences that can show here (load ones only when objects are loaded). */
  let known: KnownDifference[] = [];

  beforeAll(async () => {
    if (!existsSync(CILIUM_ROOT)) throw new Error('golang-github-cilium-ebpf-dev is missing (run scripts/setup.sh)');
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (scripts/setup.sh)`);
    dir = makeTempDir('bpfl-corpus-');
    const work = dir;
    const loader = noKernel ? undefined : loaderPath();
    const start = performance.now();
    const st = spawnSync('bash', [KERNELS_SCRIPT, 'corpus'], { encoding: 'utf8', timeout: 300_000 });
    if (st.status !== 0 && st.status !== 3) throw new Error(`scripts/kernels.sh corpus failed: ${st.stderr}`);
    unpackedUnavailable = st.status === 3 ? st.stderr.trim() : undefined;
    const root = st.stdout.trim();
    const sources = [...discoverCilium(), ...(unpackedUnavailable ? [] : [...discoverGobpf(root), ...discoverSelftests(root)])];
    outcomes = await pool(sources, 2, (s) => check(work, loader, s));
    const wallMs = performance.now() - start;
    known = KNOWN_DIFFERENCES.filter((k) => !(k.needsLoad && noKernel));
    if (process.env.BPFL_CORPUS_REPORT) writeFileSync(process.env.BPFL_CORPUS_REPORT, JSON.stringify(outcomes, null, 1));
    console.log(summary(outcomes, known, wallMs, unpackedUnavailable));
  }, 900_000);

  // BPFL_CORPUS_KEEP=1 keeps the objects (clang's *.ref.o, ours *.ours.o, the *.bc) for a look.
  afterAll(() => {
    if (dir && !process.env.BPFL_CORPUS_KEEP) rmSync(dir, { recursive: true, force: true });
    else if (dir) console.log(`objects kept in ${dir}`);
  });

  it('covers every program of the packages', (ctx) => {
    const count = (g: string) => outcomes.filter((o) => group(o.source.id) === g).length;
    expect(count('cilium')).toBe(EXPECTED_SOURCE_COUNT.cilium);
    if (unpackedUnavailable) ctx.skip(`gobpf and linux-source-6.1 not available here: ${unpackedUnavailable}`);
    expect(count('gobpf')).toBe(EXPECTED_SOURCE_COUNT.gobpf);
    expect(count('selftests')).toBe(EXPECTED_SOURCE_COUNT.selftests);
  });

  it('has no difference that expected.ts does not explain', () => {
    const unexplained = outcomes.flatMap((o) =>
      o.problems
        .filter((p) => !known.some((k) => k.ids.includes(o.source.id) && k.problem.test(p)))
        .map((p) => `${o.source.id}: ${p}`),
    );
    expect(unexplained).toEqual([]);
  });

  it('shows each known difference in exactly the sources expected.ts lists', () => {
    const present = new Set(outcomes.map((o) => o.source.id));
    for (const k of known) {
      const seen = outcomes.filter((o) => o.problems.some((p) => k.problem.test(p))).map((o) => o.source.id);
      expect(seen.sort(), `${k.key}: ${k.reason}`).toEqual(k.ids.filter((id) => present.has(id)).sort());
    }
  });

  it('has the known pass rate', () => {
    const explained = new Set(known.flatMap((k) => k.ids));
    const expected = outcomes.filter((o) => !explained.has(o.source.id)).length;
    const identical = outcomes.filter((o) => o.problems.length === 0).length;
    expect(`${identical}/${outcomes.length}`).toBe(`${expected}/${outcomes.length}`);
    if (!unpackedUnavailable && !noKernel) expect(`${identical}/${outcomes.length}`).toBe('499/530');
  });

  it("has clang's instruction count in every object, except where the link-time O2 changed the code (expected.ts)", () => {
    const optimizedTwice = new Set(known.filter((k) => k.key === 'inlined' || k.key === 're-optimized').flatMap((k) => k.ids));
    const linked = outcomes.filter((o) => o.code);
    const differing = new Set(linked.filter((o) => o.code!.clang.instructions !== o.code!.ours.instructions).map((o) => o.source.id));
    expect([...differing].filter((id) => !optimizedTwice.has(id))).toEqual([]);
    // And the documented ones do differ (otherwise expected.ts must shrink).
    expect(linked.filter((o) => optimizedTwice.has(o.source.id) && !differing.has(o.source.id)).map((o) => o.source.id)).toEqual([]);
  });

  it('generates v3 code (32-bit ALU/JMP) exactly where clang did: without --cpu, the CPU the bitcode asks for', () => {
    const linked = outcomes.filter((o) => o.code);
    const v3 = linked.filter((o) => o.code!.clang.alu32 || o.code!.clang.jmp32);
    // clang-22 compiles cilium and gobpf for its default v3, the selftests with -mcpu=v3; the
    // others have no 32-bit operation to emit (no programs, or CO-RE relocation data only).
    expect(v3.length).toBeGreaterThan(400);
    const isa = (c: Code) => `alu32=${c.alu32} jmp32=${c.jmp32}`;
    expect(linked.filter((o) => isa(o.code!.clang) !== isa(o.code!.ours)).map((o) => `${o.source.id}: clang ${isa(o.code!.clang)}, ours ${isa(o.code!.ours)}`)).toEqual([]);
  });

  it.skipIf(noKernel)('loads both objects alike, and many of them for real', () => {
    // Sanity check of the load comparison itself: a good share is accepted by the kernel.
    const accepted = outcomes.filter((o) => o.load === 'OK').length;
    expect(accepted).toBeGreaterThan(100);
  });
});

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

function summary(outcomes: Outcome[], known: KnownDifference[], wallMs: number, unpackedUnavailable?: string): string {
  const groups = [...new Set(outcomes.map((o) => group(o.source.id)))];
  const kinds = known.map((k) => k.key);
  const rows = groups.map((g) => {
    const mine = outcomes.filter((o) => group(o.source.id) === g);
    const loaded = mine.filter((o) => o.load === 'OK').length;
    return [
      g,
      String(mine.length),
      String(mine.filter((o) => o.problems.length === 0).length),
      ...kinds.map((k) => String(mine.filter((o) => known.find((x) => x.key === k)!.ids.includes(o.source.id)).length)),
      noKernel ? 'n/a' : String(loaded),
    ];
  });
  const sum = (f: (o: Outcome) => number) => outcomes.reduce((a, o) => a + f(o), 0) / 1000;
  const out = [
    '',
    table(['corpus', 'sources', 'identical', ...kinds, 'both load OK'], rows),
    '',
    `pass rate: ${outcomes.filter((o) => o.problems.length === 0).length}/${outcomes.length} identical, ` +
      `${(wallMs / 1000).toFixed(1)} s wall (CPU-side steps: compile ${sum((o) => o.steps.compile).toFixed(0)} s, ` +
      `link ${sum((o) => o.steps.link).toFixed(0)} s, load ${sum((o) => o.steps.load).toFixed(0)} s)`,
  ];
  const linked = outcomes.filter((o) => o.code);
  const insns = (w: 'clang' | 'ours') => linked.reduce((n, o) => n + o.code![w].instructions, 0);
  const sameCount = linked.filter((o) => o.code!.clang.instructions === o.code!.ours.instructions).length;
  const delta = insns('clang') ? ((insns('ours') - insns('clang')) / insns('clang')) * 100 : 0;
  out.push(
    `instructions: clang ${insns('clang')}, ours ${insns('ours')} (${delta >= 0 ? '+' : ''}${delta.toFixed(2)}%); ` +
      `${sameCount}/${linked.length} objects with clang's count; v3 code (32-bit ALU/JMP) in ${linked.filter((o) => o.code!.ours.alu32 || o.code!.ours.jmp32).length} of ours, ` +
      `${linked.filter((o) => o.code!.clang.alu32 || o.code!.clang.jmp32).length} of clang's`,
  );
  if (noKernel) out.push(`host loads skipped: ${noKernel}`);
  if (unpackedUnavailable) out.push(`gobpf and kernel selftests skipped: ${unpackedUnavailable}`);
  for (const k of known) out.push('', `${k.key} (${k.ids.length}): ${k.reason}`);
  out.push('', 'differences:');
  for (const o of outcomes.filter((x) => x.problems.length)) out.push(`  ${o.source.id}:`, ...o.problems.map((p) => `    ${p.slice(0, 400)}`));
  if (process.env.BPFL_CORPUS_VERBOSE) {
    out.push('', table(['source', 'objects', 'host load', 'time'], outcomes.map((o) => [
      o.source.id, o.problems.length ? 'DIFF' : 'same', o.load.slice(0, 160), `${Math.round(o.ms)} ms`,
    ])));
  }
  return out.join('\n');
}
