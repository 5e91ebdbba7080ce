/**
 * One BPF object from one C source or one Rust eBPF crate, cached: what a host without a build
 * graph of its own needs (bundler plugins, scripts). It is the project build made small:
 *
 *   1. planSingleObject: a bpf.config.json is synthesized for the one source (or crate) and
 *      planned with planBuild, so the compile flags, the link options (BTF on by default) and the
 *      cargo command line are exactly those of Nx and Turborepo builds;
 *   2. lookupSingleObject: ccache's "direct mode". The *direct key* hashes the source's bytes,
 *      every step's command line (flags, include directories, defines, link options), the
 *      toolchain fingerprint (clang, the libLLVM candidates, rustc and cargo), the linker version
 *      and the build environment variables. A small record per direct key lists the files the
 *      last builds read besides the source (headers from clang's depfile, crate files from
 *      cargo's dep-info) with their digests; when all of them still match, the object is read
 *      from the content-addressed store (cache/store.ts) and nothing runs;
 *   3. runSingleObject: on a miss, the plan's steps run with runSteps, the depfile is read, the
 *      object goes into the store under a key of the direct key plus those digests, and the
 *      record remembers them.
 *
 * Layout of the cache directory:
 *   objects/<k[0..2]>/<k>            the store: object bytes (and link reports) by content key
 *   records/<d[0..2]>/<d>.json       per direct key: the dependency lists seen and their objects
 *   src/<hash of the source path>/   C only: a directory holding a symbolic link to the source,
 *                                    the "workspace" the plan is made in
 *   runs/<name>.<pid>.<random>/      C only: where a build runs; removed afterwards (or, after a
 *                                    crash, by the next build once that process is gone)
 *
 * Why a link to the source: planBuild keeps sources and outputs inside the project, and a
 * bundler's source directory is no place for build outputs. The plan is made in a directory that
 * holds only a link named like the source, clang runs there with `-iquote <source directory>`
 * (what `#include "x.h"` next to the source needs, since clang looks next to the link), and the
 * object's debug info names the source by its bare file name, wherever the project lives.
 * Cargo crates are planned in their own directory (cargo's target/ is where cargo puts it).
 */
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { canonicalJson, keyedLinkOptions, sha256 } from '../cache/key';
import { openCacheStore } from '../cache/store';
import { LINKER_VERSION } from '../cache/version';
import { isLinkError } from '../errors';
import type { Logger } from '../log';
import { writeFileAtomically } from '../pipeline/output';
import { buildEnvFor, STEP_TOOLS } from './build-project';
import type { BpfProjectConfig, CargoSettings, DefineValue, LinkSettings } from './config';
import { parseDepfile } from './depfile';
import { firstToolError, type SourceDiagnostic } from './diagnostics';
import { BuildError } from './errors';
import { planBuild, type BuildPlan, type BuildStep, type CargoStep, type LinkStep, type StepKind } from './plan';
import { runSteps } from './run';
import { BPF_CONFIG_SCHEMA } from './schema';
import { probeToolchain, toolchainFingerprint, type ToolchainIdentity, type ToolchainPart } from './toolchain';
import { validateAgainstSchema, type JsonSchema } from './validate';

export type SingleObjectKind = 'c' | 'cargo';

export interface SingleObjectCompileSettings {
  /** clang to run (default: BPF_CLANG, else the newest /usr/lib/llvm-NN/bin/clang). */
  clang?: string;
  target?: 'bpf' | 'bpfel' | 'bpfeb';
  /** `-I` directories: absolute, or relative to the source's directory. */
  includeDirs?: string[];
  defines?: Record<string, DefineValue>;
  /** More clang arguments, after the planned ones. */
  flags?: string[];
}

