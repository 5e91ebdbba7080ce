/**
 * libLLVM's own writes to stderr during a step, captured into a file instead of the terminal.
 * The bitcode reader prints the verifier's dump of invalid debug info there before it drops it;
 * for a corrupt input that dump can be megabytes of raw memory. The caller gets the text and
 * decides what to show; the crash watcher shows its first line if the step never returns.
 */
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { withStderrRedirected } from './api';

/** Lines our own logger writes (they may be written during the step, through LLVM's callbacks). */
const OWN_LINE = /^\[(ERROR|WARN|INFO|DEBUG|TRACE)\] /;

export interface CapturedStderr<T> {
  result: T;
  /** What the library wrote, printable ASCII only. */
  native: string;
}

export function captureNativeStderr<T>(path: string, fn: () => T): CapturedStderr<T> {
  let fd: number;
  try {
    fd = openSync(path, 'w', 0o600);
  } catch {
    return { result: fn(), native: '' };
  }
  let result: T;
  try {
    result = withStderrRedirected(fd, fn);
  } finally {
    closeSync(fd);
  }
  let text = '';
  try {
    text = readFileSync(path, 'latin1');
    rmSync(path, { force: true });
  } catch {
    // nothing captured
  }
  const own: string[] = [];
  const native: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    (OWN_LINE.test(line) ? own : native).push(line);
  }
  // Messages of ours that went to the file go where they were meant to.
  if (own.length) process.stderr.write(`${own.join('\n')}\n`);
  return { result, native: native.join('\n').replace(/[^\x20-\x7e\n\t]/g, '?') };
}
