/**
 * The loaded libLLVM: the only process-global state of the linker. A library is opened once per
 * path, its BPF target initialized once, its fatal-error handler installed once, and its
 * command-line options set once (LLVM keeps them process-global; a second link asking for
 * different options is refused rather than silently ignored).
 */
import { readFileSync, realpathSync, rmSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { crashGuardDone, currentCrashStep } from '../crash-guard';
import { LinkError } from '../errors';
import {
  FatalErrorHandlerProto,
  declareLlvmApi,
  exitImmediately,
  loadSharedLibrary,
  userStderrFd,
  registerCallback,
  type LlvmFunctions,
} from './api';
import { SUPPORTED_MAJORS } from './discovery';
import { formatVersion, type LlvmVersion } from './types';

export interface LlvmLibrary {
  readonly path: string;
  readonly version: LlvmVersion;
  readonly api: LlvmFunctions;
  /** The options passed to LLVMParseCommandLineOptions, once set. */
  globalOptions?: readonly string[];
}

const loaded = new Map<string, LlvmLibrary>();

/**
 * Files that must not survive a fatal LLVM error: LLVM calls exit() right after our handler
 * returns, so temporary outputs are removed here.
 */
const pendingOutputs = new Set<string>();

export function registerPendingOutput(path: string): void {
  pendingOutputs.add(path);
}

export function releasePendingOutput(path: string): void {
  pendingOutputs.delete(path);
}

function onFatalError(reason: string): void {
  for (const p of pendingOutputs) {
    try {
      rmSync(p, { force: true });
    } catch {
      // best effort: the process is about to exit
    }
  }
  const hint = /Branch target out of insn range/.test(reason)
    ? 'a jump is farther than 16-bit offsets reach: --cpu v4 has 32-bit jumps (gotol); or split the function or unroll less'
    : 'this is an LLVM bug or an input LLVM cannot compile for BPF; run with --log-level=debug and report it';
  // Inside a step, name its input and show what LLVM printed there (fd 2 may be a capture file).
  const step = currentCrashStep();
  const where = step ? ` while ${step.step} ${step.file ?? ''}`.trimEnd() : '';
  let said = '';
  if (step?.capture) {
    try {
      said = readFileSync(step.capture, 'latin1').replace(/[^\x20-\x7e\n]/g, '?').split('\n').find((l) => l.trim() !== '') ?? '';
      rmSync(step.capture, { force: true });
    } catch {
      // nothing captured
    }
  }
  const stepHint = step?.step === 'reading' || step?.step === 'checking' ? 'the input is corrupt or was not produced by clang/rustc for BPF: rebuild it' : hint;
  writeSync(userStderrFd(), `Error: LLVM fatal error${where}: ${reason}\n${said ? `  LLVM said: ${said.slice(0, 200)}\n` : ''}  hint: ${stepHint}\n`);
  // Reported here: the crash watcher must not report this exit as a crash.
  crashGuardDone();
  // LLVM would exit or abort after this handler returns; end with the linker's error status.
  exitImmediately(1);
}

let fatalHandler: bigint | undefined;

/** Puts our fatal-error handler back (after code generation on worker threads reset it). */
export function restoreFatalErrorHandler(lib: LlvmLibrary): void {
  if (fatalHandler !== undefined) lib.api.LLVMInstallFatalErrorHandler(fatalHandler);
}

/** `libLLVM 22.1.8`, for messages. */
export function libraryName(lib: LlvmLibrary): string {
  return `libLLVM ${formatVersion(lib.version)}`;
}

/** Opens a libLLVM (once per path) and initializes its BPF target. */
export function loadLlvmLibrary(path: string): LlvmLibrary {
  const cached = loaded.get(path);
  if (cached) return cached;
  let api: LlvmFunctions;
  try {
    api = declareLlvmApi(loadSharedLibrary(path));
  } catch (e) {
    // A library that loads but lacks functions is usually an old LLVM (LLVMGetVersion is from 16).
    const major = majorFromFileName(path);
    if (major !== undefined && major < SUPPORTED_MAJORS[0]) {
      throw new LinkError('LLVM_LOAD_FAILED', `${path} is libLLVM ${major}, which is too old: libLLVM ${SUPPORTED_MAJORS[0]} to ${SUPPORTED_MAJORS[SUPPORTED_MAJORS.length - 1]} are supported`, {
        file: path,
        hint: `install llvm-22 (apt-get install llvm-22), or point --llvm-path / BPF_LINKER_LLVM at a libLLVM ${SUPPORTED_MAJORS[0]}-${SUPPORTED_MAJORS[SUPPORTED_MAJORS.length - 1]}`,
        cause: e,
      });
    }
    throw new LinkError('LLVM_LOAD_FAILED', `cannot load libLLVM from ${path}: ${(e as Error).message}`, {
      file: path,
      hint: 'pass the real shared object (for rustup toolchains libLLVM.so.<ver>-rust-<ver>, not the small libLLVM-NN-rust-*.so linker script) with --llvm-path, or install llvm-22',
      cause: e,
    });
  }
  const maj: [number | null] = [0];
  const min: [number | null] = [0];
  const pat: [number | null] = [0];
  api.LLVMGetVersion(maj, min, pat);
  const version = { major: maj[0] ?? 0, minor: min[0] ?? 0, patch: pat[0] ?? 0 };
  if (version.major < 19) {
    throw new LinkError('LLVM_LOAD_FAILED', `${path} is LLVM ${formatVersion(version)}; bpf-linker needs LLVM 19 or newer`, {
      file: path,
      hint: 'install llvm-19 or newer (apt-get install llvm-22) or pass --llvm-path',
    });
  }
  api.LLVMInitializeBPFTargetInfo();
  api.LLVMInitializeBPFTarget();
  api.LLVMInitializeBPFTargetMC();
  api.LLVMInitializeBPFAsmPrinter();
  api.LLVMInitializeBPFAsmParser();
  api.LLVMInitializeBPFDisassembler();
  fatalHandler ??= registerCallback(onFatalError as (...a: never[]) => void, FatalErrorHandlerProto);
  api.LLVMInstallFatalErrorHandler(fatalHandler);
  const lib: LlvmLibrary = { path, version, api };
  loaded.set(path, lib);
  return lib;
}

/**
 * Sets LLVM's command-line options, once per library. The same list again is a no-op; a
 * different list is an error, because LLVM would silently keep parts of the first.
 */
export function setGlobalOptions(lib: LlvmLibrary, options: readonly string[]): void {
  if (lib.globalOptions) {
    const same = lib.globalOptions.length === options.length && lib.globalOptions.every((o, i) => o === options[i]);
    if (same) return;
    throw new LinkError(
      'LLVM_GLOBAL_OPTIONS_CONFLICT',
      `LLVM's global options were already set in this process to [${lib.globalOptions.join(' ')}]; this link asks for [${options.join(' ')}]`,
      { hint: 'LLVM options are process-wide: run links with different --unroll-loops/--llvm-args/memcpy/trap settings in separate processes' },
    );
  }
  const argv = ['bpf-linker', ...options];
  lib.api.LLVMParseCommandLineOptions(argv.length, argv, 'BPF linker');
  lib.globalOptions = [...options];
}

/** The LLVM major a library file is named for (`libLLVM-14.so.1`, `libLLVM.so.22.1`), following links. */
function majorFromFileName(path: string): number | undefined {
  let real = path;
  try {
    real = realpathSync(path);
  } catch {
    // the name given is all there is
  }
  for (const name of [basename(real), basename(path)]) {
    const m = /^libLLVM(?:-(\d+)|\.so\.(\d+))/.exec(name);
    if (m) return Number(m[1] ?? m[2]);
  }
  return undefined;
}