export interface SingleObjectRequest {
  /** Absolute path of a C source (`*.c`) or of a crate's `Cargo.toml`. */
  source: string;
  /** Absolute path of the cache directory (created when missing). */
  cacheDir: string;
  compile?: SingleObjectCompileSettings;
  /** Every linker setting of bpf.config.json; BTF is on unless `btf: false`. Paths must be absolute. */
  link?: LinkSettings;
  /** Cargo settings (the manifest is `source`); `bin` defaults to the crate's first binary target. */
  cargo?: Omit<CargoSettings, 'manifest'>;
  /** The bpf-linker CLI, rustc's `-C linker=` (cargo crates need it). */
  linker?: string;
  env?: NodeJS.ProcessEnv;
  /** A probed toolchain to reuse (probeToolchain); probed when absent. */
  toolchain?: ToolchainIdentity;
  /** What to call compile/link/cargo in messages about invalid values (default `settings`): an adapter's options. */
  settingsLabel?: string;
}

export interface SingleObjectPlan {
  kind: SingleObjectKind;
  /** Absolute source path (the C file or Cargo.toml). */
  source: string;
  /** Program name: the file name without `.bpf.c`/`.c`, or the crate's binary. */
  name: string;
  cacheDir: string;
  /** Where the plan's relative paths lead: the directory holding the link to a C source, or the crate. */
  planRoot: string;
  /** C only: the name of the link to the source in planRoot (and in each run directory). */
  linkName?: string;
  plan: BuildPlan;
  directKey: string;
  toolchain: ToolchainIdentity;
  env: NodeJS.ProcessEnv;
}

export interface SingleObjectDependency {
  path: string;
  sha256: string;
}

export interface SingleObjectStepRun {
  id: string;
  kind: StepKind;
  durationMs: number;
}

export interface SingleObjectResult {
  name: string;
  bytes: Uint8Array;
  /** Store key of the object: the direct key plus the digests of every dependency. */
  objectKey: string;
  /** The object's file in the store (immutable: its name is its key). */
  objectPath: string;
  /** True when nothing ran: the record's dependencies all matched and the store had the object. */
  cached: boolean;
  /** Absolute paths of what the object was built from besides the source: headers, crate files. */
  dependencies: string[];
  /** The steps that ran (none on a hit). */
  steps: SingleObjectStepRun[];
  /** Output of the tools of a successful build (clang's warnings, cargo's progress). */
  toolOutput: string;
  /** The link report (JSON text), when the `report` setting asked for one. */
  report?: string;
}

export interface RunSingleObjectOptions {
  logger?: Logger;
  onStepStart?: (step: BuildStep) => void;
  /**
   * Change the process's working directory to where the steps run while they run. LLVM reads the
   * source lines that BTF records through the debug info's relative file names, so only then do
   * objects carry their source lines. Only for processes that do nothing else (a build worker).
   */
  chdir?: boolean;
}

const KEY_FORMAT = 'bpf-single-object-v1';
/** Records remember this many dependency lists per direct key (a header switched back and forth hits). */
const RECORD_ENTRIES = 8;

interface RecordEntry {
  objectKey: string;
  reportKey?: string;
  dependencies: SingleObjectDependency[];
}

interface CacheRecord {
  format: typeof KEY_FORMAT;
  source: string;
  entries: RecordEntry[];
}

/** `xdp.bpf.c` → `xdp`; characters a program name cannot hold become `_`. */
export function programNameOf(file: string): string {
  const base = basename(file).replace(/\.bpf\.c$|\.c$/, '');
  const safe = base.replace(/[^A-Za-z0-9_.-]/g, '_');
  return /^[A-Za-z0-9_]/.test(safe) ? safe : `_${safe}`;
}

/** The binary target of a crate: the first `[[bin]]` name, else the package name. */
export function crateBinaryName(manifestText: string): string | undefined {
  const sections = manifestText.split(/^\s*\[/m);
  const nameIn = (body: string) => /^\s*name\s*=\s*["']([^"']+)["']/m.exec(body)?.[1];
  const bin = sections.find((s) => s.startsWith('[bin]]'));
  if (bin) return nameIn(bin.slice('[bin]]'.length));
  const pkg = sections.find((s) => /^package\]/.test(s));
  return pkg ? nameIn(pkg.slice('package]'.length)) : undefined;
}

