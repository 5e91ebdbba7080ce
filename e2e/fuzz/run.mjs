#!/usr/bin/env node
/**
 * Runs the fuzz harness from the command line and prints a table of outcomes per target.
 *
 *   node e2e/fuzz/run.mjs                 # quick: 160 link, 120 inspect, 60 verify (+ regressions)
 *   node e2e/fuzz/run.mjs --medium        # 2,000 link, 600 inspect, 200 verify
 *   node e2e/fuzz/run.mjs --long          # 10,000 link, 3,000 inspect, 1,000 verify
 *   node e2e/fuzz/run.mjs --link 500 --inspect 0 --verify 0 --seed 7 --jobs 2
 *   node e2e/fuzz/run.mjs --read-timeout 20   # the linker's default read limit instead of 3 s
 *
 * Build the CLI first (`node packages/cli/build.mjs` from packages/cli, or scripts/setup.sh).
 * `verify` cases load programs into the running kernel: run as root (they are skipped otherwise).
 * Exit status 1 when any case had a bad outcome; each one is saved under the findings directory
 * printed at the end (the case's bytes, and a .json note with the command that reproduces it).
 * Findings listed in known-open.mjs are printed and saved too, but fail the run only with --strict.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ALLOWED, CLI, DEFAULT_SEED, MODES, buildSeeds, formatTable, makeWork, planCases, regressionCases, runCases, snapshotCli } from './harness.mjs';

const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const value = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
if (flag('help') || flag('h')) {
  process.stdout.write(
    'usage: node e2e/fuzz/run.mjs [--quick|--medium|--long] [--link N] [--inspect N] [--verify N] [--seed S] [--jobs J] [--read-timeout S] [--no-regressions] [--strict] [--keep]\n',
  );
  process.exit(0);
}
if (!existsSync(CLI)) {
  process.stderr.write(`${CLI} is missing: build it first (cd packages/cli && node build.mjs)\n`);
  process.exit(2);
}

const mode = flag('long') ? 'long' : flag('medium') ? 'medium' : 'quick';
const counts = { ...MODES[mode] };
for (const t of ['link', 'inspect', 'verify']) if (value(t) !== undefined) counts[t] = Number(value(t));
if (process.getuid?.() !== 0 && counts.verify > 0) {
  process.stderr.write('not root: skipping the verify cases (they load programs into the kernel)\n');
  counts.verify = 0;
}
const seed = value('seed') !== undefined ? Number(value('seed')) : DEFAULT_SEED;
const jobs = Number(value('jobs') ?? 2);
const readTimeout = value('read-timeout') ?? '3';

const work = makeWork();
const findings = join(work, 'findings');
const started = Date.now();
const cli = snapshotCli(work);
const seeds = buildSeeds(work, cli);
process.stdout.write(`seeds: ${seeds.link.length} link inputs, ${seeds.inspect.length} objects (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);

const cases = [
  ...(flag('no-regressions') ? [] : regressionCases(seeds, { skipSlow: mode === 'quick' })),
  ...planCases('link', counts.link, seeds, seed),
  ...planCases('inspect', counts.inspect, seeds, seed),
  ...planCases('verify', counts.verify, seeds, seed),
].filter((c) => c.target !== 'verify' || process.getuid?.() === 0);
process.stdout.write(`mode ${mode}, seed ${seed}, ${cases.length} cases, ${jobs} at a time, BPF_LINKER_READ_TIMEOUT=${readTimeout}\n`);

let done = 0;
const bad = [];
const known = [];
// Known open findings (known-open.mjs) are reported but do not fail the run, unless --strict.
const strict = flag('strict') || process.env.FUZZ_STRICT === '1';
const results = await runCases(cases, {
  cli,
  work,
  findings,
  jobs,
  readTimeout,
  onResult: (r) => {
    done++;
    if (!ALLOWED.includes(r.cls)) {
      if (!r.known || strict) bad.push(r);
      else known.push(r);
      process.stdout.write(`\n${r.cls}${r.known ? ` (known open: ${r.known})` : ''}: ${r.case.id} (${r.case.desc}): ${r.why}\n  saved: ${r.finding}\n`);
    }
    if (process.stdout.isTTY && done % 10 === 0) process.stdout.write(`\r${done}/${cases.length}`);
    else if (!process.stdout.isTTY && done % 500 === 0) process.stdout.write(`${done}/${cases.length} after ${Math.round((Date.now() - started) / 1000)} s\n`);
  },
});
const seconds = (Date.now() - started) / 1000;
process.stdout.write(`\n${formatTable(results)}\n`);
const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, 5);
process.stdout.write(`slowest: ${slowest.map((r) => `${r.case.id} ${(r.ms / 1000).toFixed(1)} s (${r.cls})`).join(', ')}\n`);
process.stdout.write(`${results.length} cases in ${seconds.toFixed(0)} s\n`);
if (known.length > 0) process.stdout.write(`${known.length} known open finding(s) (e2e/fuzz/known-open.mjs); reproducers in ${findings}\n`);
if (bad.length > 0) {
  process.stdout.write(`${bad.length} bad outcome(s); reproducers in ${findings}\n`);
} else if (!flag('keep') && known.length === 0) {
  rmSync(work, { recursive: true, force: true });
}
process.exitCode = bad.length > 0 ? 1 : 0;
