/**
 * Code generation of several modules at once, each in its own LLVM context on a worker thread.
 *
 * Why threads and not processes: libLLVM is already loaded and its process-global options set
 * (they stay set once, for every thread); a worker only declares the few functions it needs.
 * The link is synchronous (linkSync), so the calling thread waits on a shared counter and reads
 * the results with receiveMessageOnPort, without an event loop turn.
 *
 * Each task is bitcode (a module serialized in the main context); the worker parses it in a fresh
 * context, so no LLVM object is ever shared between threads.
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { llvmDeclarations } from './api';
import type { LlvmDiagnostic } from './context';
import { restoreFatalErrorHandler, type LlvmLibrary } from './library';

export interface CodegenTarget {
  triple: string;
  cpu: string;
  features: string;
}

export interface CodegenResult {
  object: Uint8Array;
  diagnostics: LlvmDiagnostic[];
  /** Wall time of this module's parse and code generation in its worker. */
  ms: number;
}

const WORKER_FUNCTIONS = [
  'LLVMContextCreate',
  'LLVMContextDispose',
  'LLVMContextSetDiagnosticHandler',
  'LLVMGetDiagInfoSeverity',
  'LLVMGetDiagInfoDescription',
  'LLVMDisposeMessage',
  'LLVMCreateMemoryBufferWithMemoryRangeCopy',
  'LLVMGetBufferStart',
  'LLVMGetBufferSize',
  'LLVMDisposeMemoryBuffer',
  'LLVMParseBitcodeInContext2',
  'LLVMDisposeModule',
  'LLVMGetTargetFromTriple',
  'LLVMCreateTargetMachine',
  'LLVMDisposeTargetMachine',
  'LLVMTargetMachineEmitToMemoryBuffer',
] as const;

/**
 * The worker, as CommonJS source run with `eval` (the CLI is one bundled file, so there is no
 * worker file to point at). Tasks are taken from a shared counter, so a slow module does not hold
 * up the others; every task posts exactly one message, then counts itself done.
 */
const WORKER_SOURCE = String.raw`
const { workerData } = require('node:worker_threads');
const { koffiPath, libraryPath, declarations, tasks, next, done, port, target } = workerData;
const LEVELS = { 0: 'error', 1: 'warning', 2: 'remark', 3: 'note' };
let api;
let tm;
try {
  const koffi = require(koffiPath);
  const handle = koffi.load(libraryPath);
  api = {};
  for (const [name, decl] of Object.entries(declarations)) api[name] = handle.func(decl);
  const proto = koffi.proto('void BpfLinkerWorkerDiagnosticHandler(void *info, void *ctx)');
  const t = [null];
  const err = [null];
  if (api.LLVMGetTargetFromTriple(target.triple, t, err) !== 0) throw new Error('unknown target ' + target.triple);
  // CodeGenOptLevel.Aggressive, RelocMode.Default, CodeModel.Default: as createTargetMachine.
  tm = api.LLVMCreateTargetMachine(t[0], target.triple, target.cpu, target.features, 3, 0, 0);
  if (tm === null) throw new Error('LLVMCreateTargetMachine returned NULL');
  for (;;) {
    const i = Atomics.add(next, 0, 1);
    if (i >= tasks.length) break;
    const start = performance.now();
    const diagnostics = [];
    const ctx = api.LLVMContextCreate();
    const callback = koffi.register((info) => {
      const p = api.LLVMGetDiagInfoDescription(info);
      diagnostics.push({ level: LEVELS[api.LLVMGetDiagInfoSeverity(info)] || 'note', message: koffi.decode(p, 'char', -1) });
      api.LLVMDisposeMessage(p);
    }, koffi.pointer(proto));
    api.LLVMContextSetDiagnosticHandler(ctx, callback, null);
    try {
      const bytes = new Uint8Array(tasks[i].bitcode);
      const buf = api.LLVMCreateMemoryBufferWithMemoryRangeCopy(bytes, bytes.length, tasks[i].name);
      const mod = [null];
      const failed = api.LLVMParseBitcodeInContext2(ctx, buf, mod);
      api.LLVMDisposeMemoryBuffer(buf);
      if (failed !== 0 || mod[0] === null) throw new Error('cannot read ' + tasks[i].name + ': ' + diagnostics.map((d) => d.message).join('; '));
      const why = [null];
      const out = [null];
      try {
        if (api.LLVMTargetMachineEmitToMemoryBuffer(tm, mod[0], 1, why, out) !== 0 || out[0] === null) {
          const text = why[0] !== null ? koffi.decode(why[0], 'char', -1) : 'code generation failed';
          if (why[0] !== null) api.LLVMDisposeMessage(why[0]);
          throw new Error(text);
        }
      } finally {
        api.LLVMDisposeModule(mod[0]);
      }
      const size = api.LLVMGetBufferSize(out[0]);
      const object = new Uint8Array(koffi.view(api.LLVMGetBufferStart(out[0]), size).slice(0));
      api.LLVMDisposeMemoryBuffer(out[0]);
      port.postMessage({ index: i, object, diagnostics, ms: performance.now() - start }, [object.buffer]);
    } catch (e) {
      port.postMessage({ index: i, error: String(e && e.message || e), diagnostics });
    } finally {
      api.LLVMContextDispose(ctx);
      koffi.unregister(callback);
      Atomics.add(done, 0, 1);
      Atomics.notify(done, 0);
    }
  }
} catch (e) {
  port.postMessage({ fatal: String(e && e.message || e) });
  Atomics.store(done, 1, 1);
  Atomics.notify(done, 0);
} finally {
  if (tm) api.LLVMDisposeTargetMachine(tm);
  port.close();
}
`;

