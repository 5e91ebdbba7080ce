/**
 * planBuild(config, context) → BuildPlan: one project's bpf.config.json turned into steps —
 * compile each C source to bitcode, archive a library, link each program, build each Rust
 * crate — with their inputs, outputs, command line and toolchain. Nx targets, turbo.json tasks
 * and a bundler's cache key are all derived from this one plan.
 *
 * Planning reads the project's directory (to expand source globs) and nothing else: it starts no
 * process, so build-graph inference can call it. Paths in the plan are workspace-relative with
 * `/` separators; commands run with the workspace root as their working directory.
 */
import { isAbsolute, join, posix } from 'node:path';
import type { LinkOptions, OutputKind } from '../options';
import {
  BPF_CONFIG_FILE,
  DEFAULT_OUT_DIR,
  isRustProgram,
  type BpfProjectConfig,
  type CProgramConfig,
  type DefineValue,
  type LibraryConfig,
  type LinkSettings,
  type RustProgramConfig,
  cargoToolchainEnv,
} from './config';
import { BuildError } from './errors';
import { SKIPPED_DIRS, listFiles, matchFiles } from './glob';
import { CONFIG_LINK_DEFAULTS, linkCommand, mergeLinkSettings, rustcLinkArgs, toLinkOptions } from './link-args';
import {
  clangVersion,
  locateTools,
  predictLlvm,
  rustcProducer,
  type LlvmIdentity,
  type ToolIdentity,
  type ToolchainIdentity,
} from './toolchain';

/** Another BPF project of the workspace, for `libraries` that name a project. */
export interface BpfProjectRef {
  name: string;
  /** Workspace-relative root. */
  root: string;
  config: BpfProjectConfig;
}

export interface PlanContext {
  /** Absolute path of the workspace (or repository) root. */
  workspaceRoot: string;
  /** The project being planned; `root` is workspace-relative ('' or '.' for the root project). */
  project: { name: string; root: string };
  /** Every BPF project of the workspace (this one may be included), to resolve `libraries`. */
  projects?: readonly BpfProjectRef[];
  /** From probeToolchain (versions, the libLLVM a link will load) or locateTools (paths only, the default). */
  toolchain?: ToolchainIdentity;
  env?: NodeJS.ProcessEnv;
  /** The bpf-linker executable: rustc's `-C linker=` and the first word of link commands. */
  linker?: string;
  /** Link settings applied over the config's (e.g. an Nx target's options). */
  linkOverrides?: LinkSettings;
}

export interface StepToolchain {
  linker: string;
  clang?: ToolIdentity;
  /** The libLLVM the link is expected to load; known when the toolchain was probed. */
  llvm?: LlvmIdentity;
  rustc?: ToolIdentity & { llvm?: string };
  cargo?: ToolIdentity;
}

interface StepBase {
  /** Unique in the plan: `compile:<source>`, `archive:<project>/<name>`, `link:<project>/<name>`, `cargo:<project>/<name>`. */
  id: string;
  /** Short human text: `compile src/xdp.c`. */
  description: string;
  /** Files read, workspace-relative (for content hashing). */
  inputs: string[];
  /** Globs (workspace-relative) covering inputs that are not known before running: headers, new sources. */
  inputPatterns: string[];
  /** Files written, workspace-relative. */
  outputs: string[];
  /** Ids of the steps of this plan that must run first. */
  dependsOn: string[];
  /**
   * The command line. `process` steps run it (cwd = workspace root); `builtin` steps run in
   * process (the archive writer, linkSync) and the command is the equivalent tool invocation.
   */
  command: string[];
  runner: 'process' | 'builtin';
  toolchain: StepToolchain;
}

export interface CompileStep extends StepBase {
  kind: 'compile';
  source: string;
  output: string;
  /** clang's dependency file (headers read), written next to the bitcode. */
  depfile: string;
}

export interface ArchiveStep extends StepBase {
  kind: 'archive';
  library: string;
  members: string[];
  output: string;
}

export interface LinkStep extends StepBase {
  kind: 'link';
  program: string;
  /** Workspace-relative inputs and output. */
  options: LinkOptions;
  output: string;
  /** The build manifest written next to the object. */
  manifest: string;
  /** With the `report` setting: the link report (JSON). */
  report?: string;
}

