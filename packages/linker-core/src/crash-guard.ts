/**
 * Crash attribution. A corrupt input can crash libLLVM or libbpf in native code (SIGSEGV, SIGBUS,
 * SIGABRT, "LLVM ERROR: out of memory" aborting past the fatal-error handler): JavaScript cannot
 * catch that, and the process would die with an empty stderr.
 *
 * So, once per process, a small watcher process is started (about 4 ms to spawn; it boots on its
 * own while the link goes on). Before each step that runs native code on untrusted data, the
 * linker appends one line to a journal file with a synchronous write: what it is doing and on
 * which input ("reading program.bc", "opening x.o with libbpf"). The watcher holds the read end
 * of a pipe to this process; when the pipe closes (the process ended, however), it reads the
 * journal. If the process ended inside such a step, the watcher prints one message naming the
 * step and the input, and removes the journal. The process's own exit status (139, 134, …) stays
 * non-zero, and no output exists: native steps run before anything is written.
 *
 * The watcher writes to the same stderr, so a caller reading it (rustc, cargo, a build tool) sees
 * the message before end-of-file.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface GuardState {
  fd: number;
  journal: string;
}

let state: GuardState | undefined;
let disabled = false;
let readTimeoutMs = 20_000;

let compileTimeoutMs = 300_000;

/** The base time limit of reading one input (BPF_LINKER_READ_TIMEOUT seconds, default 20). */
export function readTimeoutBaseMs(): number {
  return readTimeoutMs;
}

/** The base time limit of optimizing, and of generating code (BPF_LINKER_CODEGEN_TIMEOUT seconds, default 300). */
export function compileTimeoutBaseMs(): number {
  return compileTimeoutMs;
}

/**
 * The watcher: plain JavaScript run with `node -e`, its data on argv (never a shell). It reads
 * the journal every half second, so a step that runs past its time limit (a corrupt input can
 * make LLVM's reader loop forever; llvm-dis hangs on the same file) ends the process: the
 * message then says so.
 */
const WATCHER = `
const fs = require('fs');
const [journal, program, pidText] = process.argv.slice(1);
const pid = Number(pidText);
let offset = 0, rest = '', step, done = false, started = 0;
const read = () => {
  let text = '';
  try {
    const fd = fs.openSync(journal, 'r');
    const size = fs.fstatSync(fd).size;
    if (size > offset) { const b = Buffer.alloc(size - offset); fs.readSync(fd, b, 0, b.length, offset); text = b.toString('utf8'); offset = size; }
    fs.closeSync(fd);
  } catch (e) {
    // The process removes its journal when it ends normally (or reports a fatal error itself).
    if (e.code === 'ENOENT') done = true;
  }
  const lines = (rest + text).split('\\n');
  rest = lines.pop();
  for (const line of lines) {
    let l; try { l = JSON.parse(line); } catch { continue; }
    if (l.done) done = true;
    if (l.step) { step = l; started = Date.now(); }
    if (l.stepDone && step && step.step === l.stepDone) step = undefined;
  }
};
const captured = () => {
  if (!step || !step.capture) return '';
  try {
    const t = fs.readFileSync(step.capture, 'latin1').replace(/[^\\x20-\\x7e\\n]/g, '?').split('\\n').filter(Boolean)[0] || '';
    return t ? '\\n  ' + (step.library || 'it') + ' said: ' + t.slice(0, 200) : '';
  } catch { return ''; }
};
const report = (why, stopped) => {
  const where = step.file ? ' ' + step.file : '';
  const hint = (stopped && step.stopHint) || step.hint || 'the input is probably corrupt: rebuild it; if it is not, report this with the file';
  fs.writeSync(2, 'error: ' + program + ' ' + why + ' ' + step.step + where + ' (inside ' + (step.library || 'native code') + '); nothing was written' + captured() + '\\n  hint: ' + hint + '\\n');
};
const finish = () => {
  for (const f of [journal + '.stderr', journal]) { try { fs.rmSync(f, { force: true }); } catch {} }
};
const timer = setInterval(() => {
  read();
  if (!done && step && step.limitMs && Date.now() - started > step.limitMs) {
    clearInterval(timer);
    report('stopped after ' + Math.round(step.limitMs / 1000) + ' s of', true);
    step = undefined;
    try { process.kill(pid, 'SIGKILL'); } catch {}
  }
}, 500);
// Journals of processes killed together with their watcher (a build tool killing the process
// group) are left behind: remove those of dead processes, a minute old or more.
setImmediate(() => {
  try {
    const dir = require('path').dirname(journal);
    for (const f of fs.readdirSync(dir)) {
      const m = /^bpf-linker-guard-(\\d+)-\\w+\\.jsonl(\\.stderr)?$/.exec(f);
      if (!m || Number(m[1]) === pid) continue;
      try { process.kill(Number(m[1]), 0); continue; } catch (e) { if (e.code !== 'ESRCH') continue; }
      const p = dir + '/' + f;
      try { if (Date.now() - fs.statSync(p).mtimeMs > 60000) fs.rmSync(p, { force: true }); } catch {}
    }
  } catch {}
});
process.stdin.on('data', () => {});
process.stdin.on('error', () => {});
process.stdin.on('close', () => {
  clearInterval(timer);
  read();
  if (!done && step) report('crashed while');
  finish();
});
`;

