/**
 * link(options): everything a link does, as the list of stages. Every integration (CLI, Nx,
 * Turborepo, bundler plugin) calls this.
 */
import { mkdirSync, statSync } from 'node:fs';
import { endianness } from 'node:os';
import { join, resolve } from 'node:path';
import { compileTimeoutBaseMs, crashStep, startCrashGuard } from '../crash-guard';
import { LinkError, describeInputs, describeOrigin } from '../errors';
import { readInputs } from '../inputs';
import type { InputUnit, SkippedInput } from '../inputs/types';
import { silentLogger, type Logger } from '../log';
import type { LinkOptions, OutputKind } from '../options';
import { LlvmContext, type LlvmDiagnostic } from '../llvm/context';
import { libraryName, setGlobalOptions, type LlvmLibrary } from '../llvm/library';
import { returnFreedMemory } from '../llvm/api';
import { CodegenError, type ModuleSymbol } from '../llvm/codegen-workers';
import { compileUnits } from '../llvm/debug-info';
import { LlvmCallError, moduleTriple, parseBitcode, printModule } from '../llvm/module';
import { checkLlvmArgs } from '../llvm/options-check';
import { createTargetMachine } from '../llvm/target';
import { formatVersion, type ModuleRef } from '../llvm/types';
import { chooseLlvm } from './choose-llvm';
import { coreSettings, rewriteCoreAccesses, type CoreReport } from './core-access';
import { prepareDebugInfo } from './debug-info';
import { emit } from './emit';
import { decideExports, type ExportMode } from './exports';
import { llvmGlobalOptions } from './global-options';
import { canExpandMemcpyInOrder, definedLibcalls, unsupportedLibcall } from './memory-builtins';
import { definesBtfMaps } from './exports';
import { internalize, removeNoInline } from './internalize';
import { linkModules } from './link-modules';
import { optimize } from './optimize';
import { planPartitions, type PartitionDecision, type PartitionStage } from './partition';
import { defaultJobs, generatePartitioned, type Partitioning } from './partitioned-codegen';
import { MergeError, canMergeObjects } from './merge-objects';
import { selectMembers } from './select-members';
import { undefinedAcross, undefinedReferences, undefinedSymbolsError } from './undefined-symbols';
import { useVerifiableBuiltins } from './verifiable-builtins';
import { checkOutputs, writeFileAtomically, type RunFiles } from './output';
import { InputDefinitions, definitionsOf, moduleDefinitions, type LinkReport } from './report';
import { chooseTarget, cpuFromInputs, readInputTarget, type InputTarget, type TargetChoice } from './target-cpu';
import { StageTimer, type StageTimings } from './timings';

export interface LinkEnvironment {
  logger?: Logger;
  /** Environment used to find rustc's libLLVM (PATH, LD_LIBRARY_PATH, RUSTC). Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Fill LinkResult.report (the CLI's --report). Off by default: it walks every symbol twice. */
  report?: boolean;
  /** Files the caller reads or writes around the link (--export-symbols, --report, --log-file), checked with the link's own. */
  files?: RunFiles;
}

export interface LinkResult {
  /** The path written, when options.output was given. */
  output?: string;
  bytes: Uint8Array;
  emit: OutputKind;
  llvm: { path: string; version: string };
  triple: string;
  /** The CPU and features the code was generated for, and why (--cpu, the inputs, the default). */
  target: TargetChoice;
  exportMode: ExportMode;
  /** Definitions that kept external linkage. */
  exported: string[];
  /** Definitions given internal linkage. */
  internalized: string[];
  /** Functions whose BTF FUNC was made static (--btf). */
  localizedSubprograms: string[];
  skipped: SkippedInput[];
  diagnostics: LlvmDiagnostic[];
  timings: StageTimings;
  /** With environment.report: which input defined each symbol, and what was exported, internalized or removed. */
  report?: LinkReport;
  /** What the CO-RE stage rewrote and left alone (when CO-RE was asked for). */
  core?: CoreReport;
  /** Code generation as partitions: how the module was split, per-partition times; absent for one module. */
  partitioning?: Partitioning;
  /** Why the module was or was not partitioned (`--partitions`). */
  partitionDecision: string;
}