export interface CargoStep extends StepBase {
  kind: 'cargo';
  program: string;
  cargoManifest: string;
  targetDir: string;
  /** Where cargo leaves the linked object. */
  artifact: string;
  /** Where the step copies it. */
  output: string;
  manifest: string;
  /** With the `report` setting: the link report the linker writes. */
  report?: string;
  /**
   * The link report the linker writes in any case: `report`, else a file in the target dir (not
   * an output). The manifest takes the libLLVM that really linked from it.
   */
  linkReport: string;
  /** Settings handed to the linker through rustc (for the manifest and the cache key). */
  linkSettings: LinkSettings;
  env: Record<string, string>;
}

export type BuildStep = CompileStep | ArchiveStep | LinkStep | CargoStep;
export type StepKind = BuildStep['kind'];

export interface ResolvedLibrary {
  /** The reference as written in bpf.config.json. */
  ref: string;
  kind: 'project' | 'archive';
  /** For project libraries. */
  project?: string;
  root?: string;
  name?: string;
  /** Workspace-relative archive path. */
  archive: string;
  publicIncludeDirs: string[];
}

export interface BuildPlan {
  project: { name: string; root: string };
  configFile: string;
  outDir: string;
  steps: BuildStep[];
  /** Libraries linked by any program (transitively), in link order, without duplicates. */
  libraries: ResolvedLibrary[];
  /** Projects this one depends on (providers of its libraries). */
  dependencies: string[];
  /** Final products: objects, their manifests, the library archive. */
  outputs: string[];
  /** Problems that do not prevent planning but will fail the affected step. */
  problems: BuildError[];
  toolchain: ToolchainIdentity;
}

const OUTPUT_EXTENSIONS: Record<OutputKind, string> = { obj: '.o', asm: '.s', 'llvm-ir': '.ll', 'llvm-bc': '.bc' };

function normRoot(root: string): string {
  const r = posix.normalize(root.replace(/\\/g, '/')).replace(/\/$/, '');
  return r === '.' ? '' : r;
}

/** Workspace-relative path of a project-relative one. */
function inProject(root: string, p: string): string {
  if (isAbsolute(p)) return p;
  return posix.normalize(posix.join(root || '.', p));
}

/**
 * Where a path of bpf.config.json may lead: outputs and sources stay in the project; headers,
 * crates and archives may be elsewhere in the workspace; include directories may also be
 * absolute (system headers).
 */
type PathScope = 'project' | 'workspace' | 'workspace-or-absolute';

/** Why `value`, relative to the project at `root`, leaves its scope; undefined when it does not. */
function pathEscape(root: string, value: string, scope: PathScope): string | undefined {
  if (isAbsolute(value) || /^[A-Za-z]:[\\/]/.test(value)) return scope === 'workspace-or-absolute' ? undefined : 'is an absolute path';
  const resolved = inProject(root, value);
  if (resolved === '..' || resolved.startsWith('../')) return 'is outside the workspace';
  if (scope === 'project' && root !== '' && resolved !== root && !resolved.startsWith(`${root}/`)) return `is outside the project ${root}`;
  return undefined;
}

const PATH_HINTS = {
  outDir: 'outDir is a directory relative to the project, inside it, such as "dist/bpf"',
  sources: 'sources are globs relative to the project directory, inside it, such as "src/**/*.c"',
  includeDirs: 'include directories are relative to the project and stay inside the workspace; an absolute path, such as "/usr/include/bpf", names system headers',
  publicIncludeDirs: "a library's public include directories are relative to its project and stay inside the workspace, such as \"include\"",
  manifest: 'the crate\'s Cargo.toml is relative to the project and stays inside the workspace, such as "Cargo.toml"',
  libraries: 'an archive is relative to the project and stays inside the workspace (copy it in, such as "vendor/libx.a"), or name a library project',
} as const;

/**
 * Checks one path of a bpf.config.json (`file`, of the project at `root`); `key` is its JSON
 * path for the message. False (and a PATH_OUTSIDE problem) when it leaves its scope.
 */
type PathCheck = (key: string, value: string, scope: PathScope, hint: string, where?: { file: string; root: string }) => boolean;

