/**
 * turbo.json planning: the tasks a monorepo needs for its BPF packages, derived from the core's
 * planBuild of each package (never written by hand here):
 *
 * - root `turbo.json`: `bpf:build` (dependencies' builds first: `^bpf:build`), `bpf:verify`,
 *   `bpf:inspect`, the environment the build reads (`env`, hashed), and the toolchain pin in
 *   `globalDependencies`;
 * - each BPF package's own `turbo.json` (`extends: ["//"]`): the exact `inputs` (config, source
 *   globs, the headers of its include directories and libraries, crate files) and `outputs`
 *   (objects, archives, manifests; never bitcode or cargo's target/);
 * - each BPF package's `package.json`: the three scripts, the adapter as a devDependency (so the
 *   lockfile hash follows linker upgrades) and its BPF libraries as workspace dependencies (so
 *   `^bpf:build` orders them).
 *
 * planTurbo returns plain edits (JsonEdit lists per file); init applies or checks them.
 */
import { posix } from 'node:path';
import { BPF_CONFIG_FILE, LINKER_RUNTIME_ENV, buildEnvFor, isRustProgram, planBuild, type BpfProjectConfig, type BpfProjectRef, type BuildPlan } from '@bpf-linker/core';
import type { JsonEdit } from './jsonc-edit';
import { PIN_FILE } from './pin';
import type { PackageManager, TurboWorkspace } from './workspace';

export const TASKS = { build: 'bpf:build', verify: 'bpf:verify', inspect: 'bpf:inspect' } as const;
export const ADAPTER_PACKAGE = '@bpf-linker/turbo';
export const SCRIPTS: Record<string, string> = {
  [TASKS.build]: 'bpf-turbo build',
  [TASKS.verify]: 'bpf-turbo verify',
  [TASKS.inspect]: 'bpf-turbo inspect',
};
export const TURBO_SCHEMA = 'https://turborepo.com/schema.json';

/**
 * What a crate of a Cargo workspace runs instead of a package script (turbo ≥ 2.11 task
 * commands, an argv array: no shell). npx finds the adapter in the root node_modules.
 */
export const crateCommand = (command: 'build' | 'verify' | 'inspect') => ['npx', '--no-install', 'bpf-turbo', command];

/**
 * Variables cargo, rustup and the linker need at run time that do not change the output (not
 * hashed; turbo's strict mode would otherwise hide them from the task).
 */
export const PASS_THROUGH_ENV = ['HOME', 'CARGO_HOME', 'RUSTUP_HOME', 'CARGO_NET_OFFLINE', ...LINKER_RUNTIME_ENV];

export interface TaskDefinition {
  dependsOn?: string[];
  inputs?: string[];
  outputs?: string[];
  env?: string[];
  passThroughEnv?: string[];
  cache?: boolean;
}

/** Files that change how cargo builds a crate, besides its sources and manifest. */
const CARGO_CONFIG = ['rust-toolchain.toml', 'rust-toolchain', '.cargo/config.toml'];

/** Generic inputs and outputs, for a BPF package without its own turbo.json. */
const GENERIC_INPUTS = [BPF_CONFIG_FILE, '**/*.c', '**/*.h', '**/*.rs', 'Cargo.toml', 'Cargo.lock', 'rust-toolchain.toml', '!dist/**', '!target/**'];
const GENERIC_OUTPUTS = ['dist/bpf/*.o', 'dist/bpf/*.a', 'dist/bpf/*.manifest.json', 'dist/bpf/*.report.json'];

export function rootTasks(): Record<string, TaskDefinition> {
  return {
    [TASKS.build]: {
      dependsOn: [`^${TASKS.build}`],
      inputs: GENERIC_INPUTS,
      outputs: GENERIC_OUTPUTS,
      env: buildEnvFor(['compile', 'archive', 'link', 'cargo']),
      passThroughEnv: PASS_THROUGH_ENV,
    },
    // The verdict depends on the running kernel, which nothing in the hash describes.
    [TASKS.verify]: { dependsOn: [TASKS.build], cache: false },
    // What inspect prints depends only on the objects: the build's hash covers them.
    [TASKS.inspect]: { dependsOn: [TASKS.build], inputs: [], outputs: [] },
  };
}

/**
 * A workspace-relative path or glob as a turbo glob relative to the package at `root`: paths
 * outside the package climb with `../` (turbo 2.0–2.4 ignore `$TURBO_ROOT$` silently).
 */
export function packageGlob(root: string, path: string): string {
  const negated = path.startsWith('!');
  const p = negated ? path.slice(1) : path;
  return `${negated ? '!' : ''}${posix.relative(root || '.', p) || '.'}`;
}

