/**
 * What `turbo gen bpf-program` and `turbo gen bpf-library` do: write a new BPF workspace package
 * from the core's scaffold (the same program types and files as the Nx generators), then bring
 * turbo.json, package.json and the toolchain pin up to date as `init` does. A `-` answer takes
 * the default (no attach point, no libraries, packages/<name>).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import {
  BPF_CONFIG_FILE,
  libraryConfig,
  libraryFiles,
  libraryUse,
  parseList,
  programConfig,
  programFiles,
  projectDirectory,
  projectNames,
  resolveProgram,
  suggestRustToolchain,
  writeFileAtomically,
  type BpfProjectConfig,
  type ProjectNames,
  type ScaffoldFile,
} from '@bpf-linker/core';
import { adapterSpec, applyInit, planInit } from './init';
import { ADAPTER_PACKAGE, SCRIPTS, TASKS } from './plan-tasks';
import { readWorkspace } from './workspace';


const dash = (v: unknown) => {
  const s = String(v ?? '').trim();
  return s === '-' || s.toLowerCase() === 'none' ? '' : s;
};

export interface NewPackage {
  names: ProjectNames;
  /** Workspace-relative. */
  directory: string;
  config: BpfProjectConfig;
  files: ScaffoldFile[];
  dependencies: string[];
}

function assertFreeDirectory(root: string, directory: string): void {
  const dir = join(root, directory);
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new Error(`${directory} already exists and is not empty: choose another name or directory`);
}

/** Writes the package and runs init's planning for the workspace; returns a summary line. */
export function writeNewPackage(root: string, p: NewPackage): string {
  const ws = readWorkspace(root);
  if (ws.packages.some((x) => x.name === p.names.name)) throw new Error(`a workspace package named "${p.names.name}" already exists`);
  assertFreeDirectory(ws.root, p.directory);
  const spec = adapterSpec(ws.root, p.directory);
  const depSpec = ws.packageManager === 'pnpm' ? 'workspace:*' : '*';
  const offset = p.directory.split('/').map(() => '..').join('/');
  const packageJson = {
    name: p.names.name,
    version: '0.0.0',
    private: true,
    scripts: SCRIPTS,
    ...(p.dependencies.length ? { dependencies: Object.fromEntries(p.dependencies.map((d) => [d, depSpec])) } : {}),
    devDependencies: { [ADAPTER_PACKAGE]: spec },
  };
  const files: ScaffoldFile[] = [
    { path: 'package.json', content: `${JSON.stringify(packageJson, null, 2)}\n` },
    { path: BPF_CONFIG_FILE, content: `${JSON.stringify({ $schema: `${offset}/node_modules/${ADAPTER_PACKAGE}/dist/bpf.config.schema.json`, ...p.config }, null, 2)}\n` },
    ...p.files,
  ];
  for (const f of files) writeFileAtomically(join(ws.root, p.directory, f.path), f.content);
  const init = planInit({ cwd: ws.root });
  applyInit(init);
  const touched = init.changes.map((c) => c.path).filter((f) => !f.startsWith(`${p.directory}/`));
  return `${p.directory}: ${files.map((f) => f.path).join(', ')}${touched.length ? `; updated ${touched.join(', ')}` : ''}. Run your package manager's install, then: npx turbo run ${TASKS.build} --filter=${p.names.name}`;
}

/** A library package of the workspace, as a program uses it. */
function libraryPackage(root: string, name: string) {
  const ws = readWorkspace(root);
  const project = ws.bpfProjects.find((p) => p.name === name);
  if (!project) {
    const known = ws.bpfProjects.filter((p) => p.config.library).map((p) => p.name);
    throw new Error(`libraries: there is no BPF package "${name}" in this workspace${known.length ? ` (libraries: ${known.join(', ')})` : ''}; create it with turbo gen bpf-library`);
  }
  return libraryUse(name, project.config, (path) => {
    try {
      return readFileSync(join(ws.root, project.root, path), 'utf8');
    } catch {
      return undefined;
    }
  });
}

export function newProgram(root: string, a: { name: string; language?: string; type?: string; attach?: string; libraries?: string; directory?: string }): string {
  const names = projectNames(dash(a.name));
  const libraries = parseList(dash(a.libraries));
  const program = resolveProgram({ language: dash(a.language) || 'c', type: dash(a.type) || 'xdp', attach: dash(a.attach) || undefined, libraries });
  const directory = projectDirectory(dash(a.directory) || posix.join('packages', names.fileName));
  const uses = libraries.map((l) => libraryPackage(root, l));
  const scaffold = {
    names,
    program,
    libraries: uses,
    buildCommand: `turbo run ${TASKS.build} --filter=${names.name}`,
    cargo: program.language === 'rust' ? suggestRustToolchain(process.env) : undefined,
  };
  return writeNewPackage(root, { names, directory, config: programConfig(scaffold), files: programFiles(scaffold), dependencies: libraries });
}

export function newLibrary(root: string, a: { name: string; directory?: string }): string {
  const names = projectNames(dash(a.name));
  const directory = projectDirectory(dash(a.directory) || posix.join('packages', names.fileName));
  return writeNewPackage(root, { names, directory, config: libraryConfig(names), files: libraryFiles(names), dependencies: [] });
}

