/**
 * The plugin's side of a build. Planning and the cache lookup run here (they read the source and
 * hash the recorded headers: milliseconds); a miss is built in a child process (worker.ts), so
 * the bundler's event loop keeps answering while clang and the link run, and a crash in libLLVM
 * ends that process only. At most `workers` builds run at once; imports of the same object that
 * arrive while it builds share the build.
 */
import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BuildError,
  knownDependencies,
  lookupSingleObject,
  planSingleObject,
  probeToolchain,
  resolveLinkerCli,
  SingleObjectBuildError,
  type SingleObjectKind,
  type SingleObjectRequest,
  type SingleObjectResult,
  type ToolchainIdentity,
} from '@bpf-linker/core';
import type { Options } from './types';
import type { SerializedError, WorkerRequest } from './worker';

export interface BuilderSettings {
  /** The project root: relative include directories and the default cache directory. */
  root: string;
  options: Options;
  /** The worker script (dist/worker.cjs). */
  workerPath: string;
  /** package.json files from which to resolve @bpf-linker/cli. */
  cliSearch: string[];
}

type WorkerMessage =
  | { type: 'step'; kind: string; description: string }
  | { type: 'done'; result: SingleObjectResult }
  | { type: 'error'; error: SerializedError };

/** The worker next to the bundled plugin. */
export function defaultWorkerPath(): string {
  return fileURLToPath(new URL('./worker.cjs', import.meta.url));
}

export class ObjectBuilder {
  readonly cacheDir: string;
  private readonly toolchains = new Map<SingleObjectKind, ToolchainIdentity>();
  private readonly inflight = new Map<string, Promise<SingleObjectResult>>();
  private readonly waiting: Array<() => void> = [];
  private running = 0;
  private readonly limit: number;

  constructor(private readonly settings: BuilderSettings) {
    const o = settings.options;
    this.cacheDir = resolve(settings.root, o.cacheDir ?? join('node_modules', '.cache', 'bpf'));
    this.limit = Math.max(1, o.workers ?? availableParallelism());
  }

  /** Probe the tools again at the next build (a new bundler build: clang may have been upgraded). */
  refreshToolchain(): void {
    this.toolchains.clear();
  }

  private env(kind: SingleObjectKind): NodeJS.ProcessEnv {
    const c = this.settings.options.cargo ?? {};
    if (kind !== 'cargo') return process.env;
    return { ...process.env, ...(c.rustc ? { RUSTC: c.rustc } : {}), ...(c.cargo ? { CARGO: c.cargo } : {}) };
  }

  private toolchain(kind: SingleObjectKind, env: NodeJS.ProcessEnv): ToolchainIdentity {
    let t = this.toolchains.get(kind);
    if (!t) {
      t = probeToolchain({ clang: this.settings.options.clang, tools: kind === 'c' ? ['clang', 'llvm'] : ['rust', 'llvm'], env });
      this.toolchains.set(kind, t);
    }
    return t;
  }

  /** The core's request for one source, from the plugin's options. */
  request(source: string, kind: SingleObjectKind): SingleObjectRequest {
    const o = this.settings.options;
    const root = this.settings.root;
    const env = this.env(kind);
    const link = { ...o.link };
    // Paths in link options are the user's, relative to the project root.
    if (link.dumpModule) link.dumpModule = resolve(root, link.dumpModule);
    if (link.llvmPath?.includes('/')) link.llvmPath = resolve(root, link.llvmPath);
    const request: SingleObjectRequest = {
      source,
      cacheDir: this.cacheDir,
      compile: {
        clang: o.clang,
        target: o.target,
        includeDirs: (o.includeDirs ?? []).map((d) => resolve(root, d)),
        defines: o.defines,
        flags: o.flags,
      },
      link,
      env,
      toolchain: this.toolchain(kind, env),
      settingsLabel: 'unplugin-bpf options',
    };
    if (kind === 'cargo') {
      const { cargo: _cargo, rustc: _rustc, ...cargo } = o.cargo ?? {};
      request.cargo = cargo;
      request.linker = o.linker ? resolve(root, o.linker) : resolveLinkerCli(this.settings.cliSearch);
      if (!request.linker) {
        throw new BuildError('TOOL_NOT_FOUND', `${source}: cannot find the bpf-linker CLI, which cargo needs as rustc's linker`, {
          file: source,
          hint: 'npm install -D @bpf-linker/cli, or set the plugin\'s "linker" option to its bpf-linker executable',
        });
      }
    }
    return request;
  }