/**
 * An error diagnostic that is not one: a libcall to a memory builtin the module defines (BPF ISel
 * reports every libcall as an error but still emits the call, LLVM D155894).
 */
export function isIgnoredDiagnostic(d: LlvmDiagnostic, defined: ReadonlySet<string>): boolean {
  const call = unsupportedLibcall(d);
  return call !== undefined && defined.has(call);
}

/**
 * Error diagnostics are printed once, at the end of the link: inside the link's error when it
 * fails because of them (a duplicate symbol, --fatal-errors), else as [ERROR] lines (see
 * reportErrorDiagnostics). Here they only reach the debug log, in order with the rest.
 */
function logDiagnostic(logger: Logger, d: LlvmDiagnostic, defined: ReadonlySet<string>): void {
  const text = `llvm: ${d.message.trimEnd()}`;
  if (isIgnoredDiagnostic(d, defined)) logger.debug(`${text} (ignored: the module defines it)`);
  else if (d.level === 'error') logger.debug(`${text} (error: reported at the end of the link)`);
  else if (d.level === 'warning') logger.warn(text);
  else logger.debug(text);
}

/** Logs the error diagnostics that `failure` (the link's error, if it failed) does not already say. */
function reportErrorDiagnostics(logger: Logger, diagnostics: readonly LlvmDiagnostic[], defined: ReadonlySet<string>, failure?: unknown): void {
  const said = failure instanceof Error ? failure.message : '';
  for (const d of diagnostics) {
    if (d.level !== 'error' || isIgnoredDiagnostic(d, defined)) continue;
    const message = d.message.trimEnd();
    if (!said.includes(message) && !(failure instanceof LinkError && failure.code === 'DUPLICATE_SYMBOL' && MULTIPLY_DEFINED.test(message))) {
      logger.error(`llvm: ${message}`);
    }
  }
}

const MULTIPLY_DEFINED = /symbol multiply defined!$/;

/** The target triple: --target, else the module's own if it is a BPF one, else `bpf` (host endianness). */
export function chooseTriple(requested: string | undefined, moduleTriple: string): string {
  if (requested) return requested;
  if (moduleTriple.startsWith('bpf')) return moduleTriple;
  return 'bpf';
}

/**
 * A time limit for optimizing and for generating code, each. LLVM can loop forever on some modules
 * (a corrupt input made the BPF code generators of LLVM 19 and 22 never return; llc does the
 * same on the module). Real links take seconds (codegen of the bench's 4,000-function input takes
 * 5 s), so the limit is far above them and grows with the input; the watcher stops the process
 * and names the inputs.
 */
export function compileLimit(units: InputUnit[]): { limitMs: number; stopHint: string } {
  const bytes = units.reduce((sum, u) => sum + u.bytes.length, 0);
  const limitMs = compileTimeoutBaseMs() + Math.round((bytes / 1_000_000) * 60_000);
  return {
    limitMs,
    stopHint:
      'LLVM did not finish: it loops forever on some modules (an LLVM bug: a corrupt input, or an unusual one); ' +
      `if the program is just very large, raise BPF_LINKER_CODEGEN_TIMEOUT (seconds; the limit was ${Math.round(limitMs / 1000)}), else try another libLLVM (--llvm-path)`,
  };
}

function llvmFailure(code: 'INVALID_TARGET' | 'PASSES_FAILED' | 'EMIT_FAILED', what: string) {
  return (e: unknown): never => {
    if (e instanceof LlvmCallError) throw new LinkError(code, `${what}: ${e.message}`, { cause: e });
    throw e;
  };
}

