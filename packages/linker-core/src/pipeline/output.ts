/**
 * Writing results, and making sure that writing them destroys nothing.
 *
 * - writeFileAtomically: a temporary file next to the target, then rename, so a failed or killed
 *   write never leaves a partial file. Temporaries are removed on every error path and when the
 *   process gets SIGINT, SIGTERM or SIGHUP; those left by killed processes (SIGKILL, power loss)
 *   are swept by the next write to the same directory.
 * - checkOutputs: a cheap stat pass before any linking work, refusing outputs that are inputs,
 *   that are not regular files (a FIFO, a device, a directory), that are each other, or that
 *   cannot be created.
 */
import { accessSync, constants, lstatSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { constants as osConstants } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { LinkError } from '../errors';
import { describeFileType } from '../inputs/file';
import type { LinkOptions } from '../options';

// ---------------------------------------------------------------------------------------------
// Atomic writes and their temporaries

/** `.NAME.<pid>.<random>.tmp`, next to NAME. */
const TEMPORARY = /^\..+\.(\d+)\.[0-9a-z]+\.tmp$/;
/** A temporary this old is stale whoever wrote it: no write of ours takes an hour. */
const STALE_AFTER_MS = 60 * 60 * 1000;
/**
 * A temporary of a process that no longer exists is stale once it has not been written to for
 * this long. The pid alone is not enough: a process in another PID namespace (a container sharing
 * the directory) may be writing it right now under a pid that means nothing here; an active
 * write keeps the mtime fresh and renames right after its last byte.
 */
const DEAD_WRITER_GRACE_MS = 60 * 1000;

/** Temporaries this process has created and not yet renamed or removed. */
const pending = new Set<string>();

function temporaryPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // Nothing more to do: the directory is gone or unwritable, and so is our chance to clean up.
  }
}

/** Removes every pending temporary (signal and exit handlers). */
function removePendingTemporaries(): void {
  for (const tmp of pending) removeQuietly(tmp);
  pending.clear();
}

const CLEANUP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type CleanupSignal = (typeof CLEANUP_SIGNALS)[number];
let signalHandlers: Map<CleanupSignal, () => void> | undefined;
let exitHandlerInstalled = false;

/**
 * Listens for SIGINT, SIGTERM and SIGHUP while temporaries exist. The handler removes them, then
 * re-raises the signal with its default action (so the process ends as it would have: killed by
 * the signal, 128+signo for the shell) unless the host has listeners of its own, which then
 * decide. Listeners are removed again one event-loop turn after the last temporary is gone (a
 * signal that arrived during a synchronous write is dispatched before that, so none is lost), so
 * a host's signals are not delayed by synchronous work outside writes.
 */
function installSignalHandlers(): void {
  if (!exitHandlerInstalled) {
    exitHandlerInstalled = true;
    process.on('exit', removePendingTemporaries);
  }
  if (signalHandlers) return;
  signalHandlers = new Map();
  for (const signal of CLEANUP_SIGNALS) {
    const onSignal = () => {
      removePendingTemporaries();
      uninstallSignalHandlers();
      if (process.listenerCount(signal) === 0) {
        process.kill(process.pid, signal);
        // Only reached if the signal did not end the process.
        process.exit(128 + osConstants.signals[signal]);
      }
    };
    signalHandlers.set(signal, onSignal);
    process.on(signal, onSignal);
  }
}

function uninstallSignalHandlers(): void {
  if (!signalHandlers) return;
  for (const [signal, handler] of signalHandlers) process.removeListener(signal, handler);
  signalHandlers = undefined;
}

let uninstallScheduled = false;
function scheduleUninstall(): void {
  if (uninstallScheduled) return;
  uninstallScheduled = true;
  setImmediate(() => {
    uninstallScheduled = false;
    if (pending.size === 0) uninstallSignalHandlers();
  });
}

/**
 * A temporary file for `path`, registered for removal on signals and exit until `release`.
 * writeFileAtomically uses it; exported for tests of the signal handling.
 */
export function createTemporary(path: string): string {
  const tmp = temporaryPath(path);
  installSignalHandlers();
  pending.add(tmp);
  return tmp;
}

/** Forgets a temporary (renamed, or removed); `remove` deletes it first. */
export function releaseTemporary(tmp: string, remove: boolean): void {
  if (remove) removeQuietly(tmp);
  pending.delete(tmp);
  if (pending.size === 0) scheduleUninstall();
}

function processIsAlive(pid: number): boolean {
  if (pid <= 1) return true; // 0 means the process group and 1 init: never "dead"
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes the temporaries of killed writers from `dir`: `.NAME.<pid>.<rand>.tmp` regular files
 * older than an hour, or whose pid is not alive and that nobody wrote to for a minute. Never
 * throws; returns the paths removed.
 */
export function sweepStaleTemporaries(dir: string, now = Date.now()): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = TEMPORARY.exec(name);
    if (!m) continue;
    const file = join(dir, name);
    if (pending.has(file)) continue;
    try {
      const st = lstatSync(file);
      if (!st.isFile()) continue;
      const age = now - st.mtimeMs;
      const stale = age > STALE_AFTER_MS || (age > DEAD_WRITER_GRACE_MS && !processIsAlive(Number(m[1])));
      if (!stale) continue;
      rmSync(file, { force: true });
      removed.push(file);
    } catch {
      // Removed by someone else meanwhile, or not ours to remove.
    }
  }
  return removed;
}

