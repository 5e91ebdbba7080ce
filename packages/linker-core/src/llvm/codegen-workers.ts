/**
 * Code generation of several modules at once, each in its own LLVM context on a worker thread.
 *
 * Why threads and not processes: libLLVM is already loaded and its process-global options set
 * (they stay set once, for every thread); a worker only declares the few functions it needs.
 * The link is synchronous (linkSync), so the calling thread waits on a shared counter and reads
 * the results with receiveMessageOnPort, without an event loop turn.
 *
 * Each task is bitcode (a module serialized in the link's context); the worker parses it in a
 * fresh context, so no LLVM object is ever shared between threads. A task built before
 * optimization carries the link's pass pipeline: the worker optimizes the module first.
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

/** A module to generate; with `passes`, optimized with that pipeline first. */
export interface CodegenTask {
  name: string;
  bitcode: Uint8Array;
  passes?: string;
}

/** A function or variable of an optimized module (what the link checks and reports after optimization). */
export interface ModuleSymbol {
  name: string;
  function: boolean;
  declaration: boolean;
  /** Something still refers to it. */
  used: boolean;
  linkage: number;
  section?: string;
}

export interface CodegenResult {
  object: Uint8Array;
  diagnostics: LlvmDiagnostic[];
  /** Wall time of this module's parse, optimization and code generation in its worker. */
  ms: number;
  /** Of `ms`, the optimization (0 without passes). */
  optimizeMs: number;
  /** The module's symbols after optimization (only for tasks with passes). */
  symbols?: ModuleSymbol[];
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
  'LLVMCreatePassBuilderOptions',
  'LLVMDisposePassBuilderOptions',
  'LLVMRunPasses',
  'LLVMGetErrorMessage',
  'LLVMDisposeErrorMessage',
  'LLVMGetFirstFunction',
  'LLVMGetNextFunction',
  'LLVMGetFirstGlobal',
  'LLVMGetNextGlobal',
  'LLVMIsDeclaration',
  'LLVMGetFirstUse',
  'LLVMGetValueName2',
  'LLVMGetLinkage',
  'LLVMGetSection',
] as const;

/**
 * The worker's task runner: one task, start to end, in a fresh context (parse, optimize with the
 * task's `passes`, generate). `api` declares WORKER_FUNCTIONS; a failure is an Error carrying the
 * task's diagnostics.
 */
const TASK_RUNNER_SOURCE = String.raw`
function createTaskRunner(api, koffi, target) {
  const diagnosticProto = koffi.proto('void BpfLinkerWorkerDiagnosticHandler(void *info, void *ctx)');
  const LEVELS = { 0: 'error', 1: 'warning', 2: 'remark', 3: 'note' };
  const t = [null];
  const err = [null];
  if (api.LLVMGetTargetFromTriple(target.triple, t, err) !== 0) throw new Error('unknown target ' + target.triple);
  // CodeGenOptLevel.Aggressive, RelocMode.Default, CodeModel.Default: as createTargetMachine.
  const tm = api.LLVMCreateTargetMachine(t[0], target.triple, target.cpu, target.features, 3, 0, 0);
  if (tm === null) throw new Error('LLVMCreateTargetMachine returned NULL');

  /**
   * Makes the code generator emit the module's BTF without DWARF, which the merge drops anyway
   * (about a third of code generation time). LLVM's AsmPrinter creates its DWARF writer unless the
   * module asks for CodeView and names no DWARF version (AsmPrinter::doInitialization), while the
   * BPF printer writes BTF for any module with compile units: so "Dwarf Version" becomes 0 and a
   * "CodeView" flag (emitted for Windows targets only) is added. .BTF and .BTF.ext stay the same
   * bytes (checked with llc-19 on the bench's 200-program module, and by the merged objects of the
   * tests). Done in the task's own context: the flag's metadata node is uniqued, so changing it in
   * the link's context would change the linked module's flags too.
   */
  function withoutDwarf(ctx, mod) {
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

  /** Runs a pass pipeline as llvm/target.ts runPasses does. */
  function runPasses(mod, passes) {
    const opts = api.LLVMCreatePassBuilderOptions();
    try {
      const e = api.LLVMRunPasses(mod, passes, tm, opts);
      if (e !== null) {
        const p = api.LLVMGetErrorMessage(e);
        const why = koffi.decode(p, 'char', -1);
        api.LLVMDisposeErrorMessage(p);
        throw new Error('LLVMRunPasses failed: ' + why);
      }
    } finally {
      api.LLVMDisposePassBuilderOptions(opts);
    }
  }

  /** The module's functions and variables, as plain data (see ModuleSymbol). */
  function moduleSymbols(mod) {
    const out = [];
    const add = (v, isFunction) => {
      const len = [0];
      const p = api.LLVMGetValueName2(v, len);
      const name = p === null || len[0] === 0 ? '' : Buffer.from(koffi.view(p, len[0])).toString();
      const section = api.LLVMGetSection(v);
      out.push({
        name,
        function: isFunction,
        declaration: api.LLVMIsDeclaration(v) !== 0,
        used: api.LLVMGetFirstUse(v) !== null,
        linkage: api.LLVMGetLinkage(v),
        ...(section ? { section } : {}),
      });
    };
    for (let f = api.LLVMGetFirstFunction(mod); f !== null; f = api.LLVMGetNextFunction(f)) add(f, true);
    for (let g = api.LLVMGetFirstGlobal(mod); g !== null; g = api.LLVMGetNextGlobal(g)) add(g, false);
    return out;
  }

  /** A CodegenResult, or an Error carrying the task's diagnostics. */
  function run(task) {
    const start = performance.now();
    const diagnostics = [];
    const ctx = api.LLVMContextCreate();
    const callback = koffi.register((info) => {
      const p = api.LLVMGetDiagInfoDescription(info);
      diagnostics.push({ level: LEVELS[api.LLVMGetDiagInfoSeverity(info)] || 'note', message: koffi.decode(p, 'char', -1) });
      api.LLVMDisposeMessage(p);
    }, koffi.pointer(diagnosticProto));
    api.LLVMContextSetDiagnosticHandler(ctx, callback, null);
    try {
      const bytes = new Uint8Array(task.bitcode);
      const buf = api.LLVMCreateMemoryBufferWithMemoryRangeCopy(bytes, bytes.length, task.name);
      const mod = [null];
      const failed = api.LLVMParseBitcodeInContext2(ctx, buf, mod);
      api.LLVMDisposeMemoryBuffer(buf);
      if (failed !== 0 || mod[0] === null) throw new Error('cannot read ' + task.name + ': ' + diagnostics.map((d) => d.message).join('; '));
      const why = [null];
      const out = [null];
      let optimizeMs = 0;
      let symbols;
      try {
        if (task.passes) {
          const begin = performance.now();
          runPasses(mod[0], task.passes);
          optimizeMs = performance.now() - begin;
          symbols = moduleSymbols(mod[0]);
        }
        withoutDwarf(ctx, mod[0]);
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
      return { object, diagnostics, ms: performance.now() - start, optimizeMs, ...(symbols ? { symbols } : {}) };
    } catch (e) {
      const failure = e instanceof Error ? e : new Error(String(e));
      failure.diagnostics = diagnostics;
      throw failure;
    } finally {
      api.LLVMContextDispose(ctx);
      koffi.unregister(callback);
    }
  }

  return { run, dispose: () => api.LLVMDisposeTargetMachine(tm) };
}
`;

