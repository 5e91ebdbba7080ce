/**
 * The BPF projects of a workspace, as adapters see them: each host knows its projects' names and
 * roots (Nx's project graph, package.json workspaces); this reads the bpf.config.json of those
 * that have one, so planBuild can resolve `libraries` by project name.
 */
import { existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import { BPF_CONFIG_FILE, readBpfConfig } from './config';
import type { BpfProjectRef } from './plan';

export interface ProjectLocation {
  name: string;
  /** Workspace-relative root. */
  root: string;
}

/** The projects among `projects` with a bpf.config.json, parsed (an invalid config throws, naming the file). */
export function readBpfProjects(workspaceRoot: string, projects: Iterable<ProjectLocation>): BpfProjectRef[] {
  const out: BpfProjectRef[] = [];
  for (const p of projects) {
    const file = join(workspaceRoot, p.root, BPF_CONFIG_FILE);
    if (!existsSync(file)) continue;
    out.push({ name: p.name, root: posix.normalize(p.root.replace(/\\/g, '/')), config: readBpfConfig(file) });
  }
  return out;
}
