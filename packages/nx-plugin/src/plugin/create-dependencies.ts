/**
 * Graph edges from bpf.config.json: a program (or library) that links a library project depends
 * on it. Static edges, declared by the config file, so `nx graph` shows them and `^archive`
 * builds libraries before the programs that link them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { DependencyType, type CreateDependencies, type RawProjectGraphDependency } from '@nx/devkit';
import { BPF_CONFIG_FILE, libraryProjects, parseBpfConfig, type BpfProjectRef } from '@bpf-linker/core';
import type { BpfPluginOptions } from './options';

export const createDependencies: CreateDependencies<BpfPluginOptions> = (_options, context) => {
  const refs: (BpfProjectRef & { file: string })[] = [];
  for (const [name, project] of Object.entries(context.projects)) {
    const file = posix.join(project.root, BPF_CONFIG_FILE);
    const path = join(context.workspaceRoot, file);
    if (!existsSync(path)) continue;
    try {
      refs.push({ name, root: project.root, file, config: parseBpfConfig(JSON.parse(readFileSync(path, 'utf8')), file) });
    } catch {
      // An invalid config is reported by createNodes; it contributes no edges.
    }
  }
  const deps: RawProjectGraphDependency[] = [];
  for (const ref of refs) {
    for (const target of libraryProjects(ref.config, { project: ref, projects: refs })) {
      deps.push({ source: ref.name, target, type: DependencyType.static, sourceFile: ref.file });
    }
  }
  return deps;
};
