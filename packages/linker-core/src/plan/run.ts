/**
 * Running the steps of a BuildPlan: clang and cargo as processes, archiving and linking in
 * process (the archive writer, linkSync). Each step writes only its declared outputs, and the
 * link and cargo steps write a manifest describing the object next to it.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, posix, resolve } from 'node:path';
import { canonicalJson, linkCacheKey, keyedLinkOptions, sha256 } from '../cache/key';
import { coreBtfDigest, effectiveCoreBtf } from '../btf/core-btf-identity';
import { LINKER_VERSION } from '../cache/version';
import type { Logger } from '../log';
import { silentLogger } from '../log';
import { readBpfObject } from '../object/bpf-object';
import { linkSync, type LinkResult } from '../pipeline/link';
import { writeFileAtomically } from '../pipeline/output';
import { writeArchive } from './archive-writer';
import type { LinkSettings } from './config';
import { BuildError } from './errors';
import type { ArchiveStep, BuildStep, CargoStep, CompileStep, LinkStep } from './plan';

export interface RunStepOptions {
  workspaceRoot: string;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** The tools' own output (clang warnings, cargo's progress), as it arrives. */
  onOutput?: (text: string) => void;
}

export interface BuildManifest {
  manifestVersion: 1;
  program: string;
  /** File name of the object, next to the manifest. */
  object: string;
  sha256: string;
  size: number;
  linker: string;
  /** The libLLVM that linked it: version and file name. */
  llvm?: { version: string; library: string };
  rustc?: string;
  /** linkCacheKey of the link (C programs); for Rust, a key over the crate's files, rustc, libLLVM and settings. */
  cacheKey?: string;
  inputs?: { path: string; sha256: string }[];
  options?: Record<string, unknown>;
  programs: { name: string; section: string }[];
  maps: { name: string; type?: string }[];
  license?: string;
  btf: boolean;
}

export interface StepResult {
  step: BuildStep;
  durationMs: number;
  link?: LinkResult;
  manifest?: BuildManifest;
}

const abs = (root: string, p: string) => (isAbsolute(p) ? p : join(root, p));

export async function runStep(step: BuildStep, options: RunStepOptions): Promise<StepResult> {
  const started = performance.now();
  const result: StepResult = { step, durationMs: 0 };
  switch (step.kind) {
    case 'compile':
      await runCompile(step, options);
      break;
    case 'archive':
      runArchive(step, options);
      break;
    case 'link':
      Object.assign(result, runLink(step, options));
      break;
    case 'cargo':
      result.manifest = await runCargo(step, options);
      break;
  }
  result.durationMs = performance.now() - started;
  return result;
}

/**
 * Runs steps in dependency order (dependencies outside `steps` are taken as done), up to
 * `concurrency` process steps at a time. Stops starting new steps after the first failure and
 * rethrows it once the running ones end.
 */
export async function runSteps(steps: readonly BuildStep[], options: RunStepOptions & { concurrency?: number; onStepStart?: (s: BuildStep) => void }): Promise<StepResult[]> {
  const ids = new Set(steps.map((s) => s.id));
  const done = new Set<string>();
  const results: StepResult[] = [];
  const pending = [...steps];
  const limit = Math.max(1, options.concurrency ?? 1);
  let failure: unknown;
  const running = new Set<Promise<void>>();
  const ready = (s: BuildStep) => s.dependsOn.every((d) => !ids.has(d) || done.has(d));
  while ((pending.length > 0 || running.size > 0) && failure === undefined) {
    let started = false;
    while (running.size < limit && failure === undefined) {
      const i = pending.findIndex(ready);
      if (i < 0) break;
      const [step] = pending.splice(i, 1);
      started = true;
      options.onStepStart?.(step);
      const p: Promise<void> = runStep(step, options).then(
        (r) => {
          results.push(r);
          done.add(step.id);
        },
        (e) => {
          failure ??= e;
        },
      );
      const tracked = p.finally(() => running.delete(tracked));
      running.add(tracked);
    }
    if (running.size === 0 && !started) {
      if (pending.length > 0) throw new Error(`steps wait for each other: ${pending.map((s) => s.id).join(', ')}`);
      break;
    }
    if (running.size > 0) await Promise.race(running);
  }
  await Promise.all(running);
  if (failure !== undefined) throw failure;
  return results;
}

interface ProcessRun {
  code: number | null;
  output: string;
  spawnError?: NodeJS.ErrnoException;
}

