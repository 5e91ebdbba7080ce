/** What the generators share: names, the plugin's registration, and writing a BPF project. */
import {
  addProjectConfiguration,
  formatFiles,
  getProjects,
  names,
  offsetFromRoot,
  readNxJson,
  writeJson,
  type TargetConfiguration,
  type Tree,
} from '@nx/devkit';
import type { BpfProjectConfig } from '@bpf-linker/core';
import { PLUGIN_NAME } from '../paths';
import { DEFAULT_TARGET_NAMES, type BpfPluginOptions } from '../plugin/options';

export interface ProjectNames {
  /** The Nx project name as given. */
  name: string;
  /** kebab-case: file and output names. */
  fileName: string;
  /** snake_case: C and Rust identifiers. */
  snake: string;
}

export function projectNames(name: string): ProjectNames {
  if (!/^[A-Za-z][\w-]*$/.test(name)) {
    throw new Error(`"${name}" is not a valid BPF project name: use letters, digits, - and _, starting with a letter`);
  }
  const fileName = names(name).fileName;
  return { name, fileName, snake: fileName.replace(/-/g, '_') };
}

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
}

export function writeBpfProject(tree: Tree, p: NewBpfProject): void {
  const inferred = pluginRegistration(tree) !== undefined;
  addProjectConfiguration(tree, p.names.name, {
    root: p.root,
    projectType: p.projectType,
    sourceRoot: `${p.root}/src`,
    tags: ['bpf', ...p.tags],
    targets: inferred ? {} : p.explicitTargets,
  });
  writeJson(tree, `${p.root}/bpf.config.json`, {
    $schema: `${offsetFromRoot(p.root)}node_modules/${PLUGIN_NAME}/bpf.config.schema.json`,
    ...p.config,
  });
}

export function parseList(value: string | string[] | undefined): string[] {
  const items = Array.isArray(value) ? value : (value ?? '').split(',');
  return items.map((s) => s.trim()).filter(Boolean);
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
