/**
 * Building one project, as every build-system adapter does it: plan the project's
 * bpf.config.json with planBuild, refuse on planning problems, probe only the tools the chosen
 * steps use, and run them with the runner. The Nx executors and `bpf-turbo build` both call this;
 * they differ only in how they find the project and print.
 */
import { availableParallelism } from 'node:os';
import type { Logger } from '../log';
import { cargoToolchainEnv, isRustProgram, type BpfProjectConfig, type LinkSettings } from './config';
import { BuildError } from './errors';
import { planBuild, type BpfProjectRef, type BuildPlan, type BuildStep, type StepKind } from './plan';
import { runSteps, type BuildManifest, type StepResult } from './run';
import { probeToolchain } from './toolchain';

/**
 * Environment variables a build reads, by the step kinds that read them. Build systems without a
 * runtime input must hash them (turbo.json `env`, Nx `{ env }` inputs).
 */
export const BUILD_ENV: Readonly<Record<string, readonly StepKind[]>> = {
  BPF_CLANG: ['compile', 'link'],
  BPF_LINKER_LLVM: ['link', 'cargo'],
  RUSTC: ['cargo'],
  CARGO: ['cargo'],
  RUSTFLAGS: ['cargo'],
  CARGO_ENCODED_RUSTFLAGS: ['cargo'],
  RUSTUP_TOOLCHAIN: ['cargo'],
};

/**
 * Variables the linker reads at run time that never change what it writes (time limits, the
 * crash watcher): a build system passes them through without hashing them.
 */
export const LINKER_RUNTIME_ENV: readonly string[] = ['BPF_LINKER_READ_TIMEOUT', 'BPF_LINKER_CODEGEN_TIMEOUT', 'BPF_LINKER_CRASH_GUARD'];

/** The variables of BUILD_ENV that steps of these kinds read. */
export function buildEnvFor(kinds: Iterable<StepKind>): string[] {
  const want = new Set(kinds);
  return Object.entries(BUILD_ENV)
    .filter(([, ks]) => ks.some((k) => want.has(k)))
    .map(([name]) => name);
}

/** Tools whose identity each kind of step depends on (what probeToolchain asks). */
export const STEP_TOOLS: Readonly<Record<StepKind, ReadonlyArray<'clang' | 'llvm' | 'rust'>>> = {
  compile: ['clang'],
  archive: [],
  link: ['clang', 'llvm'],
  cargo: ['rust', 'llvm'],
};

export interface BuildProjectOptions {
  workspaceRoot: string;
  /** `root` is workspace-relative. */
  project: { name: string; root: string };
  config: BpfProjectConfig;
  /** The workspace's BPF projects, for `libraries` naming a project. */
  projects: readonly BpfProjectRef[];
  /** Only steps of these kinds (default: all, in dependency order). */
  kinds?: readonly StepKind[];
  /** Only these programs (by name); library steps always run. */
  programs?: readonly string[];
  /** The bpf-linker CLI: rustc's linker. Cargo steps need it. */
  linker?: string;
  linkOverrides?: LinkSettings;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  onStepStart?: (step: BuildStep) => void;
  onOutput?: (text: string) => void;
}

export interface ProjectBuild {
  plan: BuildPlan;
  /** Planning problems that stop the build: when there are any, nothing ran. */
  problems: BuildError[];
  steps: BuildStep[];
  results: StepResult[];
}

/** Plans and runs a project's steps. Step failures throw (a BuildError or LinkError). */
/** The toolchain environment of the project's first Rust program (empty without one). */
export function rustToolchainEnv(config: BpfProjectConfig): Record<string, string> {
  const rust = (config.programs ?? []).find(isRustProgram);
  return rust ? cargoToolchainEnv(rust.cargo) : {};
}

export async function buildProject(o: BuildProjectOptions): Promise<ProjectBuild> {
  const env = o.env ?? process.env;
  const kinds = new Set<StepKind>(o.kinds ?? ['compile', 'archive', 'link', 'cargo']);
  const overrides: LinkSettings = { ...o.linkOverrides };
  // As the CLI does: BPF_LINKER_LLVM forces the library unless the config names one.
  if (!overrides.llvmPath && !o.config.link?.llvmPath && env.BPF_LINKER_LLVM) overrides.llvmPath = env.BPF_LINKER_LLVM;
  const tools = new Set([...kinds].flatMap((k) => STEP_TOOLS[k]));
  const plan = planBuild(o.config, {
    workspaceRoot: o.workspaceRoot,
    project: o.project,
    projects: o.projects,
    // The rustc of the config's first crate is the one cargo will run (its toolchain setting).
    toolchain: probeToolchain({ clang: o.config.compile?.clang, tools: [...tools], env: { ...env, ...rustToolchainEnv(o.config) } }),
    linker: o.linker,
    linkOverrides: overrides,
    env,
  });
  const wanted = (s: BuildStep) => kinds.has(s.kind) && (!o.programs?.length || !('program' in s) || o.programs.includes(s.program));
  const steps = plan.steps.filter(wanted);
  // A library that a link needs does not stop steps that do not link.
  const problems = plan.problems.filter((p) => p.code !== 'LIBRARY_NOT_FOUND' || kinds.has('link') || kinds.has('compile'));
  if (problems.length > 0) return { plan, problems, steps, results: [] };
  if (!o.linker && steps.some((s) => s.kind === 'cargo')) {
    throw new BuildError('TOOL_NOT_FOUND', 'cannot find the bpf-linker CLI (@bpf-linker/cli), which cargo needs as its linker', {
      hint: 'npm install -D @bpf-linker/cli',
    });
  }
  const results = await runSteps(steps, {
    workspaceRoot: o.workspaceRoot,
    env,
    logger: o.logger,
    // clang and cargo run as processes in parallel; links run in this process, one at a time.
    concurrency: availableParallelism(),
    onStepStart: o.onStepStart,
    onOutput: o.onOutput,
  });
  return { plan, problems, steps, results };
}

/** One line about a built object: `dist/bpf/x.o: xdp_prog (xdp), 1 map, BTF, 1234 bytes, LLVM 22.1`. */
export function describeManifest(m: BuildManifest, path?: string): string {
  const programs = m.programs.map((p) => `${p.name} (${p.section})`).join(', ');
  const maps = m.maps.length ? `, ${m.maps.length} map${m.maps.length === 1 ? '' : 's'}` : '';
  const llvm = m.llvm ? `, LLVM ${m.llvm.version}` : '';
  return `${path ?? m.object}: ${programs || 'no programs'}${maps}${m.btf ? ', BTF' : ''}, ${m.size} bytes${llvm}`;
}
