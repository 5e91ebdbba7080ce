/**
 * Link settings of bpf.config.json → LinkOptions (for linkSync) and → bpf-linker command-line
 * arguments (for a step's printable command, for turbo-style script runners, and for rustc's
 * `-C link-arg=`). Both come from the same settings, so what runs and what is shown agree.
 */
import { defaultLinkOptions, type LinkOptions } from '../options';
import { LINK_SETTING_KEYS, type LinkSettings } from './config';

/** Defaults of bpf.config.json that differ from the command line's: BTF is on. */
export const CONFIG_LINK_DEFAULTS: LinkSettings = { btf: true };

/** Later layers win, key by key; undefined values do not override. */
export function mergeLinkSettings(...layers: Array<LinkSettings | undefined>): LinkSettings {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    if (!layer) continue;
    for (const key of LINK_SETTING_KEYS) {
      const v = layer[key];
      if (v !== undefined) out[key] = Array.isArray(v) ? [...v] : v;
    }
  }
  return out as LinkSettings;
}

export function toLinkOptions(settings: LinkSettings, inputs: string[], output: string): LinkOptions {
  // `report` is not an option of the link itself (it is a LinkEnvironment switch).
  const { report: _report, ...options } = mergeLinkSettings(CONFIG_LINK_DEFAULTS, settings);
  return defaultLinkOptions({ ...options, inputs: [...inputs], output });
}

/**
 * bpf-linker arguments for the settings that differ from the command line's defaults, in a
 * fixed order, every value inline (`--cpu=v3`) so none can be mistaken for an input.
 * `--report` is written when a report file is given (the `report` setting is what asks for one).
 */
export function linkSettingArgs(settings: LinkSettings, reportFile?: string): string[] {
  const d = defaultLinkOptions();
  const s = settings;
  const args: string[] = [];
  if (s.emit !== undefined && s.emit !== d.emit) args.push(`--emit=${s.emit}`);
  if (s.optLevel !== undefined) args.push(`-O${s.optLevel}`);
  if (s.target) args.push(`--target=${s.target}`);
  if (s.cpu !== undefined && s.cpu !== d.cpu) args.push(`--cpu=${s.cpu}`);
  if (s.cpuFeatures) args.push(`--cpu-features=${s.cpuFeatures}`);
  if (s.btf) args.push('--btf');
  if (s.allowBpfTrap) args.push('--allow-bpf-trap');
  if (s.exports?.length) args.push(`--export=${s.exports.join(',')}`);
  if (s.internalize) args.push('--internalize');
  if (s.disableMemoryBuiltins) args.push('--disable-memory-builtins');
  if (s.wholeArchive) args.push('--whole-archive');
  if (s.allowUndefined) args.push('--allow-undefined');
  if (s.disableExpandMemcpyInOrder) args.push('--disable-expand-memcpy-in-order');
  if (s.unrollLoops) args.push('--unroll-loops');
  if (s.ignoreInlineNever) args.push('--ignore-inline-never');
  for (const a of s.llvmArgs ?? []) args.push(`--llvm-args=${a}`);
  if (s.dumpModule) args.push(`--dump-module=${s.dumpModule}`);
  if (reportFile) args.push(`--report=${reportFile}`);
  if (s.fatalErrors === false) args.push('--fatal-errors=false');
  for (const l of s.libraryPaths ?? []) args.push('-L', l);
  if (s.llvmPath) args.push(`--llvm-path=${s.llvmPath}`);
  return args;
}

/** The full command line of a link: `bpf-linker <inputs> <flags> -o <output>`. */
export function linkCommand(options: LinkOptions, linker = 'bpf-linker', reportFile?: string): string[] {
  const inputs = options.inputs.map((i) => (typeof i === 'string' ? i : `in_memory::${i.name}`));
  return [linker, ...inputs, ...linkSettingArgs(options, reportFile), '-o', options.output ?? '-'];
}

/**
 * rustc flags that pass the explicitly set settings to the linker. rustc sends its own `--cpu`
 * and `-O` first; the linker keeps the last value, so these win.
 */
export function rustcLinkArgs(settings: LinkSettings, reportFile?: string): string[] {
  return linkSettingArgs(settings, reportFile).flatMap((a) => ['-C', `link-arg=${a}`]);
}