export class CodegenError extends Error {
  constructor(
    message: string,
    readonly task?: number,
    readonly diagnostics: LlvmDiagnostic[] = [],
  ) {
    super(message);
  }
}

/**
 * Generates an object for each bitcode module, `jobs` at a time; results in task order, so the
 * output never depends on which worker finished first.
 */
export function generateObjectsInWorkers(lib: LlvmLibrary, target: CodegenTarget, modules: { name: string; bitcode: Uint8Array }[], jobs: number): CodegenResult[] {
  if (modules.length === 0) return [];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const koffiPath = require.resolve('koffi');
  const tasks = modules.map((m) => {
    const shared = new SharedArrayBuffer(m.bitcode.length);
    new Uint8Array(shared).set(m.bitcode);
    return { name: m.name, bitcode: shared };
  });
  const next = new Int32Array(new SharedArrayBuffer(4));
  // [0]: tasks finished; [1]: a worker failed before it could take tasks (it also posts why).
  const done = new Int32Array(new SharedArrayBuffer(8));
  const workers: Worker[] = [];
  const ports: MessagePort[] = [];
  // A worker thread cannot call back into this (waiting) thread: LLVM's own handler (print, then
  // abort; the crash watcher names the inputs) replaces ours while workers run.
  lib.api.LLVMResetFatalErrorHandler();
  try {
    const count = Math.max(1, Math.min(jobs, modules.length));
    const declarations = llvmDeclarations(WORKER_FUNCTIONS);
    for (let w = 0; w < count; w++) {
      const { port1, port2 } = new MessageChannel();
      ports.push(port1);
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { koffiPath, libraryPath: lib.path, declarations, tasks, next, done, target, port: port2 },
        transferList: [port2],
      });
      worker.unref();
      workers.push(worker);
    }
    const results: (CodegenResult | undefined)[] = new Array(modules.length);
    let received = 0;
    let firstError: CodegenError | undefined;
    while (received < modules.length) {
      const seen = Atomics.load(done, 0);
      for (const port of ports) for (let msg = receiveMessageOnPort(port); msg !== undefined; msg = receiveMessageOnPort(port)) {
        const m = msg.message as { index?: number; object?: Uint8Array; error?: string; fatal?: string; diagnostics?: LlvmDiagnostic[]; ms?: number };
        if (m.fatal !== undefined) throw new CodegenError(`a code generation worker failed to start: ${m.fatal}`);
        received++;
        if (m.error !== undefined) firstError ??= new CodegenError(m.error, m.index, m.diagnostics);
        else results[m.index!] = { object: m.object!, diagnostics: m.diagnostics ?? [], ms: m.ms ?? 0 };
      }
      if (received >= modules.length) break;
      Atomics.wait(done, 0, seen, 1000);
    }
    if (firstError) throw firstError;
    return results as CodegenResult[];
  } finally {
    for (const w of workers) void w.terminate();
    for (const p of ports) p.close();
    restoreFatalErrorHandler(lib);
  }
}