export function linkSync(options: LinkOptions, environment: LinkEnvironment = {}): LinkResult {
  const logger = environment.logger ?? silentLogger;
  const timer = new StageTimer();
  if (options.inputs.length === 0) {
    throw new LinkError('INVALID_ARGUMENT', 'no input files', { hint: 'pass at least one bitcode file, object or archive' });
  }
  // Before any work: no output may destroy an input or a device, or collide with another.
  checkOutputs(options, environment.files);
  if (options.sourceRoot !== undefined && !isDirectory(options.sourceRoot)) {
    throw new LinkError('INVALID_ARGUMENT', `--source-root ${options.sourceRoot}: not a directory`, { hint: 'give the directory the compiler ran in (relative source paths of the debug info are read from it)' });
  }
  const core = coreSettings(options, logger);

  // Native code is about to parse untrusted inputs: a crash inside it is reported, naming the input.
  startCrashGuard('bpf-linker', environment.env);
  const inputs = timer.run('read', () => readInputs(options.inputs, logger, { maxInputSize: options.maxInputSize }));
  if (inputs.units.length === 0) {
    // Name what was skipped and why: the skips are logged at info level, which nobody sees by default.
    const skipped = inputs.skipped.map((k) => `${describeOrigin(k.origin.file, k.origin.member)} (${k.reason})`);
    const list = skipped.length <= 5 ? skipped.join(', ') : `${skipped.slice(0, 5).join(', ')} and ${skipped.length - 5} more`;
    throw new LinkError('NO_BITCODE', `none of the inputs contains LLVM bitcode or IR${list ? `: skipped ${list}` : ''}`, {
      hint: 'compile with clang -emit-llvm (or -flto), or pass rustc codegen units / rlibs',
    });
  }
  const selection = timer.run('select', () => selectMembers(inputs.units, options, logger));
  const units = selection.units;
  const skipped = [...inputs.skipped, ...selection.unused];
  const { library: lib } = timer.run('choose-llvm', () => chooseLlvm(units, { llvmPath: options.llvmPath, env: environment.env }, logger));
  /** Memory builtins the linked module defines (rustc's compiler_builtins does; C does not). */
  let definedBuiltins = new Set<string>();
  const ctx = new LlvmContext(lib, (d) => logDiagnostic(logger, d, definedBuiltins));
  let module: ModuleRef | undefined;
  // About 150 ms for 20,000 functions, so only when asked for.
  const definitions = environment.report ? new InputDefinitions(lib) : undefined;
  // What each input was compiled for (target-cpu, target-features), read before merging; skipped
  // when --cpu and --cpu-features decide and nothing reports it.
  const inputTargets: InputTarget[] = [];
  const readTargets = cpuFromInputs(options) || environment.report === true || logger.enabled('info');
  const observe =
    definitions || readTargets
      ? (unit: InputUnit, m: ModuleRef) => {
          definitions?.record(unit, m);
          if (!readTargets) return;
          const t = readInputTarget(lib, unit, m);
          if (t) inputTargets.push(t);
        }
      : undefined;
  try {
    module = timer.run('link', () => linkModules(ctx, units, logger, undefined, observe));
    const m = module;
    if (!options.disableMemoryBuiltins) timer.run('link', () => useVerifiableBuiltins(ctx, m, logger));
    definedBuiltins = definedLibcalls(lib, m);
    // Global options are read when the target machine is created, so they are set here, once
    // the module shows whether memset/memmove calls would resolve.
    const expandInOrder = !options.disableExpandMemcpyInOrder && canExpandMemcpyInOrder(definedBuiltins);
    if (!options.disableExpandMemcpyInOrder && !expandInOrder) {
      logger.debug('not passing --bpf-expand-memcpy-in-order: the module does not define memset and memmove, so LLVM must expand them inline');
    }
    checkLlvmArgs(lib, options.llvmArgs);
    setGlobalOptions(lib, llvmGlobalOptions({ ...options, disableExpandMemcpyInOrder: !expandInOrder }));
    if (!options.btf && definesBtfMaps(lib, m)) {
      logger.warn('the inputs define maps in .maps, which libbpf can only load with BTF: pass --btf (and compile with -g)');
    }
    const triple = chooseTriple(options.target, moduleTriple(lib, m));
    // LLVM's BPF backend ignores the functions' target-cpu: the target machine's CPU is the one used.
    const target = chooseTarget(options, inputTargets, logger);
    const tm = (() => {
      try {
        return createTargetMachine(lib, triple, target.cpu, target.features);
      } catch (e) {
        return llvmFailure('INVALID_TARGET', `invalid LLVM target ${triple}`)(e);
      }
    })();
    try {
      dumpModule(options.dumpModule, 'pre-opt.ll', () => printModule(lib, m));
      const exports = decideExports(lib, m, options);
      const di = timer.run('debug-info', () => prepareDebugInfo(ctx, m, exports, options.btf, logger));
      const internalized = timer.run('internalize', () => {
        if (options.ignoreInlineNever) removeNoInline(lib, m);
        return internalize(lib, m, exports, logger);
      });
      const coreReport = core ? timer.run('core', () => rewriteCoreAccesses(ctx, m, core, logger)) : undefined;
      const linked = `the module linked from ${describeInputs(units.map((u) => describeOrigin(u.origin.file, u.origin.member)))}`;
      const native = { library: libraryName(lib), file: linked, ...compileLimit(units) };
      // A big module whose programs share no static helper is split before optimization, and its
      // partitions are optimized in parallel too; any other is optimized whole (and may be split
      // after that, helpers copied). --dump-module wants the optimized module whole.
      const early: PartitionDecision =
        options.emit === 'obj' && options.dumpModule === undefined
          ? timer.run('partition', () => decidePartitions(lib, m, options, 'before-optimization'))
          : { split: false, reason: options.emit === 'obj' ? '--dump-module' : `--emit ${options.emit}` };
      let report: LinkReport | undefined;
      const reportFacts = { exportMode: exports.mode, internalized, skipped, target, core: coreReport };
      const checkUndefined = (missing: () => string[]) => {
        // An object (or its assembly) is the end product: everything it refers to must be there.
        if (options.allowUndefined || (options.emit !== 'obj' && options.emit !== 'asm')) return;
        const names = missing();
        if (names.length > 0) throw undefinedSymbolsError(names, units);
      };
      let decision = early;
      if (!early.split) {
        timer.run('optimize', () => {
          try {
            crashStep({ step: 'optimizing', ...native }, () => optimize(lib, m, tm, options.optLevel));
          } catch (e) {
            llvmFailure('PASSES_FAILED', 'LLVMRunPasses failed')(e);
          }
        });
        dumpModule(options.dumpModule, 'post-opt.ll', () => printModule(lib, m));
        checkUndefined(() => undefinedReferences(lib, m));
        // Before code generation, which may still change the IR of a single module.
        report = definitions?.report(moduleDefinitions(lib, m), reportFacts);
        decision = options.emit === 'obj' ? timer.run('partition', () => decidePartitions(lib, m, options, 'after-optimization')) : { split: false, reason: `--emit ${options.emit}` };
        // Say why it was not split before optimization (usually: the programs share helpers).
        if (decision.split) decision = { ...decision, reason: `${decision.reason}; after optimization (before it: ${early.reason})` };
      }
      logger.debug(`partitions: ${decision.split ? 'split' : 'one module'} (${decision.reason})`);
      let partitioning: Partitioning | undefined;
      let symbols: ModuleSymbol[] | undefined;
      /** The module read back from bitcode (after its memory was released), optimized if it was not, as one object. */
      const oneModuleFrom = (bitcode: Uint8Array, optimizeFirst: boolean): Uint8Array => {
        const again = new LlvmContext(lib, (d) => {
          ctx.diagnostics.push(d);
          logDiagnostic(logger, d, definedBuiltins);
        });
        try {
          const whole = parseBitcode(again, bitcode, 'the linked module');
          try {
            if (optimizeFirst) timer.run('optimize', () => optimize(lib, whole, tm, options.optLevel));
            return timer.run('codegen', () => emit(lib, whole, tm, options.emit));
          } finally {
            lib.api.LLVMDisposeModule(whole);
          }
        } finally {
          again.dispose();
        }
      };
      const bytes = (() => {
        try {
          // On worker threads a fatal LLVM error aborts the process (see llvm/codegen-workers.ts): the
          // watcher reports it, after LLVM's own "LLVM ERROR:" line.
          const hint = decision.split
            ? "LLVM stopped with a fatal error while generating a partition (its message is above): usually a program LLVM cannot compile for BPF (a jump beyond 16-bit offsets: try --cpu v4); --partitions off reports it as the link's error"
            : undefined;
          const optimizing = decision.split && decision.plan.stage === 'before-optimization';
          const step = optimizing ? { step: 'optimizing and generating code for', ...native, limitMs: native.limitMs * 2 } : { step: 'generating code for', ...native };
          // The BPF backend reads BTF line text relative to the working directory (see inSourceRoot):
          // partitions are generated on worker threads of this process, which share it.
          return crashStep({ ...step, ...(hint && { hint }) }, () => inSourceRoot(options.sourceRoot, () => {
            if (!decision.split) return timer.run('codegen', () => emit(lib, m, tm, options.emit));
            const jobs = options.jobs ?? defaultJobs();
            let out: ReturnType<typeof generatePartitioned>;
            // The partitions are built from the module's bitcode, and the module is only needed
            // again if the merge fails: it is kept as bitcode, and its memory (the module and the
            // link's context) is given back before the workers need theirs.
            let kept: Uint8Array | undefined;
            const release = (bitcode: Uint8Array) => {
              kept = bitcode;
              lib.api.LLVMDisposeModule(m);
              module = undefined;
              ctx.dispose();
              returnFreedMemory();
            };
            try {
              out = generatePartitioned(ctx, m, { triple, cpu: target.cpu, features: target.features }, decision.plan, decision.reason, jobs, timer, options.optLevel, release);
            } catch (e) {
              if (!(e instanceof MergeError) || kept === undefined) throw e;
              // Partitions are only a faster way to the same object: one module it is.
              decision = { split: false, reason: `${decision.reason}; merging failed (${e.message}), so one module` };
              if (typeof options.partitions === 'number') logger.warn(`partitions: ${decision.reason}`);
              else logger.debug(`partitions: ${decision.reason}`);
              return oneModuleFrom(kept, optimizing);
            }
            for (const d of out.diagnostics) {
              ctx.diagnostics.push(d);
              logDiagnostic(logger, d, definedBuiltins);
            }
            partitioning = out.partitioning;
            symbols = out.symbols;
            return out.bytes;
          }));
        } catch (e) {
          if (e instanceof CodegenError) throw new LinkError('EMIT_FAILED', `code generation failed: ${e.message}`, { cause: e });
          return llvmFailure('EMIT_FAILED', 'code generation failed')(e);
        }
      })();
      // Optimized apart, the partitions tell what is left after optimization.
      if (symbols !== undefined) {
        const all = symbols;
        checkUndefined(() => undefinedAcross(all));
        report = definitions?.report(definitionsOf(all), reportFacts);
      }
      if (report) report.partitions = { split: partitioning !== undefined, reason: decision.reason, ...(partitioning && { details: partitioning }) };

      const errors = ctx.diagnostics.filter((d) => d.level === 'error' && !isIgnoredDiagnostic(d, definedBuiltins));
      if (errors.length > 0 && options.fatalErrors) {
        throw new LinkError('LLVM_DIAGNOSTIC_ERRORS', `LLVM issued diagnostic with error severity while compiling ${linked}:\n${errors.map((d) => `  ${d.message.trimEnd()}`).join('\n')}`, {
          hint: errors.some((d) => unsupportedLibcall(d))
            ? 'the object would call a function nothing defines, and the kernel cannot load it: make the copy/fill smaller (LLVM inlines small ones) or write it as a loop; --fatal-errors=false writes the output anyway'
            : 'fix the reported problem; --fatal-errors=false writes the output anyway',
        });
      }
      if (options.output) {
        const out = options.output;
        timer.run('write', () => writeFileAtomically(out, bytes));
      }
      reportErrorDiagnostics(logger, ctx.diagnostics, definedBuiltins);
      return {
        output: options.output,
        bytes,
        emit: options.emit,
        llvm: { path: lib.path, version: formatVersion(lib.version) },
        triple,
        target,
        exportMode: exports.mode,
        exported: exports.kept,
        internalized,
        localizedSubprograms: di.localizedSubprograms,
        skipped,
        diagnostics: [...ctx.diagnostics],
        timings: timer.timings,
        ...(report && { report }),
        ...(coreReport && { core: coreReport }),
        ...(partitioning && { partitioning }),
        partitionDecision: decision.reason,
      };
    } finally {
      tm.dispose();
    }
  } catch (e) {
    reportErrorDiagnostics(logger, ctx.diagnostics, definedBuiltins, e);
    throw e;
  } finally {
    if (module !== undefined) lib.api.LLVMDisposeModule(module);
    ctx.dispose();
  }
}

