/**
 * Helpers of the Turborepo e2e: processes run with argv arrays (never a shell) and a timeout,
 * turbo's run summaries (`--summarize`) read as taskId -> cache status, snapshots of a
 * workspace's files; the background server helpers live in ../support/server.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface RunResult {
  status: number;
  /** stdout then stderr, without ANSI colours (@turbo/gen colours even with NO_COLOR). */
  output: string;
  stdout: string;
  stderr: string;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

export function run(cmd: string, args: readonly string[], o: { cwd: string; env: NodeJS.ProcessEnv; timeout?: number }): RunResult {
  const r = spawnSync(cmd, args, {
    cwd: o.cwd,
    env: o.env,
    encoding: 'utf8',
    timeout: o.timeout ?? 300_000,
    maxBuffer: 64 << 20,
    // stdin closed: a prompt that slips through gets EOF instead of waiting.
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')} (in ${o.cwd}): ${r.error.message}`);
  const stdout = (r.stdout ?? '').replace(ANSI, '');
  const stderr = (r.stderr ?? '').replace(ANSI, '');
  return { status: r.status ?? -1, output: `${stdout}${stderr}`, stdout, stderr };
}

/** run() that throws with the output on a non-zero exit. */
export function ok(cmd: string, args: readonly string[], o: { cwd: string; env: NodeJS.ProcessEnv; timeout?: number }): string {
  const r = run(cmd, args, o);
  if (r.status !== 0) throw new Error(`\`${cmd} ${args.join(' ')}\` in ${o.cwd} failed (exit ${r.status}):\n${r.output}`);
  return r.output;
}

/** The parts of a task in turbo's run summary read here. */
export interface SummaryTask {
  taskId: string;
  task: string;
  package: string;
  hash: string;
  cache: { status: 'HIT' | 'MISS'; local: boolean; remote: boolean; source?: string };
  expandedOutputs?: string[] | null;
}

export interface Summary {
  file: string;
  mtimeMs: number;
  tasks: SummaryTask[];
  execution?: { exitCode: number };
}

/** The newest run summary in `<ws>/.turbo/runs/`. */
export function summary(ws: string): Summary {
  const dir = join(ws, '.turbo', 'runs');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
  if (files.length === 0) throw new Error(`no run summary in ${dir}`);
  const newest = files
    .map((f) => ({ file: join(dir, f), mtimeMs: statSync(join(dir, f)).mtimeMs }))
    .sort((a, b) => b.mtimeMs - a.mtimeMs || (a.file < b.file ? 1 : -1))[0];
  const parsed = JSON.parse(readFileSync(newest.file, 'utf8')) as { tasks: SummaryTask[]; execution?: { exitCode: number } };
  return { ...newest, tasks: parsed.tasks, execution: parsed.execution };
}

/** taskId (`pkg#task`) -> HIT or MISS. */
export function cacheStatus(s: Summary): Record<string, 'HIT' | 'MISS'> {
  return Object.fromEntries(s.tasks.map((t) => [t.taskId, t.cache.status]));
}

const SKIP = new Set(['node_modules', '.git', '.turbo']);

/** Every file below `root` (not node_modules, .git, .turbo) -> its bytes, for "nothing changed" checks. */
export function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (SKIP.has(e.name)) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(relative(root, p), readFileSync(p).toString('base64'));
    }
  };
  walk(root);
  return out;
}

/** Names of the files that differ between two snapshots (added, removed or changed). */
export function snapshotDiff(a: Map<string, string>, b: Map<string, string>): string[] {
  const names = new Set([...a.keys(), ...b.keys()]);
  return [...names].filter((n) => a.get(n) !== b.get(n)).sort();
}

export { freePort, startServer, waitForHttp, type Server } from '../support/server';