/** The exact inputs and outputs of one package's bpf:build, from its plan. */
export function packageTask(plan: BuildPlan, config: BpfProjectConfig): Required<Pick<TaskDefinition, 'inputs' | 'outputs'>> {
  const root = plan.project.root;
  const g = (p: string) => packageGlob(root, p);
  const inputs: string[] = [BPF_CONFIG_FILE];
  // Source globs as written (a new file matching them is an input too), then headers.
  const units = [...(config.library ? [config.library] : []), ...(config.programs ?? []).filter((p) => !isRustProgram(p))];
  for (const u of units) for (const s of (u as { sources: string[] }).sources) inputs.push(posix.normalize(s));
  for (const step of plan.steps) {
    if (step.kind === 'compile') inputs.push(...step.inputPatterns.filter((p) => p !== step.source).map(g));
    if (step.kind === 'cargo') {
      const crate = posix.dirname(step.cargoManifest);
      inputs.push(...step.inputPatterns.map(g), ...CARGO_CONFIG.map((f) => g(posix.join(crate, f))));
      // A member of a Cargo workspace above it reads that workspace's manifest (profiles), lock
      // file and configuration too.
      if (crate !== '.' && crate !== '') inputs.push(...['Cargo.toml', 'Cargo.lock', ...CARGO_CONFIG].map(g));
    }
  }
  for (const lib of plan.libraries) if (lib.kind === 'archive') inputs.push(g(lib.archive));
  const outRel = g(plan.outDir);
  inputs.push(`!${outRel}/**`);
  if (plan.steps.some((s) => s.kind === 'cargo')) inputs.push(...[...new Set(plan.steps.flatMap((s) => (s.kind === 'cargo' ? [`!${g(s.targetDir)}/**`] : [])))]);
  return { inputs: [...new Set(inputs)], outputs: [...new Set(plan.outputs.map(g))] };
}

export interface PlannedFile {
  /** Workspace-relative. */
  path: string;
  /** Text of a new file (when it does not exist). */
  create: () => string;
  edits: JsonEdit[];
}

export interface TurboPlanOptions {
  /** The version spec a BPF package (by its root) depends on the adapter with. */
  adapterSpec: (packageRoot: string) => string;
  /** The root turbo config file name (turbo.json or turbo.jsonc). */
  turboFile: string;
}

function workspaceDependencySpec(pm: PackageManager): string {
  return pm === 'pnpm' ? 'workspace:*' : '*';
}

export interface TurboPlan {
  files: PlannedFile[];
  plans: { project: BpfProjectRef; plan: BuildPlan }[];
}

export function planTurbo(ws: TurboWorkspace, options: TurboPlanOptions): TurboPlan {
  const files: PlannedFile[] = [];
  const tasks = rootTasks();
  const rootEdits: JsonEdit[] = [
    { op: 'default', path: ['$schema'], value: TURBO_SCHEMA },
    { op: 'include', path: ['globalDependencies'], items: [PIN_FILE] },
  ];
  for (const [name, def] of Object.entries(tasks)) {
    rootEdits.push({ op: 'default', path: ['tasks', name], value: {} });
    for (const [key, value] of Object.entries(def)) {
      rootEdits.push(Array.isArray(value) ? { op: 'include', path: ['tasks', name, key], items: value } : { op: 'set', path: ['tasks', name, key], value });
    }
  }
  files.push({ path: options.turboFile, create: () => '{}\n', edits: rootEdits });

  const plans: TurboPlan['plans'] = [];
  let crates = false;
  for (const project of ws.bpfProjects) {
    const plan = planBuild(project.config, { workspaceRoot: ws.root, project: { name: project.name, root: project.root }, projects: ws.bpfProjects });
    plans.push({ project, plan });
    const task = packageTask(plan, project.config);
    const pkg = ws.packages.find((p) => p.name === project.name);
    const turboEdits: JsonEdit[] = [
      { op: 'default', path: ['$schema'], value: TURBO_SCHEMA },
      { op: 'include', path: ['extends'], items: ['//'] },
      { op: 'set', path: ['tasks', TASKS.build, 'inputs'], value: task.inputs },
      { op: 'set', path: ['tasks', TASKS.build, 'outputs'], value: task.outputs },
    ];
    if (pkg?.source === 'cargo') {
      // No package.json: task commands instead of scripts, and turbo's inferred `build` (cargo
      // build for the host, which cannot build a BPF crate) replaced by the BPF build.
      turboEdits.push(
        { op: 'set', path: ['tasks', TASKS.build, 'command'], value: crateCommand('build') },
        { op: 'set', path: ['tasks', TASKS.verify, 'command'], value: crateCommand('verify') },
        { op: 'set', path: ['tasks', TASKS.inspect, 'command'], value: crateCommand('inspect') },
        { op: 'set', path: ['tasks', 'build', 'command'], value: crateCommand('build') },
        { op: 'set', path: ['tasks', 'build', 'inputs'], value: task.inputs },
        { op: 'set', path: ['tasks', 'build', 'outputs'], value: task.outputs },
        { op: 'include', path: ['tasks', 'build', 'env'], items: rootTasks()[TASKS.build].env! },
        { op: 'include', path: ['tasks', 'build', 'passThroughEnv'], items: PASS_THROUGH_ENV },
      );
      crates = true;
    }
    files.push({ path: posix.join(project.root, 'turbo.json'), create: () => '{}\n', edits: turboEdits });
    if (pkg?.source === 'cargo') continue;
    const pkgEdits: JsonEdit[] = Object.entries(SCRIPTS).map(([k, v]) => ({ op: 'set', path: ['scripts', k], value: v }));
    pkgEdits.push({ op: 'default', path: ['devDependencies', ADAPTER_PACKAGE], value: options.adapterSpec(project.root) });
    for (const dep of plan.dependencies) pkgEdits.push({ op: 'default', path: ['dependencies', dep], value: workspaceDependencySpec(ws.packageManager) });
    files.push({ path: posix.join(project.root, 'package.json'), create: () => '{}\n', edits: pkgEdits });
  }
  if (crates) rootEdits.push({ op: 'set', path: ['futureFlags', 'experimentalTaskCommand'], value: true });
  return { files, plans };
}
