/**
 * examples/unplugin-xdp, as the README runs it: built with esbuild and the installed plugin
 * (packages/unplugin-bpf/dist, which `npm run build` makes), type-checked against the plugin's
 * client types, and run: it loads its XDP program with the core's libbpf loader.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noKernel, PACKAGE } from './support';

const EXAMPLE = join(PACKAGE, '..', '..', 'examples', 'unplugin-xdp');
const noDist = existsSync(join(PACKAGE, 'dist', 'esbuild.js')) && existsSync(join(PACKAGE, '..', 'linker-core', 'dist', 'index.cjs'))
  ? null
  : 'the packages are not built (npm run build)';

describe.skipIf(noDist)('examples/unplugin-xdp', () => {
  // A copy inside the repository, so that its imports resolve from the workspace's node_modules.
  const dir = join(PACKAGE, 'test', '.build', `example-${process.pid}`);

  beforeAll(() => {
    rmSync(dir, { recursive: true, force: true });
    cpSync(EXAMPLE, dir, { recursive: true, filter: (src) => !/[/\\](dist|node_modules)$/.test(src) });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('type-checks against unplugin-bpf/client', () => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  });

  it('builds with esbuild and the plugin, and loads the program with the libbpf loader', () => {
    execFileSync(process.execPath, ['build.mjs'], { cwd: dir, stdio: 'pipe' });
    const r = spawnSync(process.execPath, [join(dir, 'dist', 'main.js')], { encoding: 'utf8', cwd: dir });
    expect(r.stdout).toContain('program count_protocols (xdp)');
    expect(r.stdout).toContain('map packets_by_protocol: percpu_array, 256 entries');
    expect(r.stdout).toMatch(/BTF present/);
    if (noKernel) return;
    expect(r.stdout).toMatch(/xdp: 1 program accepted/);
    expect(r.status).toBe(0);
  });
});