/** Writes `path` through a temporary and a rename: after an error, `path` is as it was. */
export function writeFileAtomically(path: string, bytes: Uint8Array | string): void {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw writeFailure(path, e);
  }
  sweepStaleTemporaries(dir);
  const tmp = createTemporary(path);
  let renamed = false;
  try {
    // 'wx': never write through a file (or symlink) that appeared at the temporary's name.
    writeFileSync(tmp, bytes, { flag: 'wx' });
    renameSync(tmp, path);
    renamed = true;
  } catch (e) {
    throw writeFailure(path, e);
  } finally {
    releaseTemporary(tmp, !renamed);
  }
}

function writeFailure(path: string, e: unknown): LinkError {
  const problem = parentProblem(path) ?? (e as Error).message;
  return new LinkError('OUTPUT_FAILED', `cannot write ${path}: ${problem}`, {
    file: path,
    hint: 'check that the output directory exists and is writable',
    cause: e,
  });
}

// ---------------------------------------------------------------------------------------------
// Checking outputs before linking

/** A file a run reads or writes, and how to name it in messages (`the output`, `the --report file`). */
export interface RunFile {
  path: string;
  role: string;
}

export interface RunOutput extends RunFile {
  /** Written in place or appended to (a log), rather than replaced by a rename. */
  inPlace?: boolean;
}

/** Files a caller reads or writes around a link (the CLI's --export-symbols, --report, --log-file). */
export interface RunFiles {
  inputs?: readonly RunFile[];
  outputs?: readonly RunOutput[];
}

/** Every file a link writes: the output, the module dumps, and the caller's own. */
export function linkOutputs(options: LinkOptions, extra: readonly RunOutput[] = []): RunOutput[] {
  const outputs: RunOutput[] = [];
  if (options.output !== undefined) outputs.push({ path: options.output, role: 'the output' });
  if (options.dumpModule) {
    for (const name of ['pre-opt.ll', 'post-opt.ll']) outputs.push({ path: join(options.dumpModule, name), role: 'the module dump' });
  }
  return [...outputs, ...extra];
}

/**
 * Refuses, before any work, a link whose outputs would destroy something or cannot be written:
 * an output that is one of the inputs (same device and inode: also through symlinks and hard
 * links, archives included), an existing output that is not a regular file (FIFO, device,
 * directory, socket), two outputs that are the same file, and an output whose directory is a
 * file or cannot be created. Only stats; creates nothing. Throws a LinkError naming the paths.
 */
export function checkOutputs(options: LinkOptions, files: RunFiles = {}): void {
  const inputs: RunFile[] = [
    ...options.inputs.filter((i): i is string => typeof i === 'string').map((path) => ({ path, role: 'the input' })),
    ...(files.inputs ?? []),
  ];
  const inputIds = new Map<string, RunFile>();
  for (const input of inputs) {
    const st = statOrUndefined(input.path);
    if (st && !inputIds.has(fileId(st))) inputIds.set(fileId(st), input);
  }

  const seen = new Map<string, RunOutput>();
  for (const output of linkOutputs(options, files.outputs)) {
    let st: Stats | undefined;
    try {
      st = statSync(output.path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        throw new LinkError('OUTPUT_FAILED', `cannot write ${output.role} ${output.path}: ${(e as Error).message}`, {
          file: output.path,
          hint: 'choose another output path',
          cause: e,
        });
      }
    }
    if (st && !st.isFile()) {
      throw new LinkError('OUTPUT_NOT_REGULAR', `${output.role} ${output.path} is ${describeFileType(st)}, not a regular file: refusing to ${output.inPlace ? 'write to' : 'replace'} it`, {
        file: output.path,
        hint: st.isDirectory() ? 'name the file to write, not a directory' : 'choose a path that is a regular file or does not exist yet',
      });
    }
    const input = st && inputIds.get(fileId(st));
    if (input) {
      throw new LinkError('OUTPUT_CONFLICT', `${output.role} ${output.path} is the same file as ${input.role} ${input.path}: refusing to overwrite an input`, {
        file: output.path,
        hint: 'write the output to another path',
      });
    }
    const id = st ? fileId(st) : `path:${canonicalPath(output.path)}`;
    const earlier = seen.get(id);
    if (earlier) {
      throw new LinkError('OUTPUT_CONFLICT', `${output.role} ${output.path} is the same file as ${earlier.role} ${earlier.path}: one would overwrite the other`, {
        file: output.path,
        hint: 'give each output its own path',
      });
    }
    seen.set(id, output);
    // An existing file written in place needs no new directory entry.
    if (st && output.inPlace) continue;
    const problem = parentProblem(output.path);
    if (problem) {
      throw new LinkError('OUTPUT_FAILED', `cannot write ${output.role} ${output.path}: ${problem}`, {
        file: output.path,
        hint: 'choose a path whose directories exist or can be created',
      });
    }
  }
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function fileId(st: Stats): string {
  return `${st.dev}:${st.ino}`;
}

/** The absolute path of a file that may not exist: its nearest existing directory resolved. */
function canonicalPath(path: string): string {
  const abs = resolve(path);
  const rest: string[] = [];
  let dir = abs;
  for (;;) {
    try {
      return join(realpathSync(dir), ...rest.reverse());
    } catch {
      const parent = dirname(dir);
      if (parent === dir) return abs;
      rest.push(basename(dir));
      dir = parent;
    }
  }
}

/**
 * Why a file cannot be created at `path`, or undefined: the nearest existing ancestor (the
 * directories up to it would be created) is not a directory, or not writable.
 */
function parentProblem(path: string): string | undefined {
  let dir = dirname(path);
  for (;;) {
    let st: Stats | undefined;
    try {
      st = statSync(dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return `cannot access ${dir}: ${(e as Error).message}`;
    }
    if (st) {
      if (!st.isDirectory()) return `${dir} is ${describeFileType(st)}, not a directory`;
      try {
        accessSync(dir, constants.W_OK | constants.X_OK);
      } catch (e) {
        return `cannot create files in ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
      }
      return undefined;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
