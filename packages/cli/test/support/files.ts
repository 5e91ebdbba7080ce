/** Shared by the tests of what the CLI reads and writes: fixtures, special files, and assertions. */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { expect } from 'vitest';
import { compileC, makeArchive, makeTempDir } from '../../../linker-core/test/support/toolchain';
import { CLI, runCli } from './cli';

const SEED = join(__dirname, '../../../../examples/seed');

/** Above Linux's PID_MAX_LIMIT (2^22): never a live process. */
export const DEAD_PID = 4_194_305;

export interface FileFixtures {
  dir: string;
  path(name: string): string;
  /** The seed program and library as clang-22 bitcode, and the library in an archive. */
  prog: string;
  lib: string;
  archive: string;
  /** A FIFO (mkfifo) that nobody writes to. */
  fifo: string;
  /** A listening Unix socket. */
  socket: string;
  close(): void;
}

export async function setUpFiles(prefix: string): Promise<FileFixtures> {
  const dir = makeTempDir(prefix);
  const path = (name: string) => join(dir, name);
  const lib = compileC({ major: 22, source: join(SEED, 'lib.c'), out: path('lib.bc'), mode: 'bc' });
  const fifo = path('pipe');
  const mk = spawnSync('mkfifo', [fifo], { encoding: 'utf8' });
  if (mk.status !== 0) throw new Error(`mkfifo failed: ${mk.stderr}`);
  const socket = path('sock');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    dir,
    path,
    prog: compileC({ major: 22, source: join(SEED, 'program.c'), out: path('program.bc'), mode: 'bc' }),
    lib,
    archive: makeArchive(22, path('liblib.a'), [lib]),
    fifo,
    socket,
    close: () => server.close(),
  };
}

/** A file's identity and contents, to show it was not touched. */
export function snapshot(path: string) {
  const st = lstatSync(path);
  return { ino: st.ino, mtimeMs: st.mtimeMs, mode: st.mode, bytes: st.isFile() ? readFileSync(path).toString('base64') : '' };
}

/** The CLI exits 1 within 2 s with exactly `stderr` and prints nothing on stdout. */
export function refused(args: string[], stderr: string): void {
  const started = Date.now();
  const r = runCli(args);
  expect(r.stderr).toBe(stderr);
  expect(r.stdout).toBe('');
  expect(r.status).toBe(1);
  expect(Date.now() - started).toBeLessThan(2000);
}

export function linked(args: string[]): void {
  const r = runCli(args);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
}

const TIME = '/usr/bin/time';

/**
 * Like refused(), and returns the CLI's peak memory (max RSS, bytes) measured by GNU time, or
 * undefined where it is not installed.
 */
export function refusedMeasured(args: string[], stderr: string): number | undefined {
  if (!existsSync(TIME)) {
    refused(args, stderr);
    return undefined;
  }
  const started = Date.now();
  const r = spawnSync(TIME, ['-f', 'maxrss_kb=%M', process.execPath, CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  // GNU time adds `Command exited with non-zero status 1` before its own line.
  const m = /(?:Command exited with non-zero status \d+\n)?maxrss_kb=(\d+)\n$/.exec(r.stderr);
  expect(m, r.stderr).not.toBeNull();
  expect(r.stderr.slice(0, m!.index)).toBe(stderr);
  expect(r.stdout).toBe('');
  expect(r.status).toBe(1);
  expect(Date.now() - started).toBeLessThan(2000);
  return Number(m![1]) * 1024;
}

/** Peak memory of a CLI run that read nothing large: Node.js itself is about 50 MB. */
export const SMALL_RSS = 150 * 1024 ** 2;
