/**
 * What the verify and inspect executors do: find the objects the project's programs link to (the
 * same plan the link and cargo targets run) and run the bpf-linker CLI on them. The CLI runs as
 * an argument vector — `process.execPath <cli> verify … -- <objects>`, no shell — so a project
 * path with spaces, quotes or `$(…)` is only a path.
 */
import { spawn } from 'node:child_process';
import { posix } from 'node:path';
import { logger, type ExecutorContext } from '@nx/devkit';
import { BPF_CONFIG_FILE, formatError, locateTools, planBuild, readBpfConfig, type CargoStep, type LinkStep } from '@bpf-linker/core';
import { resolveCli } from '../paths';
import { configFileOf, executorProject, workspaceProjects, type CommonExecutorOptions, type ExecutorResult } from './run-steps';

/**
 * Runs `node <cli> <args>` from `cwd` without a shell, passing its output through (so Nx
 * captures it); resolves to its exit status.
 */
export function runCli(cli: string, args: readonly string[], cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd, env: process.env, stdio: ['ignore', 'pipe', 'pipe'], shell: false });
    child.stdout.on('data', (chunk: Buffer) => process.stdout.write(chunk));
    child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/**
 * `bpf-linker verify` on every object of the project (one run), or `bpf-linker inspect` on each
 * (one run each, as the CLI takes one); `flags` go before `--`, the objects after it.
 */
export async function runCliOnObjects(command: 'verify' | 'inspect', flags: readonly string[], options: CommonExecutorOptions, context: ExecutorContext): Promise<ExecutorResult> {
  const project = executorProject(command, context);
  if (!project) return { success: false };
  try {
    const config = readBpfConfig(configFileOf(options, project, context));
    const plan = planBuild(config, {
      workspaceRoot: context.root,
      project,
      projects: workspaceProjects(context),
      // Paths only: the objects' names do not depend on the tools' versions.
      toolchain: locateTools({ clang: config.compile?.clang }),
    });
    if (plan.problems.length > 0) {
      for (const p of plan.problems) logger.error(`Error: ${p.format()}`);
      return { success: false };
    }
    const wanted = (s: LinkStep | CargoStep) => !options.programs?.length || options.programs.includes(s.program);
    const objects = plan.steps
      .filter((s): s is LinkStep | CargoStep => (s.kind === 'link' && s.options.emit === 'obj') || s.kind === 'cargo')
      .filter(wanted)
      .map((s) => s.output);
    if (objects.length === 0) {
      logger.info(`No BPF objects to ${command} in ${posix.join(project.root, BPF_CONFIG_FILE)}${options.programs?.length ? ` for ${options.programs.join(', ')}` : ''}.`);
      return { success: true };
    }
    const cli = resolveCli(context.root);
    if (!cli) {
      logger.error('Error: cannot find the bpf-linker CLI (@bpf-linker/cli), which runs verify and inspect\n  hint: npm install -D @bpf-linker/cli');
      return { success: false };
    }
    const runs = command === 'verify' ? [[command, ...flags, '--', ...objects]] : objects.map((o) => [command, ...flags, '--', o]);
    let success = true;
    for (const args of runs) {
      if (context.isVerbose) logger.info(`$ ${JSON.stringify([process.execPath, cli, ...args])}`);
      if ((await runCli(cli, args, context.root)) !== 0) success = false;
    }
    return { success };
  } catch (e) {
    logger.error(`Error: ${formatError(e)}`);
    return { success: false };
  }
}
