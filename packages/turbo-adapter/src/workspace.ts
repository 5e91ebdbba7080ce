/**
 * The monorepo as turbo sees it: the root (package.json with `workspaces`, or
 * pnpm-workspace.yaml), its package manager, and its workspace packages. The BPF packages are
 * those with a bpf.config.json; their package name is the project name `libraries` refers to.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import { BuildError, globToRegExp, readBpfProjects, type BpfProjectRef } from '@bpf-linker/core';
import { readAt } from './jsonc-edit';

export type PackageManager = 'npm' | 'pnpm' | 'yarn' | 'bun';

export interface WorkspacePackage {
  name: string;
  /** Workspace-relative, `/`-separated. */
  root: string;
  /**
   * `npm`: a package.json workspace package (its scripts run the bpf:* tasks); `cargo`: a crate
   * of the root Cargo workspace that turbo's experimentalCargoWorkspaces makes a package (task
   * commands run the bpf:* tasks and replace turbo's host `build`).
   */
  source: 'npm' | 'cargo';
}

export interface TurboWorkspace {
  /** Absolute path of the repository root. */
  root: string;
  packageManager: PackageManager;
  packages: WorkspacePackage[];
  /** turbo.json enables futureFlags.experimentalCargoWorkspaces and a root Cargo.toml exists. */
  cargoWorkspaces: boolean;
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
    packages.push({ name: typeof name === 'string' && name ? name : posix.basename(dir), root: dir, source: 'npm' });
  }
  const cargoWorkspaces = cargoWorkspacesEnabled(root);
  // A crate that is also an npm package: its bpf.config.json belongs to the npm package.
  if (cargoWorkspaces) packages.push(...cargoCrates(root).filter((c) => !packages.some((p) => p.root === c.root)));
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
  return { root, packageManager: detectPackageManager(root), packages, cargoWorkspaces, bpfProjects, invalid };
}

/** Whether turbo treats the root Cargo workspace's crates as packages (turbo ≥ 2.11). */
function cargoWorkspacesEnabled(root: string): boolean {
  if (!existsSync(join(root, 'Cargo.toml'))) return false;
  for (const file of ['turbo.json', 'turbo.jsonc']) {
    try {
      const flags = readAt(readFileSync(join(root, file), 'utf8'), ['futureFlags'], file) as Json | undefined;
      if (flags?.experimentalCargoWorkspaces === true) return true;
    } catch {
      // a missing or broken turbo.json: no Cargo packages (init reports a broken file)
    }
  }
  return false;
}

/** The root Cargo workspace's member crates, from `cargo metadata` (what turbo reads too). */
function cargoCrates(root: string): WorkspacePackage[] {
  const cargo = process.env.CARGO || 'cargo';
  const r = spawnSync(cargo, ['metadata', '--no-deps', '--format-version', '1', '--offline', '--manifest-path', join(root, 'Cargo.toml')], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 64 << 20,
  });
  if (r.error || r.status !== 0) {
    throw new BuildError('WORKSPACE_NOT_FOUND', `cannot list the crates of ${join(root, 'Cargo.toml')} (turbo.json enables experimentalCargoWorkspaces): \`${cargo} metadata\` ${r.error ? `could not run: ${(r.error as NodeJS.ErrnoException).code}` : `failed (exit ${r.status})`}`, {
      output: r.stderr?.trim(),
      hint: 'fix the Cargo workspace (cargo metadata must succeed), or set CARGO to a working cargo',
    });
  }
  const meta = JSON.parse(r.stdout) as { packages: { name: string; manifest_path: string }[] };
  return meta.packages
    .map((p) => ({ name: p.name, root: relative(root, dirname(p.manifest_path)).split(sep).join('/'), source: 'cargo' as const }))
    .filter((p) => p.root !== '' && !p.root.startsWith('..'));
}

/** The workspace package containing `dir` (absolute), if any. */
export function packageAt(ws: TurboWorkspace, dir: string): WorkspacePackage | undefined {
  const rel = relative(ws.root, resolve(dir)).split(sep).join('/');
  return ws.packages
    .filter((p) => rel === p.root || rel.startsWith(`${p.root}/`))
    .sort((a, b) => b.root.length - a.root.length)[0];
}
