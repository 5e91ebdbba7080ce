/** Runs the built `bpf-linker` binary, as rustc and users do. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/bpf-linker.cjs', import.meta.url));

export interface CliRun {
  status: number;
  /** The process id (its crash-watcher journal is named after it). */
  pid: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): CliRun {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (scripts/setup.sh)`);
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: timeoutMs,
  });
  return { status: r.status ?? -1, pid: r.pid, stdout: r.stdout, stderr: r.stderr };
}
