/**
 * A real, temporary Nx workspace for end-to-end tests: the core, CLI and Nx plugin bundled and
 * packed with `npm pack` (no registry publish), a package.json naming Nx and the packed core and
 * CLI, an empty nx.json, `npm install`. The plugin itself is added by the test (`nx add`), as a
 * user does. Commands run without a shell, with Nx's daemon, cloud and colours off.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { e2eEnv } from './env';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** The repository's Nx by default; E2E_NX_VERSION=24.0.6 (say) tries another supported major. */
export const NX_VERSION = process.env.E2E_NX_VERSION ?? (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies.nx;

export interface NxWorkspace {
  /** The temporary directory holding everything (remove it when done). */
  tmp: string;
  ws: string;
  /** The packed tarballs, by package directory name (linker-core, cli, nx-plugin). */
  packs: Record<'linker-core' | 'cli' | 'nx-plugin', string>;
  env: NodeJS.ProcessEnv;
}

export interface RunResult {
  status: number;
  output: string;
}

/** Runs argv in the workspace (or `cwd`); output with colour codes removed. */
export function runIn(w: Pick<NxWorkspace, 'ws' | 'env'>, cmd: string, args: string[], cwd = w.ws): RunResult {
  const r = spawnSync(cmd, args, { cwd, env: w.env, encoding: 'utf8', timeout: 300_000 });
  if (r.error) throw r.error;
  // eslint-disable-next-line no-control-regex
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}`.replace(/\x1b\[[0-9;]*m/g, '') };
}

/**
 * `vendor`: the tarballs go into the workspace's `vendor/` and package.json names them relative to
 * it (`file:vendor/…`), as a team that commits its tarballs does: a copy of the workspace, lock
 * file included, installs the same packages wherever it is.
 */
export function createNxWorkspace(prefix: string, o: { vendor?: boolean } = {}): NxWorkspace {
  const tmp = mkdtempSync(join(tmpdir(), prefix));
  const ws = join(tmp, 'workspace');
  mkdirSync(ws);
  const packDir = o.vendor ? join(ws, 'vendor') : join(tmp, 'packs');
  mkdirSync(packDir);
  const packs = {} as NxWorkspace['packs'];
  // Fresh bundles of the three packages (esbuild only), packed as npm would publish them.
  for (const pkg of ['linker-core', 'cli', 'nx-plugin'] as const) {
    const dir = join(REPO, 'packages', pkg);
    execFileSync(process.execPath, ['build.mjs'], { cwd: dir, stdio: 'pipe' });
    const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', packDir], { cwd: dir, encoding: 'utf8' }).trim().split('\n').pop()!;
    packs[pkg] = join(packDir, name);
  }
  const spec = (pkg: keyof NxWorkspace['packs']) => `file:${o.vendor ? relative(ws, packs[pkg]) : packs[pkg]}`;
  writeFileSync(
    join(ws, 'package.json'),
    JSON.stringify(
      { name: 'bpf-e2e', private: true, devDependencies: { nx: NX_VERSION, '@bpf-linker/core': spec('linker-core'), '@bpf-linker/cli': spec('cli') } },
      null,
      2,
    ),
  );
  writeFileSync(join(ws, 'nx.json'), JSON.stringify({ $schema: './node_modules/nx/schemas/nx-schema.json' }, null, 2));
  writeFileSync(join(ws, '.gitignore'), 'node_modules\n.nx\n');
  const env: NodeJS.ProcessEnv = { ...e2eEnv(tmp), NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', NX_INTERACTIVE: 'false', npm_config_loglevel: 'error' };
  const w = { tmp, ws, packs, env };
  const install = runIn(w, 'npm', ['install']);
  if (install.status !== 0) throw new Error(`npm install failed:\n${install.output}`);
  return w;
}
