/**
 * What every executor does: read the project's bpf.config.json, plan it with the core's
 * planBuild (the same plan the inferred targets came from), run the steps of one kind, and
 * print errors as the CLI does — message, the tool's output, a hint — without a stack trace.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isAbsolute, join, posix } from 'node:path';
import { logger, type ExecutorContext } from '@nx/devkit';
import {
  BPF_CONFIG_FILE,
  LINK_SETTING_KEYS,
  createLogger,
  formatError,
  parseBpfConfig,
  planBuild,
  probeToolchain,
  readBpfConfig,
  runSteps,
  type BpfProjectRef,
  type BuildStep,
  type LinkSettings,
  type StepKind,
  type StepResult,
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
function workspaceProjects(context: ExecutorContext): BpfProjectRef[] {
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

const TOOLS: Record<StepKind, ReadonlyArray<'clang' | 'llvm' | 'rust'>> = {
  compile: ['clang'],
  archive: [],
  link: ['clang', 'llvm'],
  cargo: ['rust', 'llvm'],
};

function summarize(result: StepResult): string | undefined {
  const m = result.manifest;
  if (!m) return undefined;
  const programs = m.programs.map((p) => `${p.name} (${p.section})`).join(', ');
  const maps = m.maps.length ? `, ${m.maps.length} map${m.maps.length === 1 ? '' : 's'}` : '';
  const llvm = m.llvm ? `, LLVM ${m.llvm.version}` : '';
  return `${m.object}: ${programs || 'no programs'}${maps}${m.btf ? ', BTF' : ''}, ${m.size} bytes${llvm}`;
}

export async function runStepsOfKind(
  kind: StepKind,
  options: CommonExecutorOptions & LinkSettings & { clang?: string },
  context: ExecutorContext,
): Promise<ExecutorResult> {
  const ws = context.root;
  const name = context.projectName;
  const project = name ? context.projectsConfigurations?.projects[name] : undefined;
  if (!name || !project) {
    logger.error(`Error: the ${kind} executor needs a project (got ${name ?? 'none'})`);
    return { success: false };
  }
  try {
    const configFile = options.config ? (isAbsolute(options.config) ? options.config : join(ws, options.config)) : join(ws, project.root, BPF_CONFIG_FILE);
    const config = readBpfConfig(configFile);
    if (options.clang) config.compile = { ...config.compile, clang: options.clang };

    const overrides: LinkSettings = {};
    for (const key of LINK_SETTING_KEYS) if (options[key] !== undefined) (overrides as Record<string, unknown>)[key] = options[key];
    // As the CLI does: BPF_LINKER_LLVM forces the library unless the config names one.
    if (!overrides.llvmPath && !config.link?.llvmPath && process.env.BPF_LINKER_LLVM) overrides.llvmPath = process.env.BPF_LINKER_LLVM;

    const cli = resolveCli(ws);
    if (kind === 'cargo' && !cli) {
      logger.error('Error: cannot find the bpf-linker CLI (@bpf-linker/cli), which cargo needs as its linker\n  hint: npm install -D @bpf-linker/cli');
      return { success: false };
    }
    const plan = planBuild(config, {
      workspaceRoot: ws,
      project: { name, root: project.root },
      projects: workspaceProjects(context),
      toolchain: probeToolchain({ clang: config.compile?.clang, tools: TOOLS[kind] }),
      linker: cli,
      linkOverrides: overrides,
    });

    const wanted = (s: BuildStep) => s.kind === kind && (!options.programs?.length || !('program' in s) || options.programs.includes(s.program));
    const steps = plan.steps.filter(wanted);
    // Problems of other kinds of steps (a library a later link needs) do not stop this one.
    const relevant = plan.problems.filter((p) => p.code !== 'LIBRARY_NOT_FOUND' || kind === 'link' || kind === 'compile');
    if (relevant.length > 0) {
      for (const p of relevant) logger.error(`Error: ${p.format()}`);
      return { success: false };
    }
    if (steps.length === 0) {
      logger.info(`No ${kind} steps in ${posix.join(project.root, BPF_CONFIG_FILE)}${options.programs?.length ? ` for ${options.programs.join(', ')}` : ''}.`);
      return { success: true };
    }

    const verbose = context.isVerbose;
    const linkLogger = createLogger(verbose ? 'debug' : 'warn', (level, message) => process.stderr.write(`[${level.toUpperCase()}] ${message}\n`));
    const results = await runSteps(steps, {
      workspaceRoot: ws,
      env: process.env,
      logger: linkLogger,
      concurrency: kind === 'compile' ? availableParallelism() : 1,
      onStepStart: (s) => logger.info(verbose ? `${s.description}\n  $ ${s.command.join(' ')}` : s.description),
      onOutput: (text) => process.stderr.write(text),
    });
    for (const r of results) {
      const line = summarize(r);
      if (line) logger.info(`  ${line}`);
    }
    return { success: true };
  } catch (e) {
    logger.error(`Error: ${formatError(e)}`);
    return { success: false };
  }
}
