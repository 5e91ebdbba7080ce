/**
 * What the package scripts run, in the BPF package's directory (turbo runs them there):
 * `bpf-turbo build` checks the toolchain pin and builds the package with the core's buildProject;
 * `verify` and `inspect` hand the package's objects to the bpf-linker CLI.
 */
import { spawnSync } from 'node:child_process';
import { join, posix } from 'node:path';
import {
  BPF_CONFIG_FILE,
  BuildError,
  buildProject,
  createLogger,
  describeManifest,
  planBuild,
  readBpfConfig,
  resolveLinkerCli,
  type BpfProjectConfig,
  type LinkSettings,
} from '@bpf-linker/core';
import { adapterRoot } from './paths';
import { assertPinCurrent, toolNeeds } from './pin';
import { packageAt, readWorkspace, type TurboWorkspace, type WorkspacePackage } from './workspace';

export interface PackageContext {
  ws: TurboWorkspace;
  pkg: WorkspacePackage;
  config: BpfProjectConfig;
  cli?: string;
}

export function packageContext(cwd: string): PackageContext {
  const ws = readWorkspace(cwd);
  const pkg = packageAt(ws, cwd);
  if (!pkg) {
    throw new BuildError('WORKSPACE_NOT_FOUND', `${cwd} is not inside a workspace package of ${ws.root}`, {
      hint: 'run this in a BPF package (turbo runs the bpf:* scripts there), or list the package in the root package.json "workspaces"',
    });
  }
  const config = readBpfConfig(join(ws.root, pkg.root, BPF_CONFIG_FILE));
  const cli = resolveLinkerCli([join(ws.root, pkg.root, 'package.json'), join(ws.root, 'package.json'), join(adapterRoot(), 'package.json')]);
  return { ws, pkg, config, cli };
}

export interface BuildCommandOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  verbose?: boolean;
  programs?: string[];
  linkOverrides?: LinkSettings;
  out?: (text: string) => void;
  err?: (text: string) => void;
}

/** Builds the package in `cwd`; returns the exit status. Errors are thrown for the CLI to format. */
export async function buildCommand(o: BuildCommandOptions): Promise<number> {
  const out = o.out ?? ((t) => process.stdout.write(t));
  const err = o.err ?? ((t) => process.stderr.write(t));
  const env = o.env ?? process.env;
  const { ws, pkg, config, cli } = packageContext(o.cwd);
  assertPinCurrent(ws.root, toolNeeds([config]), env);
  // Plans run from the workspace root (their paths are relative to it), and so must the in-process
  // link: LLVM reads the source lines BTF records from the debug info's relative file names.
  process.chdir(ws.root);
  const build = await buildProject({
    workspaceRoot: ws.root,
    project: { name: pkg.name, root: pkg.root },
    config,
    projects: ws.bpfProjects,
    programs: o.programs,
    linker: cli,
    linkOverrides: o.linkOverrides,
    env,
    logger: createLogger(o.verbose ? 'debug' : 'warn', (level, message) => err(`[${level.toUpperCase()}] ${message}\n`)),
    onStepStart: (s) => out(o.verbose ? `${s.description}\n  $ ${s.command.join(' ')}\n` : `${s.description}\n`),
    onOutput: err,
  });
  if (build.problems.length > 0) {
    for (const p of build.problems) err(`error: ${p.format()}\n`);
    return 1;
  }
  if (build.steps.length === 0) out(`nothing to build in ${posix.join(pkg.root, BPF_CONFIG_FILE)}\n`);
  for (const r of build.results) if (r.manifest) out(`  ${describeManifest(r.manifest, posix.relative(pkg.root, 'output' in r.step ? r.step.output : r.manifest.object))}\n`);
  return 0;
}

/** The objects the package's build writes (package-relative): what verify and inspect read. */
export function packageObjects(ctx: PackageContext): string[] {
  const plan = planBuild(ctx.config, { workspaceRoot: ctx.ws.root, project: { name: ctx.pkg.name, root: ctx.pkg.root }, projects: ctx.ws.bpfProjects });
  return plan.steps
    .filter((s) => (s.kind === 'link' && s.options.emit === 'obj') || s.kind === 'cargo')
    .map((s) => posix.relative(ctx.pkg.root || '.', (s as { output: string }).output));
}

/** `bpf-linker verify|inspect <objects> [args]` in the package directory; returns its exit status. */
export function cliOnObjects(command: 'verify' | 'inspect', cwd: string, args: readonly string[]): number {
  const ctx = packageContext(cwd);
  if (!ctx.cli) {
    throw new BuildError('TOOL_NOT_FOUND', 'cannot find the bpf-linker CLI (@bpf-linker/cli)', { hint: 'npm install -D @bpf-linker/cli' });
  }
  const objects = packageObjects(ctx);
  if (objects.length === 0) {
    process.stdout.write(`no objects to ${command}: ${posix.join(ctx.pkg.root, BPF_CONFIG_FILE)} declares no programs\n`);
    return 0;
  }
  // `--`: an object path starting with `-` stays a path. inspect takes one object per run.
  const runs = command === 'inspect' ? objects.map((o) => [o]) : [objects];
  let status = 0;
  for (const files of runs) {
    const r = spawnSync(process.execPath, [ctx.cli, command, ...args, '--', ...files], { cwd: join(ctx.ws.root, ctx.pkg.root), stdio: 'inherit' });
    if (r.error) throw r.error;
    status = Math.max(status, r.status ?? 1);
  }
  return status;
}
