/**
 * `bpf.config.json`: the per-project description of BPF programs and libraries that every build
 * adapter (Nx, Turborepo, bundlers) reads. The types mirror BPF_CONFIG_SCHEMA, which validates.
 */
import { readFileSync } from 'node:fs';
import type { LinkOptions } from '../options';
import { BuildError } from './errors';
import { BPF_CONFIG_SCHEMA } from './schema';
import { validateAgainstSchema, type JsonSchema } from './validate';

export const BPF_CONFIG_FILE = 'bpf.config.json';
export const DEFAULT_OUT_DIR = 'dist/bpf';

/**
 * Every linker flag: LinkOptions without the inputs and the output path, plus `report` (the
 * CLI's --report, a LinkEnvironment switch in the core): write the link report next to the object.
 * `maxInputSize` (--max-input-size) is a safety limit of a run, and `jobs` and `partitions`
 * (--jobs, --partitions) how the machine is used for one link (the default, auto, is what builds
 * want; `partitions` is still part of the cache key), not build settings.
 */
/**
 * Link settings of bpf.config.json. Not settings: `sourceRoot` (a build always reads sources from
 * the workspace root), `jobs` and `partitions` (how one link uses the machine).
 */
export type LinkSettings = Partial<Omit<LinkOptions, 'inputs' | 'output' | 'maxInputSize' | 'sourceRoot' | 'jobs' | 'partitions'>> & { report?: boolean };

export const LINK_SETTING_KEYS = [
  'emit',
  'optLevel',
  'target',
  'cpu',
  'cpuFeatures',
  'btf',
  'allowBpfTrap',
  'exports',
  'internalize',
  'disableMemoryBuiltins',
  'wholeArchive',
  'allowUndefined',
  'core',
  'coreBtf',
  'coreTypes',
  'coreStrict',
  'disableExpandMemcpyInOrder',
  'unrollLoops',
  'ignoreInlineNever',
  'llvmArgs',
  'dumpModule',
  'report',
  'fatalErrors',
  'libraryPaths',
  'llvmPath',
] as const satisfies readonly (keyof LinkSettings)[];

// A LinkOptions field added without a bpf.config.json counterpart fails to compile here.
type MissingLinkSetting = Exclude<keyof LinkSettings, (typeof LINK_SETTING_KEYS)[number]>;
const everyLinkSettingListed: [MissingLinkSetting] extends [never] ? true : MissingLinkSetting = true;
void everyLinkSettingListed;

export type DefineValue = string | number | boolean;

export interface CompileSettings {
  clang?: string;
  target?: 'bpf' | 'bpfel' | 'bpfeb';
  includeDirs?: string[];
  defines?: Record<string, DefineValue>;
  flags?: string[];
}

interface SourceFields {
  sources: string[];
  exclude?: string[];
  includeDirs?: string[];
  defines?: Record<string, DefineValue>;
  flags?: string[];
  libraries?: string[];
}

export interface CProgramConfig extends SourceFields {
  name: string;
  output?: string;
  link?: LinkSettings;
}

export interface CargoSettings {
  manifest?: string;
  package?: string;
  bin?: string;
  profile?: string;
  target?: 'bpfel-unknown-none' | 'bpfeb-unknown-none';
  features?: string[];
  noDefaultFeatures?: boolean;
  args?: string[];
  rustcArgs?: string[];
  /** rustup toolchain (RUSTUP_TOOLCHAIN). */
  toolchain?: string;
  /** Path of the rustc to use (RUSTC). */
  rustc?: string;
  /** Path of the cargo to run. */
  cargo?: string;
  /** `-Z build-std=core` (nightly with rust-src). */
  buildStd?: boolean;
  /** More environment for cargo. */
  env?: Record<string, string>;
}

/**
 * The environment a crate's build runs with, and its toolchain is probed with: the toolchain
 * bpf.config.json names. RUSTC wins over RUSTUP_TOOLCHAIN (cargo runs that rustc whatever the
 * toolchain), as in cargo itself. Every adapter takes it from here.
 */
export function cargoToolchainEnv(c: Pick<CargoSettings, 'toolchain' | 'rustc' | 'cargo' | 'env'>): Record<string, string> {
  return {
    ...(c.env ?? {}),
    ...(c.toolchain ? { RUSTUP_TOOLCHAIN: c.toolchain } : {}),
    ...(c.rustc ? { RUSTC: c.rustc } : {}),
    // What the toolchain probe reads (and cargo sets for its children anyway).
    ...(c.cargo ? { CARGO: c.cargo } : {}),
  };
}

export interface RustProgramConfig {
  name: string;
  output?: string;
  cargo: CargoSettings;
  link?: LinkSettings;
}

export type ProgramConfig = CProgramConfig | RustProgramConfig;

export interface LibraryConfig extends SourceFields {
  name: string;
  output?: string;
  publicIncludeDirs?: string[];
}

export interface BpfProjectConfig {
  $schema?: string;
  outDir?: string;
  compile?: CompileSettings;
  link?: LinkSettings;
  programs?: ProgramConfig[];
  library?: LibraryConfig;
}

export function isRustProgram(p: ProgramConfig): p is RustProgramConfig {
  return 'cargo' in p;
}

/**
 * Validates parsed JSON as a bpf.config.json. Throws CONFIG_INVALID listing every problem with
 * its JSON path; `file` is only used in messages.
 */
export function parseBpfConfig(json: unknown, file = BPF_CONFIG_FILE): BpfProjectConfig {
  const problems = validateAgainstSchema(json, BPF_CONFIG_SCHEMA as unknown as JsonSchema);
  if (problems.length === 0) {
    const config = json as BpfProjectConfig;
    const names = [...(config.programs ?? []).map((p) => p.name), ...(config.library ? [config.library.name] : [])];
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup === undefined) return config;
    problems.push({ path: 'programs', message: `the name "${dup}" is used twice` });
  }
  const lines = problems.map((p) => `  ${p.path || '(top level)'}: ${p.message}`);
  throw new BuildError('CONFIG_INVALID', `${file} is not a valid BPF project config:\n${lines.join('\n')}`, {
    file,
    hint: 'see bpf.config.schema.json (shipped with @bpf-linker/nx and @bpf-linker/turbo) for every field',
  });
}

/** Reads and validates a bpf.config.json file. */
export function readBpfConfig(file: string): BpfProjectConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new BuildError('CONFIG_NOT_FOUND', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      file,
      hint: 'create it (nx g @bpf-linker/nx:program) or point the target at another config',
      cause: e,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new BuildError('CONFIG_INVALID', `${file} is not valid JSON: ${(e as Error).message}`, { file, cause: e });
  }
  return parseBpfConfig(json, file);
}