function defineArgs(defines: Record<string, DefineValue> | undefined): string[] {
  return Object.entries(defines ?? {}).map(([k, v]) => (v === true ? `-D${k}` : v === false ? `-U${k}` : `-D${k}=${v}`));
}

function bitcodePath(outDir: string, source: string, root: string): string {
  const rel = root && source.startsWith(`${root}/`) ? source.slice(root.length + 1) : source;
  const base = rel.endsWith('.c') ? rel.slice(0, -2) : rel;
  return posix.join(outDir, 'bc', `${base}.bc`);
}

export function planBuild(config: BpfProjectConfig, context: PlanContext): BuildPlan {
  const root = normRoot(context.project.root);
  const env = context.env ?? process.env;
  const toolchain = context.toolchain ?? locateTools({ clang: config.compile?.clang, env });
  const linker = context.linker ?? 'bpf-linker';
  const problems: BuildError[] = [];
  const configFile = inProject(root, BPF_CONFIG_FILE);
  // Paths that leave the project or the workspace are problems (reported once each) and are not
  // used: nothing is read from or written to where the config must not point.
  const reported = new Set<string>();
  const allowed: PathCheck = (key, value, scope, hint, where = { file: configFile, root }) => {
    const why = pathEscape(where.root, value, scope);
    if (why === undefined) return true;
    const message = `${where.file}: ${key} ${JSON.stringify(value)} ${why}`;
    if (!reported.has(message)) {
      reported.add(message);
      problems.push(new BuildError('PATH_OUTSIDE', message, { file: where.file, hint }));
    }
    return false;
  };
  const outDirValue = config.outDir ?? DEFAULT_OUT_DIR;
  const outDir = inProject(root, allowed('outDir', outDirValue, 'project', PATH_HINTS.outDir) ? outDirValue : DEFAULT_OUT_DIR);

  // Files are listed once, without the output directory (relative to the project).
  const outRel = posix.relative(root || '.', outDir);
  const files = listFiles(join(context.workspaceRoot, root), new Set([...SKIPPED_DIRS, outRel]));

  const steps: BuildStep[] = [];
  const compileBySource = new Map<string, { flagsKey: string; step: CompileStep }>();
  const outputsTaken = new Map<string, string>();
  const claim = (output: string, owner: string) => {
    const prev = outputsTaken.get(output);
    if (prev !== undefined && prev !== owner) {
      problems.push(new BuildError('DUPLICATE_OUTPUT', `${prev} and ${owner} both write ${output}`, {
        file: configFile,
        hint: 'give one of them another name or "output"',
      }));
    }
    outputsTaken.set(output, owner);
  };

  const clangId = toolchain.clang;
  const host = toolchain.host;
  const compileDefaults = config.compile ?? {};

  /** Compile steps for one program or library; reuses steps of sources compiled the same way. */
  const compileSources = (owner: string, key: string, unit: CProgramConfig | LibraryConfig, libs: ResolvedLibrary[]): CompileStep[] => {
    const patterns = unit.sources.filter((s) => allowed(`${key}.sources`, s, 'project', PATH_HINTS.sources));
    const sources = matchFiles(files, patterns, unit.exclude).map((f) => inProject(root, f));
    if (sources.length === 0 && patterns.length === unit.sources.length) {
      problems.push(new BuildError('NO_SOURCES', `${owner}: no file matches ${unit.sources.map((s) => JSON.stringify(s)).join(', ')} in ${root || '.'}`, {
        file: configFile,
        hint: 'sources are globs relative to the project directory, such as "src/**/*.c"',
      }));
    }
    const own = (k: string, dirs: readonly string[] | undefined, scope: PathScope, hint: string) =>
      (dirs ?? []).filter((d) => allowed(k, d, scope, hint)).map((d) => inProject(root, d));
    const includeDirs = [
      ...own('compile.includeDirs', compileDefaults.includeDirs, 'workspace-or-absolute', PATH_HINTS.includeDirs),
      ...own(`${key}.includeDirs`, unit.includeDirs, 'workspace-or-absolute', PATH_HINTS.includeDirs),
      // A library's sources see the headers it publishes.
      ...own(`${key}.publicIncludeDirs`, 'publicIncludeDirs' in unit ? unit.publicIncludeDirs : [], 'workspace', PATH_HINTS.publicIncludeDirs),
      ...libs.flatMap((l) => l.publicIncludeDirs),
    ];
    const flags = [
      '-target',
      compileDefaults.target ?? 'bpf',
      '-g',
      '-O2',
      '-emit-llvm',
      '-c',
      // Relative paths in debug info: the bitcode does not depend on where the workspace is.
      '-fdebug-compilation-dir=.',
      ...(host.targetArch ? [`-D__TARGET_ARCH_${host.targetArch}`] : []),
      ...[...new Set(includeDirs)].flatMap((d) => ['-I', d]),
      ...(host.multiarchInclude ? ['-idirafter', host.multiarchInclude] : []),
      ...defineArgs({ ...compileDefaults.defines, ...unit.defines }),
      ...(compileDefaults.flags ?? []),
      ...(unit.flags ?? []),
    ];
    const flagsKey = flags.join('\0');
    const headerPatterns = [`${root ? `${root}/` : ''}**/*.h`, ...[...new Set(includeDirs)].map((d) => `${d}/**/*.h`)];
    return sources.map((source) => {
      let output = bitcodePath(outDir, source, root);
      const existing = compileBySource.get(source);
      if (existing && existing.flagsKey === flagsKey) return existing.step;
      // The same source compiled with other flags for another owner: its own bitcode file.
      if (existing) output = posix.join(outDir, 'bc', owner.replace(/\s+/g, '-'), posix.relative(posix.join(outDir, 'bc'), output));
      const depfile = output.replace(/\.bc$/, '.d');
      claim(output, `compile ${source}`);
      const step: CompileStep = {
        kind: 'compile',
        id: existing ? `compile:${owner.replace(/\s+/g, '-')}:${source}` : `compile:${source}`,
        description: `compile ${source}`,
        source,
        output,
        depfile,
        inputs: [source],
        inputPatterns: [...new Set([source, ...headerPatterns])],
        outputs: [output, depfile],
        dependsOn: [],
        command: [clangId.path, ...flags, '-MD', '-MF', depfile, source, '-o', output],
        runner: 'process',
        toolchain: { linker: toolchain.linker, clang: clangId },
      };
      if (!existing) compileBySource.set(source, { flagsKey, step });
      steps.push(step);
      return step;
    });
  };

  const resolver = new LibraryResolver(context, root, configFile, problems, allowed);
  const allLibraries: ResolvedLibrary[] = [];
  const addLibraries = (libs: ResolvedLibrary[]) => {
    for (const l of libs) if (!allLibraries.some((x) => x.archive === l.archive)) allLibraries.push(l);
  };

  // The library of this project.
  if (config.library) {
    const lib = config.library;
    const deps = resolver.resolveAll(lib.libraries ?? [], `library ${lib.name}`, 'library.libraries');
    addLibraries(deps);
    const compiled = compileSources(`library ${lib.name}`, 'library', lib, deps);
    const output = posix.join(outDir, lib.output ?? `lib${lib.name}.a`);
    claim(output, `library ${lib.name}`);
    const members = compiled.map((c) => c.output);
    steps.push({
      kind: 'archive',
      id: `archive:${context.project.name}/${lib.name}`,
      description: `archive ${output}`,
      library: lib.name,
      members,
      output,
      inputs: members,
      inputPatterns: [],
      outputs: [output],
      dependsOn: compiled.map((c) => c.id),
      command: ['llvm-ar', 'rcSD', output, ...members],
      runner: 'builtin',
      toolchain: { linker: toolchain.linker },
    });
  }

  for (const [index, program] of (config.programs ?? []).entries()) {
    const key = `programs[${index}]`;
    const merged = mergeLinkSettings(CONFIG_LINK_DEFAULTS, config.link, program.link, context.linkOverrides);
    // A relative CO-RE target BTF is the project's file: workspace-relative from here on.
    const settings = merged.coreBtf && !isAbsolute(merged.coreBtf) ? { ...merged, coreBtf: inProject(root, merged.coreBtf) } : merged;
    if (isRustProgram(program)) {
      steps.push(planCargo(program, settings, { root, outDir, files, toolchain, linker, claim, context, key, allowed }));
      continue;
    }
    const libs = resolver.resolveAll(program.libraries ?? [], `program ${program.name}`, `${key}.libraries`);
    addLibraries(libs);
    const compiled = compileSources(`program ${program.name}`, key, program, libs);
    const emit = settings.emit ?? 'obj';
    const output = posix.join(outDir, program.output ?? `${program.name}${OUTPUT_EXTENSIONS[emit]}`);
    const manifest = posix.join(outDir, `${program.name}.manifest.json`);
    const report = settings.report ? posix.join(outDir, `${program.name}.report.json`) : undefined;
    for (const f of [output, manifest, report]) if (f) claim(f, `program ${program.name}`);
    const inputs = [...compiled.map((c) => c.output), ...libs.map((l) => l.archive)];
    const resolved: LinkSettings = {
      ...settings,
      dumpModule: settings.dumpModule ? inProject(root, settings.dumpModule) : undefined,
      llvmPath: settings.llvmPath && !isAbsolute(settings.llvmPath) && settings.llvmPath.includes('/') ? inProject(root, settings.llvmPath) : settings.llvmPath,
    };
    const options = toLinkOptions(resolved, inputs, output);
    const producer = clangVersion(clangId);
    const ownArchive = steps.find((s): s is ArchiveStep => s.kind === 'archive');
    steps.push({
      kind: 'link',
      id: `link:${context.project.name}/${program.name}`,
      description: `link ${output}`,
      program: program.name,
      options,
      output,
      manifest,
      report,
      inputs,
      inputPatterns: [],
      outputs: [output, manifest, ...(report ? [report] : [])],
      dependsOn: [...compiled.map((c) => c.id), ...(ownArchive && libs.some((l) => l.archive === ownArchive.output) ? [ownArchive.id] : [])],
      command: linkCommand(options, linker, report),
      runner: 'builtin',
      toolchain: { linker: toolchain.linker, llvm: predictLlvm(toolchain, producer, options.llvmPath) },
    });
  }

  const outputs = steps.flatMap((s) => (s.kind === 'compile' ? [] : s.outputs));
  const dependencies = [...new Set(allLibraries.filter((l) => l.project && l.project !== context.project.name).map((l) => l.project!))];
  return { project: { name: context.project.name, root }, configFile, outDir, steps, libraries: allLibraries, dependencies, outputs, problems, toolchain };
}