/** Promise form of linkSync, for integrations that expect one. */
export async function link(options: LinkOptions, environment: LinkEnvironment = {}): Promise<LinkResult> {
  return linkSync(options, environment);
}

/**
 * Runs codegen with the working directory at `sourceRoot`: the BPF backend reads each source line
 * it records in BTF line info from the debug info's file name, relative to the working directory
 * (BTFDebug::populateFileContent), and a file it cannot read gets an empty line. Codegen runs in
 * memory, so nothing else resolves a path meanwhile.
 */
function inSourceRoot<T>(sourceRoot: string | undefined, fn: () => T): T {
  const previous = process.cwd();
  if (sourceRoot === undefined || resolve(sourceRoot) === previous) return fn();
  try {
    process.chdir(sourceRoot);
  } catch (e) {
    // Checked to be a directory before the link: what remains is a worker thread (or a race).
    throw new LinkError('INVALID_ARGUMENT', `--source-root ${sourceRoot}: cannot change the working directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
      hint: 'a worker thread cannot: link in the main thread or in a child process',
      cause: e,
    });
  }
  try {
    return fn();
  } finally {
    process.chdir(previous);
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Whether to split: only objects, only when libbpf's linker is there to merge (an explicit count
 * without it is an error, `auto` quietly keeps one module), and only as planPartitions allows.
 */
function decidePartitions(lib: LlvmLibrary, m: ModuleRef, options: LinkOptions, stage: PartitionStage): PartitionDecision {
  const setting = options.partitions ?? 'auto';
  if (setting === 'off') return { split: false, reason: '--partitions off' };
  // libbpf's linker needs BTF in every object it merges; without debug info, code generation
  // is linear in the module anyway (the quadratic term is BTF's).
  if (compileUnits(lib, m).length === 0) return { split: false, reason: "no debug info: libbpf's linker merges only objects with BTF (link with --btf)" };
  // libbpf's linker merges objects of the host's byte order only.
  const bigEndian = lib.api.LLVMGetDataLayoutStr(m).startsWith('E');
  if (bigEndian !== (endianness() === 'BE')) return { split: false, reason: `libbpf's linker cannot merge ${bigEndian ? 'big' : 'little'}-endian objects on this ${endianness() === 'BE' ? 'big' : 'little'}-endian host` };
  const decision = planPartitions(lib, m, setting, stage);
  if (decision.split && !canMergeObjects()) {
    if (setting === 'auto') return { split: false, reason: 'auto: libbpf (bpf_linker__new) is not available to merge partitions' };
    throw new LinkError('LIBBPF_NOT_FOUND', `--partitions ${setting} needs libbpf's static linker (bpf_linker__new) to merge the partitions, and it cannot be loaded`, {
      hint: 'install libbpf 1.x (Debian/Ubuntu: apt-get install libbpf1), or use --partitions off',
    });
  }
  return decision;
}

function dumpModule(dir: string | undefined, name: string, text: () => string): void {
  if (!dir) return;
  try {
    mkdirSync(dir, { recursive: true });
    // Atomically, like the object: a failed or killed link never leaves half a dump.
    writeFileAtomically(join(dir, name), text());
  } catch (e) {
    const why = e instanceof LinkError ? e.message.replace(/^cannot write \S+: /, '') : (e as Error).message;
    throw new LinkError('OUTPUT_FAILED', `cannot write ${join(dir, name)} for --dump-module: ${why}`, {
      file: join(dir, name),
      cause: e,
    });
  }
}
