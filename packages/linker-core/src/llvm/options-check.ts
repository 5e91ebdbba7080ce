/**
 * Checking `--llvm-args` before LLVM sees them. LLVMParseCommandLineOptions reports an unknown
 * option to nowhere (the C API passes llvm::nulls()) and applies the rest, so a misspelled option
 * did nothing, silently; and options such as -version or -help print and call exit(0), ending a
 * link with status 0 and no output.
 *
 * The option names come from the library itself: a child process loads it and asks for
 * `-help-list-hidden` (which prints every registered option, then exits). Only links that pass
 * --llvm-args pay for it (tens of milliseconds), once per library and process.
 */
import { spawnSync } from 'node:child_process';
import { LinkError } from '../errors';
import { formatVersion } from './types';
import type { LlvmLibrary } from './library';

/** Options that make LLVM print something and exit instead of linking. */
const PRINT_AND_EXIT = /^(version|help|help-list|help-hidden|help-list-hidden|print-options|print-all-options)(=|$)|^help-/;

const LIST_OPTIONS = `
const koffi = require(process.argv[1]);
const lib = koffi.load(process.argv[2]);
const parse = lib.func('void LLVMParseCommandLineOptions(int argc, const char **argv, const char *overview)');
parse(2, ['bpf-linker', '-help-list-hidden'], '');
`;

const names = new Map<string, Set<string>>();

function optionName(arg: string): string {
  return arg.replace(/^--?/, '').split('=')[0];
}

/** The names of the options `lib` registers (BPF target included: the child initializes it). */
export function registeredOptions(lib: LlvmLibrary): Set<string> {
  const cached = names.get(lib.path);
  if (cached) return cached;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const koffi = require.resolve('koffi');
  const script = LIST_OPTIONS.replace(
    "parse(2,",
    "for (const f of ['LLVMInitializeBPFTargetInfo', 'LLVMInitializeBPFTarget', 'LLVMInitializeBPFTargetMC']) lib.func(`void ${f}(void)`)();\nparse(2,",
  );
  const r = spawnSync(process.execPath, ['-e', script, koffi, lib.path], { encoding: 'utf8', timeout: 30_000, maxBuffer: 64 << 20, env: { PATH: process.env.PATH ?? '' } });
  const set = new Set<string>();
  for (const line of (r.stdout ?? '').split('\n')) {
    const m = /^\s+--?([A-Za-z0-9][\w.+-]*)/.exec(line);
    if (m) set.add(m[1]);
  }
  names.set(lib.path, set);
  return set;
}

/**
 * Throws for an option that would end the process or that this LLVM does not have. Values of
 * options given as separate words (`-foo 3`) are not options and pass.
 */
export function checkLlvmArgs(lib: LlvmLibrary, args: readonly string[]): void {
  const options = args.filter((a) => a.startsWith('-'));
  for (const arg of options) {
    if (PRINT_AND_EXIT.test(optionName(arg))) {
      throw new LinkError('INVALID_ARGUMENT', `--llvm-args: '${arg}' makes LLVM print and exit instead of linking`, {
        hint: `run it with LLVM's own tools instead (llc-${lib.version.major} --version, llc-${lib.version.major} --help-hidden)`,
      });
    }
  }
  if (options.length === 0) return;
  const known = registeredOptions(lib);
  // No listing (the child failed): the options go to LLVM unchecked, as before.
  if (known.size === 0) return;
  for (const arg of options) {
    const name = optionName(arg);
    if (known.has(name)) continue;
    throw new LinkError('INVALID_ARGUMENT', `--llvm-args: LLVM ${formatVersion(lib.version)} (${lib.path}) has no option '${arg}'`, {
      hint: `check the spelling (llc-${lib.version.major} --help-hidden lists the options); LLVM would ignore it silently`,
    });
  }
}
