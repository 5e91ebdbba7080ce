/**
 * What every executor does: read the project's bpf.config.json and run the steps of one kind
 * with the core's buildProject (the same plan the inferred targets came from), printing errors
 * as the CLI does — message, the tool's output, a hint — without a stack trace.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, posix } from 'node:path';
import { logger, type ExecutorContext } from '@nx/devkit';
import {
  BPF_CONFIG_FILE,
  LINK_SETTING_KEYS,
  buildProject,
  createLogger,
  describeManifest,
  formatError,
  parseBpfConfig,
  readBpfConfig,
  type BpfProjectRef,
  type LinkSettings,
  type StepKind,
} from '@bpf-linker/core';
import { resolveCli } from '../paths';

export interface CommonExecutorOptions {
  /** bpf.config.json to build, relative to the workspace root (default: the project's). */
  config?: string;
  /** Only these programs (by name). */
  programs?: string[];
}

export type ExecutorResult = { success: boolean };

/** The other BPF projects, for `libraries` naming a project; a broken config elsewhere is skipped. */
export function workspaceProjects(context: ExecutorContext): BpfProjectRef[] {
  const refs: BpfProjectRef[] = [];
  for (const [name, p] of Object.entries(context.projectsConfigurations?.projects ?? {})) {
    const file = join(context.root, p.root, BPF_CONFIG_FILE);
    if (!existsSync(file)) continue;
    try {
      refs.push({ name, root: p.root, config: parseBpfConfig(JSON.parse(readFileSync(file, 'utf8')), posix.join(p.root, BPF_CONFIG_FILE)) });
    } catch {
      // reported when that project builds
    }
  }
  return refs;
}

/** The project an executor runs for, or undefined (with the error printed). */
export function executorProject(what: string, context: ExecutorContext): { name: string; root: string } | undefined {
  const name = context.projectName;
  const project = name ? context.projectsConfigurations?.projects[name] : undefined;
  if (!name || !project) {
    logger.error(`Error: the ${what} executor needs a project (got ${name ?? 'none'})`);
    return undefined;
  }
  return { name, root: project.root };
}

/** The bpf.config.json an executor reads: `options.config` (workspace-relative or absolute) or the project's. */
export function configFileOf(options: CommonExecutorOptions, project: { root: string }, context: ExecutorContext): string {
  const ws = context.root;
  return options.config ? (isAbsolute(options.config) ? options.config : join(ws, options.config)) : join(ws, project.root, BPF_CONFIG_FILE);
}

export async function runStepsOfKind(
  kind: StepKind,
  options: CommonExecutorOptions & LinkSettings & { clang?: string },
  context: ExecutorContext,
): Promise<ExecutorResult> {
  const ws = context.root;
  const project = executorProject(kind, context);
  if (!project) return { success: false };
  const { name } = project;
  try {
    const config = readBpfConfig(configFileOf(options, project, context));
    if (options.clang) config.compile = { ...config.compile, clang: options.clang };

    const overrides: LinkSettings = {};
    for (const key of LINK_SETTING_KEYS) if (options[key] !== undefined) (overrides as Record<string, unknown>)[key] = options[key];

    const verbose = context.isVerbose;
    const build = await buildProject({
      workspaceRoot: ws,
      project: { name, root: project.root },
      config,
      projects: workspaceProjects(context),
      kinds: [kind],
      programs: options.programs,
      linker: resolveCli(ws),
      linkOverrides: overrides,
      env: process.env,
      logger: createLogger(verbose ? 'debug' : 'warn', (level, message) => process.stderr.write(`[${level.toUpperCase()}] ${message}\n`)),
      onStepStart: (s) => logger.info(verbose ? `${s.description}\n  $ ${s.command.join(' ')}` : s.description),
      onOutput: (text) => process.stderr.write(text),
    });
    if (build.problems.length > 0) {
      for (const p of build.problems) logger.error(`Error: ${p.format()}`);
      return { success: false };
    }
    if (build.steps.length === 0) {
      logger.info(`No ${kind} steps in ${posix.join(project.root, BPF_CONFIG_FILE)}${options.programs?.length ? ` for ${options.programs.join(', ')}` : ''}.`);
      return { success: true };
    }
    for (const r of build.results) if (r.manifest) logger.info(`  ${describeManifest(r.manifest)}`);
    return { success: true };
  } catch (e) {
    logger.error(`Error: ${formatError(e)}`);
    return { success: false };
  }
}