  /**
   * The object for `source`: from the cache, or built in a worker process. `origin` says which:
   * `cache` (nothing ran), `build` (this call ran the steps), `shared` (another import of the same
   * object was building it; its steps are counted there).
   */
  async build(source: string, kind: SingleObjectKind, onStep?: (kind: string, description: string) => void): Promise<{ result: SingleObjectResult; origin: 'cache' | 'build' | 'shared' }> {
    const request = this.request(source, kind);
    const plan = planSingleObject(request);
    const hit = lookupSingleObject(plan);
    if (hit) return { result: hit, origin: 'cache' };
    const shared = this.inflight.get(plan.directKey);
    if (shared) return { result: await shared, origin: 'shared' };
    const run = this.inWorker(request, onStep).finally(() => this.inflight.delete(plan.directKey));
    this.inflight.set(plan.directKey, run);
    return { result: await run, origin: 'build' };
  }

  /** Files the last successful builds of `source` read (for watching after a failure). */
  lastDependencies(source: string, kind: SingleObjectKind): string[] {
    try {
      return knownDependencies(planSingleObject(this.request(source, kind)));
    } catch {
      return [];
    }
  }

  private async slot(): Promise<void> {
    if (this.running < this.limit) {
      this.running++;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }

  private async inWorker(request: SingleObjectRequest, onStep?: (kind: string, description: string) => void): Promise<SingleObjectResult> {
    await this.slot();
    try {
      return await new Promise<SingleObjectResult>((resolvePromise, reject) => {
        const child = fork(this.settings.workerPath, [], {
          serialization: 'advanced',
          stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
          env: request.env,
          // Not the host's flags (a test runner's loaders, --inspect): a plain Node process.
          execArgv: [],
        });
        let stderr = '';
        let settled = false;
        child.stdout!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
        child.on('message', (m: WorkerMessage) => {
          if (m.type === 'step') onStep?.(m.kind, m.description);
          else if (m.type === 'done') {
            settled = true;
            resolvePromise({ ...m.result, bytes: new Uint8Array(m.result.bytes) });
          } else if (m.type === 'error') {
            settled = true;
            reject(deserializeError(m.error));
          }
        });
        child.on('error', (e) => {
          if (!settled) {
            settled = true;
            reject(e);
          }
        });
        child.on('exit', (code, signal) => {
          if (settled) return;
          settled = true;
          const tail = stderr.trim().split('\n').slice(-20).join('\n');
          reject(
            new BuildError('LINK_FAILED', `the build of ${request.source} ended unexpectedly (${signal ? `signal ${signal}` : `exit ${code}`})`, {
              file: request.source,
              output: tail,
              hint: 'a crash in clang or libLLVM; the bundler keeps running. Run `bpf-linker` on the object by hand with --log-level=debug to see more, and report it',
            }),
          );
        });
        child.send({ request } satisfies WorkerRequest);
      });
    } finally {
      this.release();
    }
  }
}

/** A worker's error as the error type the core would have thrown. */
export function deserializeError(e: SerializedError): Error {
  if (e.code === 'COMPILE_FAILED' || e.code === 'CARGO_FAILED') {
    return new SingleObjectBuildError(e.message, {
      code: e.code,
      file: e.file ?? '',
      output: e.output ?? '',
      hint: e.hint ?? '',
      diagnostic: e.diagnostic as SingleObjectBuildError['diagnostic'],
    });
  }
  if (e.code) return new BuildError(e.code as BuildError['code'], e.message, { file: e.file, hint: e.hint, output: e.output });
  const err = new Error(e.message);
  err.name = e.name;
  if (e.stack) err.stack = e.stack;
  return err;
}
