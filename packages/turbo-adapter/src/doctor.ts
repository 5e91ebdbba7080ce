/**
 * `bpf-turbo doctor`: asks turbo what it would hash and cache (`turbo run bpf:build --dry=json`)
 * and compares that with what the builds really read and write, from the core's plan of each BPF
 * package and clang's own dependency list (`-M`) of each source:
 *
 * - inputs: a source, an included header, a crate file or an archive that turbo does not hash
 *   (an edit would be a false cache hit);
 * - outputs: globs outside the package, globs that cache intermediates (bitcode, cargo's
 *   target/), and final objects that no glob caches (a hit would restore nothing);
 * - env: variables the build reads that are not in the task's `env` (strict mode drops them,
 *   and changing them would not miss).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { BuildError, buildEnvFor, globToRegExp, planBuild, type BuildPlan, type CompileStep } from '@bpf-linker/core';
import { TASKS } from './plan-tasks';
import { readWorkspace, type TurboWorkspace } from './workspace';

export interface Finding {
  package: string;
  task: string;
  kind: 'task' | 'inputs' | 'outputs' | 'env';
  message: string;
}

/** The parts of `turbo run --dry=json` read here. */
export interface DryRunTask {
  taskId: string;
  task: string;
  package: string;
  directory?: string;
  inputs: Record<string, string>;
  resolvedTaskDefinition: { outputs?: string[] | null; inputs?: string[] | null; env?: string[] | null };
  environmentVariables?: { specified?: { env?: string[] | null } };
}

export interface DryRun {
  turboVersion?: string;
  tasks: DryRunTask[];
}

/** The workspace's turbo binary (node_modules/.bin), else `turbo` on PATH. */
export function turboBinary(root: string): string {
  const local = join(root, 'node_modules', '.bin', 'turbo');
  return existsSync(local) ? local : 'turbo';
}

export function dryRun(ws: TurboWorkspace, env: NodeJS.ProcessEnv = process.env): DryRun {
  const bin = turboBinary(ws.root);
  const args = ['run', TASKS.build, '--dry=json'];
  const r = spawnSync(bin, args, { cwd: ws.root, env: { ...env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' }, encoding: 'utf8', timeout: 120_000, maxBuffer: 256 << 20 });
  if (r.error || r.status !== 0) {
    throw new BuildError('TURBO_FAILED', `\`${bin} ${args.join(' ')}\` failed${r.error ? `: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}` : ` (exit ${r.status})`}`, {
      output: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-20).join('\n'),
      hint: r.error ? 'install turbo in the workspace (npm install -D turbo)' : 'fix turbo.json (bpf-turbo init writes the BPF tasks), then run doctor again',
    });
  }
  const text = r.stdout.slice(r.stdout.indexOf('{'));
  return JSON.parse(text) as DryRun;
}

/** Files `clang -M` says a compile reads, workspace-relative, inside the workspace (not node_modules). */
export function compileDependencies(ws: TurboWorkspace, step: CompileStep, env: NodeJS.ProcessEnv = process.env): string[] {
  const md = step.command.indexOf('-MD');
  const argv = [...step.command.slice(1, md < 0 ? step.command.length : md), '-M', step.source];
  const r = spawnSync(step.command[0], argv, { cwd: ws.root, env, encoding: 'utf8', timeout: 60_000 });
  // A source that does not preprocess fails its build with clang's message; here it needs only itself.
  if (r.status !== 0 || r.error) return [step.source];
  const words = r.stdout.replace(/\\\r?\n/g, ' ').replace(/\\ /g, '\u0000').split(/\s+/).filter(Boolean).map((w) => w.replace(/\u0000/g, ' '));
  const files = words.filter((w) => !w.endsWith(':'));
  const out: string[] = [];
  for (const f of files) {
    const rel = relative(ws.root, resolve(ws.root, f));
    if (rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('node_modules')) continue;
    out.push(rel.split(sep).join('/'));
  }
  return [...new Set(out)];
}

/** `A_*` and `!A_B` patterns of turbo's `env`. */
function envCovered(name: string, patterns: readonly string[]): boolean {
  const re = (p: string) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
  return patterns.some((p) => !p.startsWith('!') && re(p).test(name)) && !patterns.some((p) => p.startsWith('!') && re(p.slice(1)).test(name));
}

function matches(globs: readonly string[], path: string): boolean {
  const pos = globs.filter((g) => !g.startsWith('!'));
  const neg = globs.filter((g) => g.startsWith('!')).map((g) => g.slice(1));
  return pos.some((g) => globToRegExp(g).test(path) || globToRegExp(`${g.replace(/\/$/, '')}/**`).test(path)) && !neg.some((g) => globToRegExp(g).test(path));
}

export interface DoctorOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** A dry run already made (tests); default: run turbo. */
  dry?: DryRun;
}