function kindOf(source: string): SingleObjectKind {
  if (basename(source) === 'Cargo.toml') return 'cargo';
  if (source.endsWith('.c')) return 'c';
  throw new BuildError('INVALID_ARGUMENT', `${source} is neither a C source (*.c) nor a crate's Cargo.toml`, {
    file: source,
    hint: 'import a .bpf.c file, or a Rust eBPF crate as ./crate/Cargo.toml?bpf',
  });
}

function readSource(source: string): Uint8Array {
  try {
    const st = statSync(source);
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
    return new Uint8Array(readFileSync(source));
  } catch (e) {
    throw new BuildError('INPUT_NOT_FOUND', `cannot read ${source}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      file: source,
      hint: 'check the import path: it is resolved relative to the importing file',
      cause: e,
    });
  }
}

/** A symbolic link `dir/name` → `target`, made atomically (several processes may race to it). */
function ensureLink(dir: string, name: string, target: string): void {
  const path = join(dir, name);
  try {
    if (readlinkSync(path) === target) return;
  } catch {
    // missing (or not a link): made below
  }
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${name}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  symlinkSync(target, tmp);
  renameSync(tmp, path);
}

/** The toolchain parts a build of this kind depends on (what the key fingerprints). */
function partsOf(kind: SingleObjectKind): ToolchainPart[] {
  return [...new Set((kind === 'c' ? (['compile', 'link'] as const) : (['cargo'] as const)).flatMap((k) => STEP_TOOLS[k]))];
}

/** The settings of a request, checked with bpf.config.json's own schema (compile, link, a program's cargo). */
const SETTINGS_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    compile: { $ref: '#/definitions/compileSettings' },
    link: { $ref: '#/definitions/linkSettings' },
    cargo: BPF_CONFIG_SCHEMA.definitions.rustProgram.properties.cargo as unknown as JsonSchema,
  },
  definitions: BPF_CONFIG_SCHEMA.definitions as unknown as JsonSchema['definitions'],
};

/** Throws INVALID_ARGUMENT listing every invalid value (`link.cpu: must be one of …`). */
export function checkSingleObjectSettings(request: Pick<SingleObjectRequest, 'compile' | 'link' | 'cargo' | 'settingsLabel'>): void {
  const settings = JSON.parse(JSON.stringify({ compile: request.compile, link: request.link, cargo: request.cargo })) as unknown;
  const problems = validateAgainstSchema(settings, SETTINGS_SCHEMA);
  if (problems.length === 0) return;
  const label = request.settingsLabel ?? 'settings';
  throw new BuildError('INVALID_ARGUMENT', `invalid ${label}:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`, {
    hint: 'the values are those of bpf.config.json (compile, link, a program\'s cargo): see bpf.config.schema.json',
  });
}

/** Plans the build of one object and computes its direct key. Reads the source; starts no process unless the toolchain must be probed. */
export function planSingleObject(request: SingleObjectRequest): SingleObjectPlan {
  checkSingleObjectSettings(request);
  const source = resolve(request.source);
  const cacheDir = resolve(request.cacheDir);
  const kind = kindOf(source);
  const env = request.env ?? process.env;
  const sourceBytes = readSource(source);
  const toolchain = request.toolchain ?? probeToolchain({ clang: request.compile?.clang, tools: partsOf(kind), env });
  // As buildProject does: BPF_LINKER_LLVM forces the library unless the settings name one.
  const link: LinkSettings = { ...request.link };
  if (!link.llvmPath && env.BPF_LINKER_LLVM) link.llvmPath = env.BPF_LINKER_LLVM;

  let name: string;
  let planRoot: string;
  let linkName: string | undefined;
  let config: BpfProjectConfig;
  if (kind === 'c') {
    const srcDir = dirname(source);
    const base = basename(source);
    // A link name planBuild's source globs cannot misread.
    linkName = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(base) ? base : `${programNameOf(base)}.c`;
    name = programNameOf(base);
    planRoot = join(cacheDir, 'src', sha256(source).slice(0, 16));
    ensureLink(planRoot, linkName, source);
    const c = request.compile ?? {};
    config = {
      outDir: 'out',
      compile: {
        clang: c.clang,
        target: c.target,
        includeDirs: (c.includeDirs ?? []).map((d) => resolve(srcDir, d)),
        defines: c.defines,
        // clang looks for `#include "x.h"` next to the file as named: the link. -iquote restores
        // the source's own directory for quoted includes (and only for those, as clang does).
        flags: ['-iquote', srcDir, ...(c.flags ?? [])],
      },
      programs: [{ name, sources: [linkName], link }],
    };
  } else {
    planRoot = dirname(source);
    const bin = request.cargo?.bin ?? crateBinaryName(new TextDecoder().decode(sourceBytes));
    if (!bin) {
      throw new BuildError('INVALID_ARGUMENT', `${source} names no binary target: no [[bin]] name and no [package] name`, {
        file: source,
        hint: 'a BPF crate is a binary crate (src/main.rs with #![no_main]); give it a [package] name, or set the cargo "bin" option',
      });
    }
    name = programNameOf(bin);
    config = { outDir: 'target/bpf-linker', programs: [{ name, cargo: { ...request.cargo, manifest: 'Cargo.toml', bin }, link }] };
  }

  const plan = planBuild(config, { workspaceRoot: planRoot, project: { name, root: '' }, toolchain, env, linker: request.linker });
  if (plan.problems.length > 0) {
    const [first, ...rest] = plan.problems;
    throw new BuildError(first.code, `${source}: ${[first, ...rest].map((p) => p.message).join('; ')}`, { file: source, hint: first.hint });
  }
  const kinds = plan.steps.map((s) => s.kind);
  const final = plan.steps.find((s): s is LinkStep | CargoStep => s.kind === 'link' || s.kind === 'cargo');
  const directKey = sha256(
    canonicalJson({
      format: KEY_FORMAT,
      linker: LINKER_VERSION,
      kind,
      source,
      sourceSha256: sha256(sourceBytes),
      toolchain: toolchainFingerprint(toolchain, partsOf(kind)),
      commands: plan.steps.map((s) => s.command),
      link: final?.kind === 'link' ? keyedLinkOptions(final.options) : final?.linkSettings,
      env: Object.fromEntries(buildEnvFor(kinds).map((v) => [v, env[v] ?? null])),
    }),
  );
  return { kind, source, name, cacheDir, planRoot, linkName, plan, directKey, toolchain, env };
}