interface CargoPlanning {
  root: string;
  outDir: string;
  files: string[];
  toolchain: ToolchainIdentity;
  linker: string;
  claim(output: string, owner: string): void;
  context: PlanContext;
  /** The program's JSON path in the config, and the path check. */
  key: string;
  allowed: PathCheck;
}

function planCargo(program: RustProgramConfig, settings: LinkSettings, p: CargoPlanning): CargoStep {
  const c = program.cargo;
  const manifestValue = c.manifest ?? 'Cargo.toml';
  const cargoManifest = inProject(p.root, p.allowed(`${p.key}.cargo.manifest`, manifestValue, 'workspace', PATH_HINTS.manifest) ? manifestValue : 'Cargo.toml');
  const crateDir = posix.dirname(cargoManifest);
  const targetDir = inProject(p.root, 'target');
  const triple = c.target ?? 'bpfel-unknown-none';
  const profile = c.profile ?? 'release';
  const profileDir = profile === 'dev' || profile === 'test' ? 'debug' : profile === 'bench' ? 'release' : profile;
  const bin = c.bin ?? program.name.replace(/-/g, '_');
  const artifact = posix.join(targetDir, triple, profileDir, bin);
  const output = posix.join(p.outDir, program.output ?? `${program.name}.o`);
  const manifest = posix.join(p.outDir, `${program.name}.manifest.json`);
  const report = settings.report ? posix.join(p.outDir, `${program.name}.report.json`) : undefined;
  for (const f of [output, manifest, report]) if (f) p.claim(f, `program ${program.name}`);
  const linkReport = report ?? posix.join(targetDir, `${program.name}.bpf-link.json`);

  // Settings written in the config (and BTF, on by default) go to the linker; rustc chooses the
  // rest (-O, --cpu) itself.
  const rustc = [
    '-C',
    `linker=${p.linker}`,
    ...(settings.btf ? ['-C', 'debuginfo=2'] : []),
    // rustc runs the linker in its own directory: the report path must be absolute.
    ...rustcLinkArgs(settings.coreBtf && !isAbsolute(settings.coreBtf) ? { ...settings, coreBtf: join(p.context.workspaceRoot, settings.coreBtf) } : settings, join(p.context.workspaceRoot, linkReport)),
    // Paths in debug info (and so in BTF) relative, so the object does not depend on where the
    // workspace is: the crate's directory becomes `.` (rustc and the linker run there, so the
    // linker still finds the source lines BTF records), other workspace paths relative to the root.
    `--remap-path-prefix=${p.context.workspaceRoot}=.`,
    `--remap-path-prefix=${join(p.context.workspaceRoot, crateDir)}=.`,
    ...(c.rustcArgs ?? []),
  ];
  const args = [
    'rustc',
    '--manifest-path',
    cargoManifest,
    '--target',
    triple,
    '--target-dir',
    targetDir,
    '--profile',
    profile,
    '--bin',
    bin,
    ...(c.package ? ['--package', c.package] : []),
    ...(c.features?.length ? ['--features', c.features.join(',')] : []),
    ...(c.noDefaultFeatures ? ['--no-default-features'] : []),
    ...(c.buildStd ? ['-Z', 'build-std=core'] : []),
    ...(c.args ?? []),
    '--',
    ...rustc,
  ];
  const crateRel = posix.relative(p.root || '.', crateDir);
  const inCrate = (f: string) => crateRel === '' || f.startsWith(`${crateRel}/`);
  const crateFiles = p.files.filter(inCrate).map((f) => inProject(p.root, f));
  const inputs = crateFiles.filter((f) => /\.rs$/.test(f) || /(^|\/)Cargo\.(toml|lock)$/.test(f) || /(^|\/)rust-toolchain(\.toml)?$/.test(f));
  const prefix = crateDir === '.' ? '' : `${crateDir}/`;
  // A CO-RE target BTF kept in the workspace is an input like the sources (one outside it, like
  // the running kernel's, is part of the toolchain identity instead).
  const btf = settings.core !== 'off' && settings.coreBtf && !isAbsolute(settings.coreBtf) ? settings.coreBtf : undefined;
  if (btf) inputs.push(btf);
  const btfPattern = btf && (p.root === '' || btf.startsWith(`${p.root}/`)) ? [posix.relative(p.root || '.', btf)] : [];
  return {
    kind: 'cargo',
    id: `cargo:${p.context.project.name}/${program.name}`,
    description: `cargo rustc --bin ${bin} → ${output}`,
    program: program.name,
    cargoManifest,
    targetDir,
    artifact,
    output,
    manifest,
    report,
    linkReport,
    linkSettings: settings,
    env: cargoToolchainEnv(c),
    inputs,
    inputPatterns: [`${prefix}**/*.rs`, `${prefix}Cargo.toml`, `${prefix}Cargo.lock`, `${prefix}build.rs`, ...btfPattern],
    outputs: [output, manifest, ...(report ? [report] : [])],
    dependsOn: [],
    command: [c.cargo ?? p.toolchain.cargo.path, ...args],
    runner: 'process',
    toolchain: {
      linker: p.toolchain.linker,
      cargo: p.toolchain.cargo,
      rustc: p.toolchain.rustc,
      llvm: predictLlvm(p.toolchain, rustcProducer(p.toolchain.rustc), settings.llvmPath),
    },
  };
}

