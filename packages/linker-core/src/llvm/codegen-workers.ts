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
  'LLVMGetNamedMetadataNumOperands',
  'LLVMGetNamedMetadataOperands',
  'LLVMGetMDNodeNumOperands',
  'LLVMGetMDNodeOperands',
  'LLVMGetMDString',
  'LLVMReplaceMDNodeOperandWith',
  'LLVMValueAsMetadata',
  'LLVMInt32TypeInContext',
  'LLVMConstInt',
  'LLVMAddModuleFlag',
] as const;

/**
 * The worker, as CommonJS source run with `eval` (the CLI is one bundled file, so there is no
 * worker file to point at). Tasks are taken from a shared counter, so a slow module does not hold
 * up the others; every task posts exactly one message, then counts itself done.
 */
const WORKER_SOURCE = String.raw`
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { koffiPath, libraryPath, declarations, total, control, port, target } = workerData;
// control: [0] next task to take, [1] tasks published, [2] tasks finished, [3] a worker failed to start, [4] workers ended.
const tasks = [];
/**
 * Makes the code generator emit the module's BTF without DWARF, which the merge drops anyway
 * (about a third of code generation time). LLVM's AsmPrinter creates its DWARF writer unless the
 * module asks for CodeView and names no DWARF version (AsmPrinter::doInitialization), while the
 * BPF printer writes BTF for any module with compile units: so "Dwarf Version" becomes 0 and a
 * "CodeView" flag (emitted for Windows targets only) is added. .BTF and .BTF.ext stay the same
 * bytes (checked with llc-19 on the bench's 200-program module, and by the merged objects of the
 * tests). Done here, in the worker's own context: the flag's metadata node is uniqued, so changing
 * it in the main context would change the linked module's flags too.
 */
function withoutDwarf(koffi, ctx, mod) {
  if (api.LLVMGetNamedMetadataNumOperands(mod, 'llvm.dbg.cu') === 0) return;
  const count = api.LLVMGetNamedMetadataNumOperands(mod, 'llvm.module.flags');
  const flags = new BigUint64Array(count);
  if (count > 0) api.LLVMGetNamedMetadataOperands(mod, 'llvm.module.flags', flags);
  const i32 = api.LLVMInt32TypeInContext(ctx);
  for (const flag of flags) {
    // !{i32 behavior, !"key", value}
    if (api.LLVMGetMDNodeNumOperands(flag) !== 3) continue;
    const ops = new BigUint64Array(3);
    api.LLVMGetMDNodeOperands(flag, ops);
    const len = [0];
    const key = ops[1] ? api.LLVMGetMDString(ops[1], len) : null;
    if (key !== null && len[0] > 0 && Buffer.from(koffi.view(key, len[0])).toString() === 'Dwarf Version') {
      api.LLVMReplaceMDNodeOperandWith(flag, 2, api.LLVMValueAsMetadata(api.LLVMConstInt(i32, 0, 0)));
    }
  }
  // LLVMModuleFlagBehavior Warning (1).
  api.LLVMAddModuleFlag(mod, 1, 'CodeView', 8, api.LLVMValueAsMetadata(api.LLVMConstInt(i32, 1, 0)));
}

/** Task i, once the main thread has published it (tasks arrive while earlier ones are generated). */
function task(i) {
  for (;;) {
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) tasks[m.message.index] = m.message;
    if (tasks[i] !== undefined) return tasks[i];
    Atomics.wait(control, 1, Atomics.load(control, 1), 1000);
  }
}
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
    const i = Atomics.add(control, 0, 1);
    if (i >= total) break;
    const t = task(i);
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
      const bytes = new Uint8Array(t.bitcode);
      const buf = api.LLVMCreateMemoryBufferWithMemoryRangeCopy(bytes, bytes.length, t.name);
      const mod = [null];
      const failed = api.LLVMParseBitcodeInContext2(ctx, buf, mod);
      api.LLVMDisposeMemoryBuffer(buf);
      if (failed !== 0 || mod[0] === null) throw new Error('cannot read ' + t.name + ': ' + diagnostics.map((d) => d.message).join('; '));
      withoutDwarf(koffi, ctx, mod[0]);
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
      Atomics.add(control, 2, 1);
      Atomics.notify(control, 2);
    }
  }
} catch (e) {
  port.postMessage({ fatal: String(e && e.message || e) });
  Atomics.store(control, 3, 1);
  Atomics.notify(control, 2);
} finally {
  if (tm) api.LLVMDisposeTargetMachine(tm);
  port.close();
  // The main thread waits for this: a worker stopped while it is still starting (loading koffi)
  // can take the process down.
  Atomics.add(control, 4, 1);
  Atomics.notify(control, 4);
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
 * Generates an object for each of `count` modules, `jobs` at a time, while `produce` builds the
 * next module on this thread: the workers start first, and each module is handed over as soon as
 * it is built. Results come back in task order, so the output never depends on which worker
 * finished first.
 */
export function generateObjectsInWorkers(
  lib: LlvmLibrary,
  target: CodegenTarget,
  count: number,
  produce: (index: number) => { name: string; bitcode: Uint8Array },
  jobs: number,
): CodegenResult[] {
  if (count === 0) return [];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const koffiPath = require.resolve('koffi');
  const control = new Int32Array(new SharedArrayBuffer(20));
  const workers: Worker[] = [];
  const ports: MessagePort[] = [];
  // A worker thread cannot call back into this (waiting) thread: LLVM's own handler (print, then
  // abort; the crash watcher names the inputs) replaces ours while workers run.
  lib.api.LLVMResetFatalErrorHandler();
  try {
    const declarations = llvmDeclarations(WORKER_FUNCTIONS);
    for (let w = 0; w < Math.max(1, Math.min(jobs, count)); w++) {
      const { port1, port2 } = new MessageChannel();
      ports.push(port1);
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { koffiPath, libraryPath: lib.path, declarations, total: count, control, target, port: port2 },
        transferList: [port2],
      });
      worker.unref();
      workers.push(worker);
    }
    const results: (CodegenResult | undefined)[] = new Array(count);
    let received = 0;
    let firstError: CodegenError | undefined;
    const collect = () => {
      for (const port of ports) for (let msg = receiveMessageOnPort(port); msg !== undefined; msg = receiveMessageOnPort(port)) {
        const m = msg.message as { index?: number; object?: Uint8Array; error?: string; fatal?: string; diagnostics?: LlvmDiagnostic[]; ms?: number };
        if (m.fatal !== undefined) throw new CodegenError(`a code generation worker failed to start: ${m.fatal}`);
        received++;
        if (m.error !== undefined) firstError ??= new CodegenError(m.error, m.index, m.diagnostics);
        else results[m.index!] = { object: m.object!, diagnostics: m.diagnostics ?? [], ms: m.ms ?? 0 };
      }
    };
    for (let i = 0; i < count; i++) {
      const { name, bitcode } = produce(i);
      // Shared, not copied: every worker is told, the one that takes the task reads it.
      const shared = new SharedArrayBuffer(bitcode.length);
      new Uint8Array(shared).set(bitcode);
      for (const port of ports) port.postMessage({ index: i, name, bitcode: shared });
      Atomics.add(control, 1, 1);
      Atomics.notify(control, 1);
      collect();
    }
    while (received < count) {
      const seen = Atomics.load(control, 2);
      collect();
      if (received >= count) break;
      Atomics.wait(control, 2, seen, 1000);
    }
    if (firstError) throw firstError;
    // Every worker finds no task left and ends; one still starting ends right after it started.
    const deadline = Date.now() + 30_000;
    for (let ended = Atomics.load(control, 4); ended < workers.length && Date.now() < deadline; ended = Atomics.load(control, 4)) {
      Atomics.wait(control, 4, ended, 1000);
    }
    return results as CodegenResult[];
  } finally {
    // Only workers that did not end (after an error) are stopped.
    if (Atomics.load(control, 4) < workers.length) for (const w of workers) void w.terminate();
    for (const p of ports) p.close();
    restoreFatalErrorHandler(lib);
  }
}
