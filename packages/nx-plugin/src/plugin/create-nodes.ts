/**
 * Inferred targets for every project with a bpf.config.json (and a project.json or package.json
 * that makes it a project). One batch reads every config once, so libraries named by project
 * resolve without extra reads; each project's result is cached under a hash of what it read.
 * Nothing here starts a process: the toolchain's identity is a `runtime` input, computed when
 * Nx hashes a task.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { createHash } from 'node:crypto';
import { createNodesFromFiles, hashArray, type CreateNodesContextV2, type CreateNodesResult, type CreateNodesV2, type ProjectConfiguration } from '@nx/devkit';
import { calculateHashesForCreateNodes } from '@nx/devkit/internal';
import { BPF_CONFIG_FILE, locateTools, parseBpfConfig, planBuild, type BpfProjectConfig, type BpfProjectRef } from '@bpf-linker/core';
import { PLUGIN_NAME, identityScript, pluginVersion, resolveCli, shellWord, workspaceRelative } from '../paths';
import { InferenceCache, workspaceDataDirectory } from './inference-cache';
import { normalizeOptions, type BpfPluginOptions, type NormalizedOptions } from './options';
import { inferTargets, type TargetContext } from './targets';

export const BPF_CONFIG_GLOB = `**/${BPF_CONFIG_FILE}`;

type InferredProject = Omit<ProjectConfiguration, 'root'>;

interface WorkspaceProject {
  file: string;
  /** Workspace-relative, '.' for the root project. */
  root: string;
  /** From project.json or package.json; undefined when neither marks the directory as a project. */
  name?: string;
  config?: BpfProjectConfig;
  error?: unknown;
}

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The name Nx gives the project at `root`: project.json's, else package.json's. */
export function projectNameAt(workspaceRoot: string, root: string): string | undefined {
  for (const marker of ['project.json', 'package.json']) {
    const file = join(workspaceRoot, root, marker);
    if (!existsSync(file)) continue;
    const name = readJson(file)?.name;
    return typeof name === 'string' && name ? name : posix.basename(posix.resolve('/', root)) || undefined;
  }
  return undefined;
}

/** Every config of the batch, parsed once, and a digest of all of it (names included). */
function readWorkspace(configFiles: readonly string[], workspaceRoot: string): { projects: WorkspaceProject[]; digest: string } {
  const digest = createHash('sha256');
  const projects = configFiles.map((file): WorkspaceProject => {
    const root = posix.dirname(file);
    const name = projectNameAt(workspaceRoot, root);
    let text = '';
    try {
      text = readFileSync(join(workspaceRoot, file), 'utf8');
      digest.update(`${file}\0${name ?? ''}\0${text}\0`);
      return { file, root, name, config: parseBpfConfig(JSON.parse(text), file) };
    } catch (e) {
      digest.update(`${file}\0${name ?? ''}\0${text}\0`);
      return { file, root, name, error: e };
    }
  });
  return { projects, digest: digest.digest('hex') };
}

const LOCK_FILES = ['package-lock.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lock', 'bun.lockb'];

/**
 * Whether `name` is an external node of the project graph: installed in the workspace's
 * node_modules, with a lock file Nx reads them from. Naming a package that is not a node
 * would fail hashing, so anything less certain names none.
 */
function isExternalNode(workspaceRoot: string, name: string): boolean {
  if (!LOCK_FILES.some((f) => existsSync(join(workspaceRoot, f)))) return false;
  return existsSync(join(workspaceRoot, 'node_modules', name, 'package.json'));
}

function targetContext(workspaceRoot: string, options: NormalizedOptions, nx: CreateNodesContextV2): TargetContext {
  const cli = resolveCli(workspaceRoot);
  const installed = (name: string) => (isExternalNode(workspaceRoot, name) ? name : undefined);
  const plugin = installed(PLUGIN_NAME);
  return {
    options,
    namedInputs: (nx.nxJsonConfiguration?.namedInputs ?? {}) as Record<string, unknown>,
    identityCommand: `node ${shellWord(workspaceRelative(workspaceRoot, identityScript()))}`,
    cli: cli && shellWord(workspaceRelative(workspaceRoot, cli)),
    packages: plugin ? { plugin, cli: installed('@bpf-linker/cli') } : undefined,
  };
}

function inferProject(project: WorkspaceProject, refs: BpfProjectRef[], workspaceRoot: string, ctx: TargetContext): InferredProject {
  const config = project.config!;
  const plan = planBuild(config, {
    workspaceRoot,
    project: { name: project.name!, root: project.root },
    projects: refs,
    // Paths only: inference starts no process.
    toolchain: locateTools({ clang: config.compile?.clang }),
  });
  const targets = inferTargets(plan, config, ctx);
  return {
    targets,
    metadata: {
      technologies: ['ebpf'],
      targetGroups: { BPF: Object.keys(targets) },
    },
  };
}

export async function createBpfNodes(
  configFiles: readonly string[],
  options: BpfPluginOptions | undefined,
  context: CreateNodesContextV2,
): Promise<Array<readonly [string, CreateNodesResult]>> {
  const normalized = normalizeOptions(options);
  const ws = context.workspaceRoot;
  const { projects, digest } = readWorkspace(configFiles, ws);
  const refs = projects.filter((p) => p.name && p.config).map((p) => ({ name: p.name!, root: p.root, config: p.config! }));
  const ctx = targetContext(ws, normalized, context);
  const version = pluginVersion();
  const cache = new InferenceCache<InferredProject>(join(workspaceDataDirectory(ws), `bpf-linker-nx-${hashArray([version, JSON.stringify(normalized)])}.json`));
  const fileHashes = await calculateHashesForCreateNodes(projects.map((p) => p.root), normalized, context);
  const byFile = new Map(projects.map((p, i) => [p.file, { project: p, hash: fileHashes[i] }]));
  try {
    return await createNodesFromFiles(
      (file) => {
        const { project, hash } = byFile.get(file)!;
        if (!project.name) return {};
        if (project.error) throw project.error;
        const key = hashArray([hash, digest, version, JSON.stringify(ctx)]);
        let inferred = cache.get(key);
        if (!inferred) {
          inferred = inferProject(project, refs, ws, ctx);
          cache.set(key, inferred);
        }
        return { projects: { [project.root]: inferred } };
      },
      configFiles,
      options,
      context,
    );
  } finally {
    cache.save();
  }
}

/** One implementation for both exports: Nx 22+ calls either with the v2 signature. */
export const createNodesV2: CreateNodesV2<BpfPluginOptions> = [BPF_CONFIG_GLOB, createBpfNodes];
export const createNodes = createNodesV2;