export function doctor(o: DoctorOptions): Finding[] {
  const env = o.env ?? process.env;
  const ws = readWorkspace(o.cwd);
  const dry = o.dry ?? dryRun(ws, env);
  const findings: Finding[] = [];
  for (const invalid of ws.invalid) {
    findings.push({ package: invalid.package.name, task: TASKS.build, kind: 'task', message: `bpf.config.json cannot be read: ${(invalid.error as Error).message}` });
  }
  for (const project of ws.bpfProjects) {
    const add = (kind: Finding['kind'], message: string) => findings.push({ package: project.name, task: TASKS.build, kind, message });
    const task = dry.tasks.find((t) => t.package === project.name && t.task === TASKS.build);
    if (!task) {
      add('task', `turbo has no ${TASKS.build} task for this package: run \`bpf-turbo init\` (it adds the task and the package script)`);
      continue;
    }
    const plan: BuildPlan = planBuild(project.config, { workspaceRoot: ws.root, project: { name: project.name, root: project.root }, projects: ws.bpfProjects, env });
    const pkgRel = (p: string) => posix.relative(project.root || '.', p) || '.';

    // Inputs: everything the steps read, as turbo names files (package-relative).
    const hashed = new Set(Object.keys(task.inputs ?? {}));
    const reads = new Map<string, string>();
    reads.set(plan.configFile, 'the project config');
    for (const step of plan.steps) {
      if (step.kind === 'compile') for (const f of compileDependencies(ws, step, env)) if (!reads.has(f)) reads.set(f, f === step.source ? 'a source' : `included by ${pkgRel(step.source)}`);
      if (step.kind === 'cargo') for (const f of step.inputs) reads.set(f, 'a crate file');
    }
    for (const lib of plan.libraries) if (lib.kind === 'archive') reads.set(lib.archive, 'a linked archive');
    for (const [file, why] of reads) if (!hashed.has(pkgRel(file))) add('inputs', `inputs miss ${file} (${why}): an edit to it would not change the hash`);

    // Outputs: inside the package, final products only, and every final product.
    const outputs = task.resolvedTaskDefinition.outputs ?? [];
    for (const g of outputs.filter((x) => !x.startsWith('!'))) {
      if (g.startsWith('../') || g.includes('$TURBO_ROOT$') || isAbsolute(g) || posix.normalize(g).startsWith('..')) add('outputs', `output "${g}" is outside the package: turbo caches and restores package files only`);
    }
    const intermediates = plan.steps.flatMap((s) => (s.kind === 'compile' ? s.outputs : s.kind === 'cargo' ? [s.artifact, posix.join(s.targetDir, 'CACHEDIR.TAG')] : [])).map(pkgRel);
    for (const g of outputs.filter((x) => !x.startsWith('!'))) {
      const cached = intermediates.filter((f) => matches([g, ...outputs.filter((x) => x.startsWith('!'))], f));
      if (cached.length > 0) add('outputs', `output "${g}" caches intermediates (${cached.slice(0, 3).join(', ')}${cached.length > 3 ? ', …' : ''}): list only objects, archives and manifests`);
    }
    for (const f of plan.outputs.map(pkgRel)) if (!matches(outputs, f)) add('outputs', `${f} is built but no output glob caches it: a cache hit would not restore it`);

    // Environment: what the steps read must be hashed.
    const specified = task.environmentVariables?.specified?.env ?? task.resolvedTaskDefinition.env ?? [];
    for (const name of buildEnvFor(new Set(plan.steps.map((s) => s.kind)))) {
      if (!envCovered(name, specified)) add('env', `env lacks ${name}, which the build reads: strict mode hides it from the build and a change would not miss`);
    }
  }
  return findings;
}
