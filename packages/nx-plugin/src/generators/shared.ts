/** What the generators share: the plugin's registration, and writing a BPF project (names and files come from the core). */
import {
  addProjectConfiguration,
  formatFiles,
  getProjects,
  offsetFromRoot,
  readNxJson,
  writeJson,
  type TargetConfiguration,
  type Tree,
} from '@nx/devkit';
import { projectDirectory, type BpfProjectConfig, type ProjectNames, type ScaffoldFile } from '@bpf-linker/core';
import { PLUGIN_NAME } from '../paths';
import { DEFAULT_TARGET_NAMES, type BpfPluginOptions } from '../plugin/options';

/** The plugin's nx.json entry, when registered (inference on). */
export function pluginRegistration(tree: Tree): { options: Required<BpfPluginOptions> } | undefined {
  const nxJson = readNxJson(tree);
  for (const p of nxJson?.plugins ?? []) {
    const plugin = typeof p === 'string' ? p : p.plugin;
    if (plugin === PLUGIN_NAME || plugin === `${PLUGIN_NAME}/plugin`) {
      const options = typeof p === 'string' ? {} : ((p.options ?? {}) as BpfPluginOptions);
      return { options: { ...DEFAULT_TARGET_NAMES, ...options } };
    }
  }
  return undefined;
}

/**
 * The project root: `--directory`, checked by the core (relative to the workspace root, not
 * leaving it), or the name's kebab-case form.
 */
export function projectRoot(directory: string | undefined, names: ProjectNames): string {
  if (directory === undefined) return names.fileName;
  try {
    return projectDirectory(directory);
  } catch (e) {
    throw new Error(`--directory: ${(e as Error).message}`);
  }
}

export function assertNewProject(tree: Tree, name: string, root: string): void {
  if (getProjects(tree).has(name)) throw new Error(`a project named "${name}" already exists`);
  if (tree.exists(`${root}/bpf.config.json`)) throw new Error(`${root}/bpf.config.json already exists`);
}

export interface NewBpfProject {
  names: ProjectNames;
  root: string;
  projectType: 'application' | 'library';
  tags: string[];
  config: BpfProjectConfig;
  /** Targets written into project.json when the plugin is not registered (no inference). */
  explicitTargets: Record<string, TargetConfiguration>;
  /** Library projects it links. Without inference nothing adds the graph edges, so they are written. */
  libraries?: string[];
}

export function writeBpfProject(tree: Tree, p: NewBpfProject): void {
  const inferred = pluginRegistration(tree) !== undefined;
  addProjectConfiguration(tree, p.names.name, {
    root: p.root,
    projectType: p.projectType,
    sourceRoot: `${p.root}/src`,
    tags: ['bpf', ...p.tags],
    targets: inferred ? {} : p.explicitTargets,
    // `^archive` follows graph edges; the inference plugin's createDependencies adds them, and
    // without it these do (else the library's archive never runs before the link).
    ...(!inferred && p.libraries?.length ? { implicitDependencies: p.libraries } : {}),
  });
  writeJson(tree, `${p.root}/bpf.config.json`, {
    $schema: `${offsetFromRoot(p.root)}node_modules/${PLUGIN_NAME}/bpf.config.schema.json`,
    ...p.config,
  });
}

/** The core's scaffold files, under the project root. */
export function writeScaffold(tree: Tree, root: string, files: readonly ScaffoldFile[]): void {
  for (const f of files) tree.write(`${root}/${f.path}`, f.content);
}

export async function finish(tree: Tree, skipFormat: boolean | undefined): Promise<void> {
  if (!skipFormat) await formatFiles(tree);
}

/** Targets for a workspace without the inference plugin: our executors, cached through nx.json's targetDefaults. */
export const explicitTargets = {
  compile: (): TargetConfiguration => ({ executor: '@bpf-linker/nx:compile', inputs: ['bpfSources', '^bpfSources'], outputs: ['{projectRoot}/dist/bpf/bc'] }),
  archive: (lib: string): TargetConfiguration => ({
    executor: '@bpf-linker/nx:archive',
    dependsOn: ['compile', '^archive'],
    inputs: ['{projectRoot}/bpf.config.json', { dependentTasksOutputFiles: '**/*.bc' }],
    outputs: [`{projectRoot}/dist/bpf/lib${lib}.a`],
  }),
  link: (program: string): TargetConfiguration => ({
    executor: '@bpf-linker/nx:link',
    dependsOn: ['compile', '^archive'],
    inputs: ['{projectRoot}/bpf.config.json', { dependentTasksOutputFiles: '**/*.{bc,a}', transitive: true }],
    outputs: [`{projectRoot}/dist/bpf/${program}.o`, `{projectRoot}/dist/bpf/${program}.manifest.json`],
  }),
  cargo: (program: string): TargetConfiguration => ({
    executor: '@bpf-linker/nx:cargo',
    inputs: ['bpfRust'],
    outputs: [`{projectRoot}/dist/bpf/${program}.o`, `{projectRoot}/dist/bpf/${program}.manifest.json`],
  }),
};