/**
 * Starts the watcher (once per process; later calls do nothing). `program` names this tool in
 * the message. Off when BPF_LINKER_CRASH_GUARD=0, or when it cannot start (then crashes stay
 * unattributed, as before).
 */
export function startCrashGuard(program = 'bpf-linker', env: NodeJS.ProcessEnv = process.env): void {
  if (state || disabled) return;
  // For very slow machines, and for tests.
  if (Number(env.BPF_LINKER_READ_TIMEOUT) > 0) readTimeoutMs = Number(env.BPF_LINKER_READ_TIMEOUT) * 1000;
  if (Number(env.BPF_LINKER_CODEGEN_TIMEOUT) > 0) compileTimeoutMs = Number(env.BPF_LINKER_CODEGEN_TIMEOUT) * 1000;
  if (env.BPF_LINKER_CRASH_GUARD === '0') {
    disabled = true;
    return;
  }
  const journal = join(tmpdir(), `bpf-linker-guard-${process.pid}-${Math.random().toString(36).slice(2)}.jsonl`);
  try {
    const fd = openSync(journal, 'a', 0o600);
    const child = spawn(process.execPath, ['-e', WATCHER, journal, program, String(process.pid)], { stdio: ['pipe', 'ignore', 'inherit'], env: {} });
    child.on('error', () => {
      // no watcher: the journal is removed when the process ends normally
    });
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    state = { fd, journal };
    process.once('exit', crashGuardDone);
  } catch {
    disabled = true;
  }
}

function record(entry: Record<string, unknown>): void {
  if (!state) return;
  try {
    writeSync(state.fd, `${JSON.stringify(entry)}\n`);
  } catch {
    // a full disk must not fail the link
  }
}

export interface CrashStep {
  /** What is being done, as the message continues "crashed while …": `reading`, `opening`. */
  step: string;
  /** The input, as errors name it: `file` or `archive(member)`. */
  file?: string;
  /** The native library doing it: `libLLVM 22.1.8`, `libbpf`. */
  library?: string;
  hint?: string;
  /** The step is stopped (the process killed) after this long: for steps that must be quick. */
  limitMs?: number;
  /** The hint when the step was stopped by its time limit (else `hint`). */
  stopHint?: string;
  /** A file receiving the native library's own stderr during the step (its first line is shown). */
  capture?: string;
}

let current: CrashStep | undefined;

/** The native step running now, if any (LLVM's fatal-error handler names its input). */
export function currentCrashStep(): CrashStep | undefined {
  return current;
}

/** Runs `fn` as a step the watcher reports if the process dies inside it. */
export function crashStep<T>(step: CrashStep, fn: () => T): T {
  const outer = current;
  current = step;
  try {
    if (!state) return fn();
    record({ ...step });
    const result = fn();
    record({ stepDone: step.step });
    return result;
  } finally {
    current = outer;
  }
}

/** A per-process file for a native library's stderr during a step (the watcher removes it too). */
export function nativeStderrFile(): string {
  return `${state?.journal ?? join(tmpdir(), `bpf-linker-${process.pid}`)}.stderr`;
}

/** Records a normal end (also on process exit and in LLVM's fatal-error handler, which exits itself). */
export function crashGuardDone(): void {
  if (!state) return;
  record({ done: true });
  try {
    closeSync(state.fd);
    rmSync(state.journal, { force: true });
  } catch {
    // the watcher removes it
  }
  state = undefined;
  disabled = true;
}