// ---------------------------------------------------------------------------------------------
// Dependencies and records

/** Digests of files, remembered per process by (device, inode, size, mtime, ctime). */
const digests = new Map<string, { stamp: string; sha256: string }>();

/** The file's SHA-256, or undefined when it cannot be read (a dependency that vanished). */
export function fileDigest(path: string): string | undefined {
  try {
    const st = statSync(path, { bigint: true });
    if (!st.isFile()) return undefined;
    const stamp = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    const known = digests.get(path);
    // A file changed within the clock's granularity keeps its stamp: trust stamps only for
    // files older than a few seconds (ccache's "racy" rule).
    const settled = Date.now() - Number(st.mtimeMs) > 2000;
    if (known && known.stamp === stamp && settled) return known.sha256;
    const digest = sha256(readFileSync(path));
    if (settled) digests.set(path, { stamp, sha256: digest });
    return digest;
  } catch {
    return undefined;
  }
}

function recordPath(p: SingleObjectPlan): string {
  return join(p.cacheDir, 'records', p.directKey.slice(0, 2), `${p.directKey}.json`);
}

function readRecord(p: SingleObjectPlan): CacheRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(recordPath(p), 'utf8')) as CacheRecord;
    return r.format === KEY_FORMAT && Array.isArray(r.entries) ? r : undefined;
  } catch {
    return undefined;
  }
}