/**
 * The projects whose libraries `config` links directly (not through other libraries): the edges
 * of a project graph. Reads no file, so graph builders can call it for every project cheaply.
 */
export function libraryProjects(config: BpfProjectConfig, context: Pick<PlanContext, 'project' | 'projects'> & { workspaceRoot?: string }): string[] {
  const root = normRoot(context.project.root);
  const resolver = new LibraryResolver({ workspaceRoot: context.workspaceRoot ?? '', ...context }, root, inProject(root, BPF_CONFIG_FILE), [], () => true);
  const refs = [...(config.library?.libraries ?? []), ...(config.programs ?? []).flatMap((p) => (isRustProgram(p) ? [] : (p.libraries ?? [])))];
  const names = refs.map((r) => resolver.resolveDirect(r)?.project).filter((n): n is string => n !== undefined && n !== context.project.name);
  return [...new Set(names)];
}

/** Resolves `libraries` entries to archives, following libraries of libraries. */
class LibraryResolver {
  constructor(
    private readonly context: PlanContext,
    private readonly root: string,
    private readonly configFile: string,
    private readonly problems: BuildError[],
    /** Checks archive paths and public include directories (of this and the linked projects). */
    private readonly allowed: PathCheck,
  ) {}

  /** `key`: the JSON path of `refs` in this project's config, for messages. */
  resolveAll(refs: readonly string[], owner: string, key: string): ResolvedLibrary[] {
    const out: ResolvedLibrary[] = [];
    const visit = (ref: string, where: { file: string; root: string; key: string }, chain: string[]) => {
      const lib = this.resolveOne(ref, where, owner);
      if (!lib) return;
      const libKey = lib.project ?? lib.archive;
      if (chain.includes(libKey)) {
        this.problems.push(new BuildError('LIBRARY_CYCLE', `${owner}: libraries depend on each other in a cycle: ${[...chain, libKey].join(' → ')}`, {
          file: this.configFile,
          hint: 'remove one of the "libraries" entries that close the cycle',
        }));
        return;
      }
      if (out.some((l) => l.archive === lib.archive)) return;
      out.push(lib);
      const refProject = lib.project ? this.context.projects?.find((p) => p.name === lib.project) : undefined;
      if (refProject) {
        const r = normRoot(refProject.root);
        const next = { file: inProject(r, BPF_CONFIG_FILE), root: r, key: 'library.libraries' };
        for (const ref of refProject.config.library?.libraries ?? []) visit(ref, next, [...chain, libKey]);
      }
    };
    for (const ref of refs) visit(ref, { file: this.configFile, root: this.root, key }, []);
    return out;
  }