/**
 * The worker, as CommonJS source run with `eval` (the CLI is one bundled file, so there is no
 * worker file to point at). Tasks are taken from a shared counter, so a slow module does not hold
 * up the others; every task posts exactly one message, then counts itself done.
 */
const WORKER_SOURCE =
  TASK_RUNNER_SOURCE +
  String.raw`
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { koffiPath, libraryPath, declarations, total, control, port, target } = workerData;
// control: [0] next task to take, [1] tasks published, [2] tasks finished, [3] a worker failed to start, [4] workers ended.
const tasks = [];
/** Task i, once the main thread has published it (tasks arrive while earlier ones are generated). */
function task(i) {
  for (;;) {
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) tasks[m.message.index] = m.message;
    if (tasks[i] !== undefined) return tasks[i];
    Atomics.wait(control, 1, Atomics.load(control, 1), 1000);
  }
}
let runner;
try {
  const koffi = require(koffiPath);
  const handle = koffi.load(libraryPath);
  const api = {};
  for (const [name, decl] of Object.entries(declarations)) api[name] = handle.func(decl);
  runner = createTaskRunner(api, koffi, target);
  for (;;) {
    const i = Atomics.add(control, 0, 1);
    if (i >= total) break;
    try {
      const r = runner.run(task(i));
      port.postMessage({ index: i, ...r }, [r.object.buffer]);
    } catch (e) {
      port.postMessage({ index: i, error: String((e && e.message) || e), diagnostics: (e && e.diagnostics) || [] });
    } finally {
      Atomics.add(control, 2, 1);
      Atomics.notify(control, 2);
    }
  }
} catch (e) {
  port.postMessage({ fatal: String((e && e.message) || e) });
  Atomics.store(control, 3, 1);
  Atomics.notify(control, 2);
} finally {
  if (runner) runner.dispose();
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
 *
 * This thread runs no task itself: LLVM's BTF writer orders forward declarations by the memory
 * addresses of their debug-info nodes (BTFDebug::endModule walks a map keyed by pointers), and on
 * this thread, whose heap the link has churned, the order of one partition would change from run
 * to run. A worker's heap holds only its own tasks, which keeps the output the same bytes.
 */
export function generateObjectsInWorkers(
  lib: LlvmLibrary,
  target: CodegenTarget,
  count: number,
  produce: (index: number) => CodegenTask,
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
        const m = msg.message as { index?: number; object?: Uint8Array; error?: string; fatal?: string; diagnostics?: LlvmDiagnostic[]; ms?: number; optimizeMs?: number; symbols?: ModuleSymbol[] };
        if (m.fatal !== undefined) throw new CodegenError(`a code generation worker failed to start: ${m.fatal}`);
        received++;
        if (m.error !== undefined) firstError ??= new CodegenError(m.error, m.index, m.diagnostics);
        else results[m.index!] = { object: m.object!, diagnostics: m.diagnostics ?? [], ms: m.ms ?? 0, optimizeMs: m.optimizeMs ?? 0, ...(m.symbols && { symbols: m.symbols }) };
      }
    };
    for (let i = 0; i < count; i++) {
      const task = produce(i);
      // Shared, not copied: every worker is told, the one that takes the task reads it.
      const shared = new SharedArrayBuffer(task.bitcode.length);
      new Uint8Array(shared).set(task.bitcode);
      for (const port of ports) port.postMessage({ index: i, name: task.name, bitcode: shared, passes: task.passes });
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
