/**
 * The fuzz harness (harness.mjs) on the real CLI: mutated bitcode, IR text, archives and ELF
 * inputs for `link`, mutated BPF objects for `inspect` and `verify`, and every file of
 * regressions/ replayed. Deterministic (fixed PRNG seed, seeds compiled reproducibly).
 *
 * By default a quick slice (160 link, 120 inspect, 60 verify cases: about a minute on 2 cores).
 * FUZZ_LONG=1 runs the long mode (10,000 / 3,000 / 1,000), FUZZ_MODE=medium the medium one;
 * FUZZ_SEED=<n> another PRNG seed. `node e2e/fuzz/run.mjs --long` does the same with a table.
 *
 * Any bad outcome fails its test, listing each case with the saved reproducer (the case's bytes
 * and a .json note holding the command line, under a temporary findings directory). Findings
 * outside the object readers that are reported but not fixed yet are listed in known-open.mjs:
 * they are printed, not failed on, unless FUZZ_STRICT=1 (FUZZ_KEEP=1 keeps their reproducers).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Plain JavaScript modules, so that `node e2e/fuzz/run.mjs` needs no build step.
// @ts-ignore -- no type declarations
import * as harness from './harness.mjs';

type Result = { case: { id: string; target: string; desc: string }; cls: string; why: string; ms: number; finding?: string; known?: string };

const mode: 'quick' | 'medium' | 'long' = process.env.FUZZ_LONG === '1' ? 'long' : process.env.FUZZ_MODE === 'medium' ? 'medium' : 'quick';
const counts = harness.MODES[mode] as Record<string, number>;
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : harness.DEFAULT_SEED;
const root = process.getuid?.() === 0;
// A quick case takes well under a second; a stopped endless read about 6 s. Long runs take hours.
const timeout = (n: number) => (mode === 'quick' ? 120_000 : 60_000 + n * 20_000);

let work: string;
let seeds: unknown;
let findings: string;
let anyBad = false;
let cli: string;

beforeAll(() => {
  work = harness.makeWork();
  findings = join(work, 'findings');
  cli = harness.snapshotCli(work);
  seeds = harness.buildSeeds(work, cli);
}, 300_000);

afterAll(() => {
  // Keep the findings the failures point to (and, with FUZZ_KEEP=1, those of known open ones).
  if (!anyBad && process.env.FUZZ_KEEP !== '1' && work) rmSync(work, { recursive: true, force: true });
});

async function run(cases: unknown[]): Promise<Result[]> {
  const results = (await harness.runCases(cases, { cli, work, findings, jobs: 2, readTimeout: '3' })) as Result[];
  console.log(`${mode} fuzz, seed ${seed}:\n${harness.formatTable(results)}`);
  const known = results.filter((r) => r.known);
  if (known.length > 0) {
    console.warn(
      `known open findings (e2e/fuzz/known-open.mjs; FUZZ_KEEP=1 keeps their reproducers):\n${known.map((r) => `  ${r.known}: ${r.case.id} (${r.case.desc}): ${r.why}\n    reproducer: ${r.finding}`).join('\n')}`,
    );
  }
  const bad = results.filter((r) => !harness.ALLOWED.includes(r.cls) && (process.env.FUZZ_STRICT === '1' || !r.known));
  if (bad.length > 0) anyBad = true;
  const report = bad.map((r) => `${r.cls}: ${r.case.id} (${r.case.desc}): ${r.why}\n  reproducer: ${r.finding} (command in ${r.finding}.json)`).join('\n');
  expect(bad.length, `bad outcomes:\n${report}`).toBe(0);
  return results;
}

describe(`fuzz (${mode}): the CLI on mutated inputs`, () => {
  it(`link: ${counts.link} mutated bitcode, IR, archive and ELF inputs`, async () => {
    const results = await run(harness.planCases('link', counts.link, seeds, seed));
    // The mutations reach past the first checks: some links still succeed, most fail cleanly.
    expect(results.some((r) => r.cls === 'ok')).toBe(true);
    expect(results.some((r) => r.cls === 'clean-error')).toBe(true);
  }, timeout(counts.link));

  it(`inspect: ${counts.inspect} mutated objects`, async () => {
    const results = await run(harness.planCases('inspect', counts.inspect, seeds, seed));
    expect(results.some((r) => r.cls === 'ok')).toBe(true);
    expect(results.some((r) => r.cls === 'clean-error')).toBe(true);
  }, timeout(counts.inspect));

  it.skipIf(!root)(`verify: ${counts.verify} mutated objects (loaded into the running kernel; needs root)`, async () => {
    await run(harness.planCases('verify', counts.verify, seeds, seed));
  }, timeout(counts.verify));

  it('replays every case of e2e/fuzz/regressions', async () => {
    const cases = (harness.regressionCases(seeds, { skipSlow: mode === 'quick' }) as { target: string }[]).filter((c) => root || c.target !== 'verify');
    expect(cases.length).toBeGreaterThan(0);
    await run(cases);
  }, 180_000);
});
