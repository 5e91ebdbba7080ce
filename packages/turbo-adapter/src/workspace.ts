/**
 * The monorepo as turbo sees it: the root (package.json with `workspaces`, or
 * pnpm-workspace.yaml), its package manager, and its workspace packages. The BPF packages are
 * those with a bpf.config.json; their package name is the project name `libraries` refers to.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import { BuildError, globToRegExp, readBpfProjects, type BpfProjectRef } from '@bpf-linker/core';

export type PackageManager = 'npm' | 'pnpm' | 'yarn' | 'bun';

export interface WorkspacePackage {
  name: string;
  /** Workspace-relative, `/`-separated. */
  root: string;
}

export interface TurboWorkspace {
  /** Absolute path of the repository root. */
  root: string;
  packageManager: PackageManager;
  packages: WorkspacePackage[];
  /** The packages with a valid bpf.config.json, parsed. */
  bpfProjects: BpfProjectRef[];
  /** Packages whose bpf.config.json could not be read: reported by the command that needs them. */
  invalid: { package: WorkspacePackage; error: unknown }[];
}

type Json = Record<string, unknown>;

function readJson(file: string): Json | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Json;
  } catch {
    return undefined;
  }
}

/** `packages/*` entries of pnpm-workspace.yaml (the plain list form). */
function pnpmPatterns(root: string): string[] | undefined {
  const file = join(root, 'pnpm-workspace.yaml');
  if (!existsSync(file)) return undefined;
  const out: string[] = [];
  let inPackages = false;
  for (const line of readFileSync(file, 'utf8').split(/\r?\n/)) {
    if (/^packages\s*:/.test(line)) inPackages = true;
    else if (/^\S/.test(line)) inPackages = false;
    else if (inPackages) {
      const m = /^\s*-\s*['"]?([^'"#]+?)['"]?\s*(#.*)?$/.exec(line);
      if (m) out.push(m[1]);
    }
  }
  return out;
}

function workspacePatterns(root: string): string[] | undefined {
  const pnpm = pnpmPatterns(root);
  if (pnpm) return pnpm;
  const ws = readJson(join(root, 'package.json'))?.workspaces;
  if (Array.isArray(ws)) return ws.map(String);
  if (ws && typeof ws === 'object' && Array.isArray((ws as Json).packages)) return ((ws as Json).packages as unknown[]).map(String);
  return undefined;
}

/** The nearest directory at or above `from` that declares workspaces. */
export function findWorkspaceRoot(from: string): string {
  let dir = resolve(from);
  for (;;) {
    if (workspacePatterns(dir)) return dir;
    const up = dirname(dir);
    if (up === dir) {
      throw new BuildError('WORKSPACE_NOT_FOUND', `no monorepo root above ${resolve(from)}: no package.json with "workspaces" and no pnpm-workspace.yaml`, {
        hint: 'run bpf-turbo inside a Turborepo monorepo (npx create-turbo, or a package.json with "workspaces": ["packages/*"])',
      });
    }
    dir = up;
  }
}

function detectPackageManager(root: string): PackageManager {
  const field = readJson(join(root, 'package.json'))?.packageManager;
  const named = typeof field === 'string' ? /^(npm|pnpm|yarn|bun)@/.exec(field)?.[1] : undefined;
  if (named) return named as PackageManager;
  if (existsSync(join(root, 'pnpm-lock.yaml')) || existsSync(join(root, 'pnpm-workspace.yaml'))) return 'pnpm';
  if (existsSync(join(root, 'yarn.lock'))) return 'yarn';
  if (existsSync(join(root, 'bun.lockb')) || existsSync(join(root, 'bun.lock'))) return 'bun';
  return 'npm';
}

const NEVER = new Set(['node_modules', '.git', '.turbo', 'dist', 'target', '.nx']);

/** Directories below `root` holding a package.json (never inside node_modules or build outputs). */
function packageDirs(root: string, maxDepth = 6): string[] {
  const out: string[] = [];
  const walk = (rel: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    if (rel && entries.some((e) => e.isFile() && e.name === 'package.json')) out.push(rel);
    if (depth >= maxDepth) return;
    for (const e of entries) if (e.isDirectory() && !NEVER.has(e.name) && !e.name.startsWith('.')) walk(rel ? `${rel}/${e.name}` : e.name, depth + 1);
  };
  walk('', 0);
  return out;
}

export function readWorkspace(from: string): TurboWorkspace {
  const root = findWorkspaceRoot(from);
  const patterns = workspacePatterns(root) ?? [];
  const include = patterns.filter((p) => !p.startsWith('!')).map((p) => globToRegExp(posix.normalize(p).replace(/\/$/, '')));
  const exclude = patterns.filter((p) => p.startsWith('!')).map((p) => globToRegExp(posix.normalize(p.slice(1)).replace(/\/$/, '')));
  const packages: WorkspacePackage[] = [];
  for (const dir of packageDirs(root)) {
    if (!include.some((r) => r.test(dir)) || exclude.some((r) => r.test(dir))) continue;
    const name = readJson(join(root, dir, 'package.json'))?.name;
    packages.push({ name: typeof name === 'string' && name ? name : posix.basename(dir), root: dir });
  }
  packages.sort((a, b) => (a.root < b.root ? -1 : a.root > b.root ? 1 : 0));
  const bpfProjects: BpfProjectRef[] = [];
  const invalid: TurboWorkspace['invalid'] = [];
  for (const p of packages) {
    try {
      bpfProjects.push(...readBpfProjects(root, [p]));
    } catch (error) {
      invalid.push({ package: p, error });
    }
  }
  return { root, packageManager: detectPackageManager(root), packages, bpfProjects, invalid };
}

/** The workspace package containing `dir` (absolute), if any. */
export function packageAt(ws: TurboWorkspace, dir: string): WorkspacePackage | undefined {
  const rel = relative(ws.root, resolve(dir)).split(sep).join('/');
  return ws.packages
    .filter((p) => rel === p.root || rel.startsWith(`${p.root}/`))
    .sort((a, b) => b.root.length - a.root.length)[0];
}