function runProcess(command: string[], options: RunStepOptions, extraEnv: Record<string, string> = {}, stream = false): Promise<ProcessRun> {
  return new Promise((resolve) => {
    let output = '';
    const child = spawn(command[0], command.slice(1), {
      cwd: options.workspaceRoot,
      env: { ...(options.env ?? process.env), ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output += text;
      if (stream) options.onOutput?.(text);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (e) => resolve({ code: null, output, spawnError: e }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

async function runCompile(step: CompileStep, options: RunStepOptions): Promise<void> {
  mkdirSync(dirname(abs(options.workspaceRoot, step.output)), { recursive: true });
  const r = await runProcess(step.command, options);
  if (r.spawnError) {
    throw new BuildError('TOOL_NOT_FOUND', `cannot run ${step.command[0]}: ${r.spawnError.code ?? r.spawnError.message}`, {
      hint: 'install clang (apt-get install clang-22), or set "compile.clang" in bpf.config.json or BPF_CLANG',
      cause: r.spawnError,
    });
  }
  if (r.code !== 0) {
    throw new BuildError('COMPILE_FAILED', `clang failed on ${step.source} (exit ${r.code})`, {
      file: step.source,
      output: r.output,
      hint: `the command was: ${step.command.join(' ')}`,
    });
  }
  // Warnings of a successful compile still matter to the user.
  if (r.output.trim()) options.onOutput?.(r.output);
}

function runArchive(step: ArchiveStep, options: RunStepOptions): void {
  const members = step.members.map((m) => {
    try {
      return { name: basename(m), bytes: readFileSync(abs(options.workspaceRoot, m)) };
    } catch (e) {
      throw new BuildError('ARCHIVE_FAILED', `cannot read archive member ${m}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
        file: m,
        hint: 'compile the library sources first (the compile step)',
        cause: e,
      });
    }
  });
  // Same basename from two directories: keep both, distinguishable.
  const seen = new Map<string, number>();
  for (const m of members) {
    const n = seen.get(m.name) ?? 0;
    seen.set(m.name, n + 1);
    if (n > 0) m.name = m.name.replace(/(\.bc)?$/, `.${n}$1`);
  }
  writeFileAtomically(abs(options.workspaceRoot, step.output), writeArchive(members));
}

function runLink(step: LinkStep, options: RunStepOptions): { link: LinkResult; manifest?: BuildManifest } {
  const root = options.workspaceRoot;
  const linkOptions = {
    ...step.options,
    inputs: step.options.inputs.map((i) => (typeof i === 'string' ? abs(root, i) : i)),
    output: abs(root, step.output),
    dumpModule: step.options.dumpModule ? abs(root, step.options.dumpModule) : undefined,
    llvmPath: step.options.llvmPath && step.options.llvmPath.includes('/') ? abs(root, step.options.llvmPath) : step.options.llvmPath,
    coreBtf: step.options.coreBtf ? abs(root, step.options.coreBtf) : undefined,
    // clang ran in the workspace root (-fdebug-compilation-dir=.): the BTF line text is read from
    // there, whatever the working directory of the build tool (`nx` typed in a project directory).
    sourceRoot: root,
  };
  const inputBytes = step.inputs.map((i) => new Uint8Array(readFileSync(abs(root, i))));
  // The manifest and the report are checked with the object: none may replace an input or a
  // device, and no two may be the same file.
  const files = {
    outputs: [
      { path: abs(root, step.manifest), role: 'the manifest' },
      ...(step.report !== undefined ? [{ path: abs(root, step.report), role: 'the report' }] : []),
    ],
  };
  const link = linkSync(linkOptions, { logger: options.logger ?? silentLogger, env: options.env ?? process.env, report: step.report !== undefined, files });
  const cacheKey = linkCacheKey({ llvm: { version: link.llvm.version }, options: step.options, inputs: inputBytes });
  const manifest: BuildManifest = {
    ...describeObject(step.program, step.output, link.bytes, step.options.emit === 'obj'),
    llvm: { version: link.llvm.version, library: basename(link.llvm.path) },
    cacheKey,
    inputs: step.inputs.map((path, i) => ({ path, sha256: sha256(inputBytes[i]) })),
    options: keyedLinkOptions(step.options),
  };
  writeManifest(root, step.manifest, manifest);
  if (step.report && link.report) {
    // Without timings, unlike the CLI's --report, and with the inputs' paths relative to the
    // workspace (the link was given absolute ones): the file is a cached output and must be the
    // same in every checkout.
    const inWorkspace = `${resolve(root)}/`;
    const relativePaths = (_key: string, v: unknown) => (typeof v === 'string' ? v.replaceAll(inWorkspace, '') : v);
    writeFileAtomically(abs(root, step.report), `${JSON.stringify({ output: step.output, llvm: manifest.llvm, ...link.report }, relativePaths, 2)}\n`);
  }
  return { link, manifest };
}

async function runCargo(step: CargoStep, options: RunStepOptions): Promise<BuildManifest> {
  const r = await runProcess(step.command, options, step.env, true);
  if (r.spawnError) {
    throw new BuildError('TOOL_NOT_FOUND', `cannot run ${step.command[0]}: ${r.spawnError.code ?? r.spawnError.message}`, {
      hint: 'install cargo and rustc with the BPF target (Debian: cargo-web, rustc-web, libstd-rust-web-dev-bpf), or set CARGO',
      cause: r.spawnError,
    });
  }
  if (r.code !== 0) {
    const output = r.output.split('\n').slice(-40).join('\n');
    // rustup's stable (or any toolchain without the BPF target) first on PATH: the usual trap.
    if (/can't find crate for `core`|error\[E0463\]/.test(r.output)) {
      const toolchain = step.env.RUSTC ? `rustc ${step.env.RUSTC}` : step.env.RUSTUP_TOOLCHAIN ? `the rustup toolchain ${step.env.RUSTUP_TOOLCHAIN}` : `the rustc cargo found (${step.toolchain.rustc?.path ?? 'rustc'}${step.toolchain.rustc?.version ? `: ${step.toolchain.rustc.version}` : ''})`;
      const triple = step.command[step.command.indexOf('--target') + 1];
      throw new BuildError('CARGO_FAILED', `cargo failed for ${step.cargoManifest}: ${toolchain} has no \`core\` for ${triple}`, {
        file: step.cargoManifest,
        output,
        hint:
          'choose a toolchain with a prebuilt BPF core in bpf.config.json: "cargo": { "rustc": "/usr/bin/rustc" } (Debian: apt-get install rustc-web cargo-web ' +
          'libstd-rust-web-dev-bpf), or build core from source: "cargo": { "toolchain": "nightly", "buildStd": true } after rustup component add rust-src --toolchain nightly',
      });
    }
    throw new BuildError('CARGO_FAILED', `cargo failed for ${step.cargoManifest} (exit ${r.code})`, {
      file: step.cargoManifest,
      output,
      hint: `the command was: ${step.command.join(' ')}`,
    });
  }
  const root = options.workspaceRoot;
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(abs(root, step.artifact)));
  } catch (e) {
    throw new BuildError('ARTIFACT_MISSING', `cargo succeeded but ${step.artifact} is missing`, {
      file: step.artifact,
      hint: 'check "cargo.bin" (the binary target name) and "cargo.profile" in bpf.config.json',
      cause: e,
    });
  }
  mkdirSync(dirname(abs(root, step.output)), { recursive: true });
  copyFileSync(abs(root, step.artifact), abs(root, step.output));
  // The libLLVM that really linked, from the linker's report (else the one expected to).
  const linked = readLinkReportLlvm(abs(root, step.linkReport));
  const llvm = linked ?? (step.toolchain.llvm ? { version: step.toolchain.llvm.version, library: basename(step.toolchain.llvm.path) } : undefined);
  const inputs = step.inputs.map((path) => ({ path, sha256: sha256(readFileSync(abs(root, path))) }));
  const rustc = step.toolchain.rustc?.version;
  const manifest: BuildManifest = {
    ...describeObject(step.program, step.output, bytes, true),
    llvm,
    rustc,
    cacheKey: cargoCacheKey({ rustc, llvm: llvm?.version, settings: step.linkSettings, env: step.env, inputs, coreBtf: coreBtfOf(step.linkSettings, root) }),
    inputs,
    options: step.linkSettings as Record<string, unknown>,
  };
  writeManifest(root, step.manifest, manifest);
  return manifest;
}

/** The content digest of the kernel BTF a crate's link relocates against (a relative coreBtf is the project's). */
function coreBtfOf(settings: LinkSettings, root: string): string | undefined {
  const btf = effectiveCoreBtf(settings);
  return btf === undefined ? undefined : coreBtfDigest(abs(root, btf));
}

/** `llvm` of a link report the CLI wrote (`{ path, version }`), as the manifest records it. */
function readLinkReportLlvm(path: string): { version: string; library: string } | undefined {
  try {
    const report = JSON.parse(readFileSync(path, 'utf8')) as { llvm?: { path?: string; version?: string } };
    if (typeof report.llvm?.version === 'string' && typeof report.llvm.path === 'string') return { version: report.llvm.version, library: basename(report.llvm.path) };
  } catch {
    // no report (an older linker, or cargo reused an object linked before): the expected library
  }
  return undefined;
}

/**
 * What decides a Rust object, as a key: the crate's files, rustc, the libLLVM that linked, the
 * link settings and the toolchain environment; the linker's version too. Equal keys, equal objects.
 */
function cargoCacheKey(k: { rustc?: string; llvm?: string; settings: LinkSettings; env: Record<string, string>; inputs: { path: string; sha256: string }[]; coreBtf?: string }): string {
  return createHash('sha256').update(canonicalJson({ format: 'cargo-1', linker: LINKER_VERSION, ...k })).digest('hex');
}

function describeObject(program: string, output: string, bytes: Uint8Array, isObject: boolean): BuildManifest {
  const base: BuildManifest = {
    manifestVersion: 1,
    program,
    object: posix.basename(output),
    sha256: sha256(bytes),
    size: bytes.length,
    linker: LINKER_VERSION,
    programs: [],
    maps: [],
    btf: false,
  };
  if (!isObject) return base;
  const obj = readBpfObject(bytes);
  return {
    ...base,
    programs: obj.programs.filter((p) => !p.isSubprogram).map((p) => ({ name: p.name, section: p.section })),
    maps: obj.maps.map((m) => ({ name: m.name, type: m.typeName })),
    license: obj.license,
    btf: obj.btf !== undefined,
  };
}

function writeManifest(root: string, path: string, manifest: BuildManifest): void {
  writeFileAtomically(abs(root, path), `${JSON.stringify(manifest, null, 2)}\n`);
}