  /** One entry of this project's `libraries`, without following its own libraries; unresolved ones are ignored. */
  resolveDirect(ref: string): ResolvedLibrary | undefined {
    return this.resolveOne(ref, { file: this.configFile, root: this.root, key: 'libraries' }, '');
  }

  private resolveOne(ref: string, where: { file: string; root: string; key: string }, owner: string): ResolvedLibrary | undefined {
    const fromRoot = where.root;
    if (/\.(a|rlib|bc|o)$/.test(ref)) {
      if (!this.allowed(where.key, ref, 'workspace', PATH_HINTS.libraries, where)) return undefined;
      return { ref, kind: 'archive', archive: inProject(fromRoot, ref), publicIncludeDirs: [] };
    }
    const projects = this.context.projects ?? [];
    const byName = projects.find((p) => p.name === ref);
    const byRoot = byName ?? projects.find((p) => normRoot(p.root) === inProject(fromRoot, ref) || normRoot(p.root) === normRoot(ref));
    if (!byRoot || !byRoot.config.library) {
      const why = byRoot ? `project "${byRoot.name}" has no "library" in its ${BPF_CONFIG_FILE}` : `no BPF project is named or located "${ref}"`;
      this.problems.push(new BuildError('LIBRARY_NOT_FOUND', `${owner}: cannot link library "${ref}": ${why}`, {
        file: this.configFile,
        hint: 'name a project whose bpf.config.json declares a "library" (nx g @bpf-linker/nx:library), or give a path to a .a archive',
      }));
      return undefined;
    }
    const r = normRoot(byRoot.root);
    const lib = byRoot.config.library;
    const its = { file: inProject(r, BPF_CONFIG_FILE), root: r };
    // Where that project's own plan puts its archive: a refused outDir is replaced by the default there too.
    const outDirValue = byRoot.config.outDir ?? DEFAULT_OUT_DIR;
    const outDir = inProject(r, this.allowed('outDir', outDirValue, 'project', PATH_HINTS.outDir, its) ? outDirValue : DEFAULT_OUT_DIR);
    return {
      ref,
      kind: 'project',
      project: byRoot.name,
      root: r,
      name: lib.name,
      archive: posix.join(outDir, lib.output ?? `lib${lib.name}.a`),
      publicIncludeDirs: (lib.publicIncludeDirs ?? [])
        .filter((d) => this.allowed('library.publicIncludeDirs', d, 'workspace', PATH_HINTS.publicIncludeDirs, its))
        .map((d) => inProject(r, d)),
    };
  }
}