function objectKeyOf(directKey: string, dependencies: readonly SingleObjectDependency[]): string {
  return sha256(`${directKey}\0${dependencies.map((d) => `${d.path}\0${d.sha256}`).join('\0')}`);
}

function storeOf(p: SingleObjectPlan) {
  return openCacheStore(join(p.cacheDir, 'objects'));
}

function objectPathOf(p: SingleObjectPlan, key: string): string {
  // The store's layout: <dir>/<key[0..2]>/<key>.
  return join(p.cacheDir, 'objects', key.slice(0, 2), key);
}

/** The dependencies the last builds of this plan read, newest first (empty before the first build). */
export function knownDependencies(p: SingleObjectPlan): string[] {
  return [...new Set((readRecord(p)?.entries ?? []).flatMap((e) => e.dependencies.map((d) => d.path)))];
}

/** The cached object when the source, the flags, the toolchain and every dependency are as recorded; undefined otherwise. */
export function lookupSingleObject(p: SingleObjectPlan): SingleObjectResult | undefined {
  const record = readRecord(p);
  if (!record) return undefined;
  const store = storeOf(p);
  for (const entry of record.entries) {
    if (!entry.dependencies.every((d) => fileDigest(d.path) === d.sha256)) continue;
    const bytes = store.get(entry.objectKey);
    if (!bytes) continue;
    const report = entry.reportKey ? store.get(entry.reportKey) : undefined;
    return {
      name: p.name,
      bytes,
      objectKey: entry.objectKey,
      objectPath: objectPathOf(p, entry.objectKey),
      cached: true,
      dependencies: entry.dependencies.map((d) => d.path),
      steps: [],
      toolOutput: '',
      report: report ? new TextDecoder().decode(report) : undefined,
    };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Running

/** Plans, looks up, and builds on a miss. */
export async function buildSingleObject(request: SingleObjectRequest, options: RunSingleObjectOptions = {}): Promise<SingleObjectResult> {
  const p = planSingleObject(request);
  return lookupSingleObject(p) ?? runSingleObject(p, options);
}

/** Runs the plan's steps (no lookup), stores the object and records its dependencies. */
export async function runSingleObject(p: SingleObjectPlan, options: RunSingleObjectOptions = {}): Promise<SingleObjectResult> {
  let runRoot = p.planRoot;
  if (p.kind === 'c') {
    // Each build in a directory of its own: concurrent builds of one source never share outputs.
    // The name carries the pid, so that directories of killed builds can be swept.
    const runs = join(p.cacheDir, 'runs');
    mkdirSync(runs, { recursive: true });
    sweepDeadRuns(runs);
    runRoot = mkdtempSync(join(runs, `${p.name}.${process.pid}.`));
    ensureLink(runRoot, p.linkName!, p.source);
  }
  const previousCwd = process.cwd();
  // Files changed from here on may or may not be what the tools read (ccache's race rule).
  const startedMs = Date.now();
  let toolOutput = '';
  const steps: SingleObjectStepRun[] = [];
  try {
    if (options.chdir) process.chdir(runRoot);
    let results;
    try {
      results = await runSteps(p.plan.steps, {
        workspaceRoot: runRoot,
        env: p.env,
        logger: options.logger,
        onStepStart: options.onStepStart,
        onOutput: (text) => {
          toolOutput += text;
        },
      });
    } catch (e) {
      throw locateFailure(p, runRoot, e);
    }
    for (const r of results) steps.push({ id: r.step.id, kind: r.step.kind, durationMs: r.durationMs });
    const final = p.plan.steps.find((s): s is LinkStep | CargoStep => s.kind === 'link' || s.kind === 'cargo')!;
    const bytes = new Uint8Array(readFileSync(join(runRoot, final.output)));
    const dependencies = p.kind === 'c' ? compileDependencies(p, runRoot) : crateDependencies(p, final as CargoStep);
    const objectKey = objectKeyOf(p.directKey, dependencies);
    const store = storeOf(p);
    store.put(objectKey, bytes);
    let report: string | undefined;
    let reportKey: string | undefined;
    if (final.report) {
      try {
        report = readFileSync(join(runRoot, final.report), 'utf8');
        reportKey = sha256(`${objectKey}\0report`);
        store.put(reportKey, new TextEncoder().encode(report));
      } catch {
        // cargo's linker did not write one: nothing to keep
      }
    }
    // A source or header edited while the build ran: the object may be built from either
    // version, so it is not recorded (the next build runs again rather than trust it). Cargo.lock
    // is written by cargo itself during the build.
    const racy = [p.source, ...dependencies.map((d) => d.path)].some((f) => basename(f) !== 'Cargo.lock' && modifiedSince(f, startedMs));
    if (!racy) {
      const previous = readRecord(p)?.entries ?? [];
      const entry: RecordEntry = { objectKey, reportKey, dependencies };
      const record: CacheRecord = {
        format: KEY_FORMAT,
        source: p.source,
        entries: [entry, ...previous.filter((e) => e.objectKey !== objectKey)].slice(0, RECORD_ENTRIES),
      };
      writeFileAtomically(recordPath(p), `${JSON.stringify(record)}\n`);
    }
    return {
      name: p.name,
      bytes,
      objectKey,
      objectPath: objectPathOf(p, objectKey),
      cached: false,
      dependencies: dependencies.map((d) => d.path),
      steps,
      toolOutput,
      report,
    };
  } finally {
    if (options.chdir) process.chdir(previousCwd);
    if (runRoot !== p.planRoot) rmSync(runRoot, { recursive: true, force: true });
  }
}

/** Removes the run directories of processes that no longer exist (a build killed halfway). */
function sweepDeadRuns(runs: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(runs);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/\.(\d+)\.[^.]+$/.exec(name)?.[1]);
    if (!pid || pid === process.pid || processAlive(pid)) continue;
    rmSync(join(runs, name), { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function digestAll(paths: Iterable<string>): SingleObjectDependency[] {
  const out: SingleObjectDependency[] = [];
  for (const path of [...new Set(paths)].sort()) {
    const digest = fileDigest(path);
    // A dependency that cannot be read now is recorded as missing: the entry never matches.
    out.push({ path, sha256: digest ?? 'missing' });
  }
  return out;
}

/** Headers from clang's depfile (absolute; the link to the source is the source itself, keyed already). */
function compileDependencies(p: SingleObjectPlan, runRoot: string): SingleObjectDependency[] {
  const compile = p.plan.steps.find((s) => s.kind === 'compile');
  if (!compile || compile.kind !== 'compile') return [];
  const deps = parseDepfile(readFileSync(join(runRoot, compile.depfile), 'utf8'))
    .filter((d) => d !== p.linkName && d !== `./${p.linkName}`)
    .map((d) => resolve(runRoot, d))
    .filter((d) => d !== p.source);
  return digestAll(deps);
}

/**
 * What cargo read (its dep-info file next to the artifact: every source file of the crate and of
 * its path dependencies) plus the manifests and lock file of the cargo workspace above the crate
 * (profiles and locked versions change the object; dep-info does not list them).
 */
function crateDependencies(p: SingleObjectPlan, step: CargoStep): SingleObjectDependency[] {
  const files: string[] = [];
  try {
    const depInfo = readFileSync(join(p.planRoot, `${step.artifact}.d`), 'utf8');
    files.push(...parseDepfile(depInfo).map((d) => resolve(p.planRoot, d)));
  } catch {
    // no dep-info: only the manifests below are checked
  }
  for (let dir = p.planRoot; ; dir = dirname(dir)) {
    for (const f of ['Cargo.toml', 'Cargo.lock', 'rust-toolchain', 'rust-toolchain.toml', '.cargo/config.toml']) {
      const path = join(dir, f);
      if (path !== p.source && isFile(path)) files.push(path);
    }
    if (dirname(dir) === dir) break;
  }
  return digestAll(files.filter((f) => f !== p.source));
}

function modifiedSince(path: string, ms: number): boolean {
  try {
    return statSync(path).mtimeMs >= ms;
  } catch {
    return true;
  }
}

function isFile(path: string): boolean {
  try {
    return lstatSync(path).isFile() || statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * A failed compile or cargo run, restated for the user: the located error first
 * (`file:line:col: error: …`, with the real source path instead of the link's name), the tool's
 * output, and a hint. Other errors pass through.
 */
function locateFailure(p: SingleObjectPlan, runRoot: string, e: unknown): unknown {
  if (!isLinkError(e) || (e.code !== 'COMPILE_FAILED' && e.code !== 'CARGO_FAILED')) return e;
  let output = e.output ?? '';
  if (p.linkName) {
    const escaped = p.linkName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    // `xdp.bpf.c:3:5: error`, `In file included from xdp.bpf.c:1:`: the link's name → the source.
    output = output.replace(new RegExp(`(^|[\\s(])(?:\\./)?${escaped}(?=:\\d)`, 'gm'), `$1${p.source}`);
  }
  const diagnostic = locate(p, runRoot, output);
  const tool = p.kind === 'c' ? 'clang' : 'cargo';
  const where = diagnostic ? `${diagnostic.file}:${diagnostic.line}:${diagnostic.column}: ${diagnostic.severity}: ${diagnostic.message}` : `${tool} failed on ${p.source}`;
  return new SingleObjectBuildError(where, {
    code: e.code,
    file: diagnostic?.file ?? p.source,
    output,
    diagnostic,
    hint: diagnostic
      ? `fix ${diagnostic.file} at line ${diagnostic.line}, column ${diagnostic.column}; the object is rebuilt when the file changes`
      : p.kind === 'c'
        ? `see clang's output above; the command was: ${e.hint?.replace(/^the command was: /, '') ?? ''}`
        : `see cargo's output above (RUSTC and CARGO choose the toolchain: Debian's /usr/bin/rustc has a prebuilt BPF core)`,
  });
}

/** The first error, its file made absolute: clang names files from where it ran, cargo from the cargo workspace root. */
function locate(p: SingleObjectPlan, runRoot: string, output: string): SourceDiagnostic | undefined {
  const d = firstToolError(output);
  if (!d || isAbsolute(d.file)) return d;
  for (let dir = p.kind === 'c' ? runRoot : p.planRoot; ; dir = dirname(dir)) {
    if (isFile(join(dir, d.file))) return { ...d, file: join(dir, d.file) };
    if (dirname(dir) === dir) return { ...d, file: resolve(p.kind === 'c' ? dirname(p.source) : p.planRoot, d.file) };
  }
}

/**
 * A failed compile (clang or cargo) with its first error located: a BuildError (`code`, `file`,
 * `output`, `hint`) whose message starts `file:line:col: error: …`, and the located diagnostic.
 */
export class SingleObjectBuildError extends BuildError {
  readonly diagnostic?: SourceDiagnostic;

  constructor(message: string, details: { code: 'COMPILE_FAILED' | 'CARGO_FAILED'; file: string; output: string; hint: string; diagnostic?: SourceDiagnostic }) {
    super(details.code, message, { file: details.file, output: details.output, hint: details.hint });
    this.name = 'SingleObjectBuildError';
    this.diagnostic = details.diagnostic;
  }
}
