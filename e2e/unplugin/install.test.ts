/**
 * unplugin-bpf installed the way a user installs it: the core, the CLI and the plugin packed
 * with `npm pack` (no registry publish) and installed from the tarballs into a fresh project
 * outside the repository, with esbuild from npm. The project's build.mjs is the plugin README's
 * three-line esbuild setup, verbatim; the bundle it writes runs under Node and prints the object,
 * which must be a BPF ELF object with BTF, a map and the XDP program, accepted by the kernel.
 * Then the installed package itself: every `exports` target exists, the bundler entries import
 * from the project, the client types are there, and nothing of the monorepo came along.
 *
 * The packages are built into private copies (never the shared packages/*\/dist) and packed
 * there: each copy holds what npm would see in the package directory, so `files` and `exports`
 * are tested as they are.
 *
 * Environment: KEEP_E2E (keep the temporary directory).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBpfObject } from '../../packages/linker-core/src/object';
import { kernelLoadUnavailable, loadIntoKernel } from '../../packages/linker-core/test/support/kernel';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const PACKAGES = join(REPO, 'packages');
const ESBUILD_VERSION = (JSON.parse(readFileSync(join(REPO, 'node_modules/esbuild/package.json'), 'utf8')) as { version: string }).version;
const noKernel = kernelLoadUnavailable();

/**
 * The project's build.mjs: the esbuild setup of packages/unplugin-bpf/README.md ("Three lines"),
 * checked below to be in the README word for word.
 */
const BUILD_MJS = `import * as esbuild from 'esbuild';
import bpf from 'unplugin-bpf/esbuild';
await esbuild.build({ entryPoints: ['src/main.ts'], bundle: true, outdir: 'dist', plugins: [bpf()] });
`;

/** Plain JavaScript (esbuild's default platform is the browser: no node: modules). */
const MAIN = `import prog from './xdp.bpf.c';

console.log(\`length \${prog.length}\`);
console.log(\`magic \${Array.from(prog.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')}\`);
let s = '';
for (const b of prog) s += String.fromCharCode(b);
console.log(\`base64 \${btoa(s)}\`);
`;

const XDP_C = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} packets SEC(".maps");

SEC("xdp")
int count_packets(struct xdp_md *ctx) {
  __u32 key = 0;
  __u64 *count = bpf_map_lookup_elem(&packets, &key);
  if (count)
    __sync_fetch_and_add(count, 1);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
`;

interface RunResult {
  status: number;
  stdout: string;
  output: string;
}

function run(cmd: string, args: readonly string[], cwd: string, timeout: number): RunResult {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout, maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) throw new Error(`\`${cmd} ${args.join(' ')}\` in ${cwd}: ${r.error.message}`);
  return { status: r.status ?? -1, stdout: r.stdout ?? '', output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function ok(cmd: string, args: readonly string[], cwd: string, timeout: number): string {
  const r = run(cmd, args, cwd, timeout);
  if (r.status !== 0) throw new Error(`\`${cmd} ${args.join(' ')}\` in ${cwd} failed (exit ${r.status}):\n${r.output}`);
  return r.stdout;
}

/** A copy of packages/<name> without its dist/, node_modules/ and tests. */
function stage(name: string): string {
  const from = join(PACKAGES, name);
  const to = join(tmp, 'stage', name);
  cpSync(from, to, {
    recursive: true,
    filter: (src) => !['dist', 'node_modules', 'test'].includes(relative(from, src).split('/')[0]),
  });
  return to;
}

/** `npm pack` of a staged package into packs/; the tarball's path. */
function pack(dir: string): string {
  const name = ok('npm', ['pack', '--silent', '--pack-destination', packs], dir, 120_000).trim().split('\n').pop()!;
  const file = join(packs, name);
  if (!existsSync(file)) throw new Error(`npm pack in ${dir} did not write ${file}`);
  return file;
}

let tmp: string;
let packs: string;
let project: string;
let env: NodeJS.ProcessEnv;
/** `node dist/main.js`'s output. */
let printed: string;

/** The object the bundle printed (base64). */
function bundledObject(): Buffer {
  const line = printed.split('\n').find((l) => l.startsWith('base64 '));
  if (!line) throw new Error(`the bundle printed no object:\n${printed}`);
  return Buffer.from(line.slice('base64 '.length), 'base64');
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'unplugin-bpf-install-'));
  packs = join(tmp, 'packs');
  mkdirSync(packs);
  env = {
    ...process.env,
    CI: 'true',
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };

  // The core and the CLI: their build.mjs run in the copy (it builds src/ of its working
  // directory into dist/; the CLI bundles the core from packages/linker-core/src).
  const tarballs: Record<string, string> = {};
  for (const [name, pkg] of [['@bpf-linker/core', 'linker-core'], ['@bpf-linker/cli', 'cli']] as const) {
    const dir = stage(pkg);
    ok(process.execPath, [join(PACKAGES, pkg, 'build.mjs')], dir, 120_000);
    tarballs[name] = pack(dir);
  }
  // The plugin builds the core from source and needs the repository's tsconfig: built in place
  // with --outdir into the copy (the option that keeps tests off the shared dist/).
  const plugin = stage('unplugin-bpf');
  ok(process.execPath, ['build.mjs', '--outdir', join(plugin, 'dist')], join(PACKAGES, 'unplugin-bpf'), 180_000);
  tarballs['unplugin-bpf'] = pack(plugin);

  project = join(tmp, 'project');
  mkdirSync(join(project, 'src'), { recursive: true });
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({
    name: 'my-xdp-app',
    private: true,
    type: 'module',
    // unplugin-bpf depends on @bpf-linker/core and @bpf-linker/cli 0.1.0: the tarballs at the
    // root satisfy those, so npm never asks the registry for them.
    dependencies: {
      esbuild: ESBUILD_VERSION,
      'unplugin-bpf': `file:${tarballs['unplugin-bpf']}`,
      '@bpf-linker/core': `file:${tarballs['@bpf-linker/core']}`,
      '@bpf-linker/cli': `file:${tarballs['@bpf-linker/cli']}`,
    },
  }, null, 2)}\n`);
  writeFileSync(join(project, 'build.mjs'), BUILD_MJS);
  writeFileSync(join(project, 'src/main.ts'), MAIN);
  writeFileSync(join(project, 'src/xdp.bpf.c'), XDP_C);
  // No lock file: npm would otherwise reuse a cached tarball whose integrity the lock names.
  ok('npm', ['install'], project, 300_000);
}, 900_000);

afterAll(() => {
  if (tmp && !process.env.KEEP_E2E) rmSync(tmp, { recursive: true, force: true });
});

describe('unplugin-bpf from npm pack tarballs in a fresh project', () => {
  it("the project's build.mjs is the README's three-line esbuild setup", () => {
    const readme = readFileSync(join(PACKAGES, 'unplugin-bpf/README.md'), 'utf8');
    expect(readme).toContain(`\`\`\`js\n// build.mjs\n${BUILD_MJS}\`\`\``);
  });

  it('the dependencies come from the tarballs, and npm ls finds nothing missing or invalid', () => {
    for (const name of ['unplugin-bpf', '@bpf-linker/core', '@bpf-linker/cli']) {
      const dir = join(project, 'node_modules', name);
      expect(lstatSync(dir).isSymbolicLink(), `${name} is a copy, not a link`).toBe(false);
      expect((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version).toBe('0.1.0');
    }
    // unplugin-bpf's own dependencies on the core and the CLI resolve to the root's copies.
    expect(existsSync(join(project, 'node_modules/unplugin-bpf/node_modules/@bpf-linker'))).toBe(false);
    const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8')) as { packages: Record<string, { resolved?: string }> };
    expect(lock.packages['node_modules/@bpf-linker/core'].resolved).toMatch(/^file:.*\.tgz$/);
    expect(lock.packages['node_modules/@bpf-linker/cli'].resolved).toMatch(/^file:.*\.tgz$/);
    const ls = run('npm', ['ls', '--all'], project, 120_000);
    expect(ls.status, ls.output).toBe(0);
  });

  it('node build.mjs bundles the program, and the bundle prints a BPF ELF object', () => {
    ok(process.execPath, ['build.mjs'], project, 180_000);
    const bundle = join(project, 'dist/main.js');
    expect(existsSync(bundle)).toBe(true);
    // The import became the bytes: nothing left for Node to resolve at run time.
    expect(readFileSync(bundle, 'utf8')).not.toMatch(/\b(import|require)\b[^\n]*xdp\.bpf\.c/);
    printed = ok(process.execPath, [bundle], project, 60_000);
    const obj = bundledObject();
    expect(printed).toContain(`length ${obj.length}\n`);
    expect(printed).toContain('magic 7f 45 4c 46\n');
    expect([...obj.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    const littleEndian = obj[5] === 1;
    expect(littleEndian ? obj.readUInt16LE(18) : obj.readUInt16BE(18), 'e_machine is EM_BPF').toBe(247);
  }, 240_000);

  it('the object has BTF, the map, the license and the XDP program', () => {
    const o = readBpfObject(bundledObject());
    expect(o.sectionNames).toContain('.BTF');
    expect(o.sectionNames).toContain('.BTF.ext');
    expect(o.programs.filter((p) => !p.isSubprogram).map((p) => [p.name, p.section])).toEqual([['count_packets', 'xdp']]);
    expect(o.maps.map((m) => [m.name, m.source, m.maxEntries])).toEqual([['packets', 'btf', 1]]);
    expect(o.license).toBe('GPL');
  });

  it.skipIf(noKernel)(`the kernel accepts the bundled object${noKernel ? ` (skipped: ${noKernel})` : ''}`, () => {
    const file = join(tmp, 'bundled.o');
    writeFileSync(file, bundledObject());
    const r = loadIntoKernel(file);
    expect(r.log, 'the bundled object in the kernel').toBe(r.ok ? r.log : '<accepted by the verifier>');
  });

  it('every exports target of the installed package exists; the bundler entries import from the project', () => {
    const dir = join(project, 'node_modules/unplugin-bpf');
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { exports: Record<string, string | Record<string, string>> };
    const targets = Object.values(manifest.exports).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t)));
    expect(targets.length).toBeGreaterThan(10);
    expect(targets.filter((t) => !existsSync(join(dir, t)))).toEqual([]);
    expect(manifest.exports['./client']).toEqual({ types: './client.d.ts' });
    expect(readFileSync(join(dir, 'client.d.ts'), 'utf8')).toContain("declare module '*.bpf.c'");

    // The default exports: the unplugin instance, and a plugin factory per bundler.
    const entries: Record<string, string> = {
      'unplugin-bpf': 'object index.js',
      'unplugin-bpf/esbuild': 'function esbuild.js',
      'unplugin-bpf/vite': 'function vite.js',
      'unplugin-bpf/rollup': 'function rollup.js',
      'unplugin-bpf/webpack': 'function webpack.js',
      'unplugin-bpf/types': 'undefined types.js',
    };
    const script = `for (const e of ${JSON.stringify(Object.keys(entries))}) console.log(\`\${e}: \${typeof (await import(e)).default} \${import.meta.resolve(e)}\`);`;
    const out = ok(process.execPath, ['--input-type=module', '-e', script], project, 60_000);
    for (const [e, expected] of Object.entries(entries)) {
      const [type, file] = expected.split(' ');
      expect(out).toContain(`${e}: ${type} file://${dir}/dist/${file}\n`);
    }
  });

  it('no monorepo leftovers: no sources, tests or source maps, no paths into the repository', () => {
    const dir = join(project, 'node_modules/unplugin-bpf');
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else files.push(relative(dir, p));
      }
    };
    walk(dir);
    expect(files).toContain('dist/worker.cjs');
    expect(files).toContain('dist/types/esbuild.d.ts');
    expect(files.filter((f) => !(f.startsWith('dist/') || ['package.json', 'README.md', 'client.d.ts'].includes(f)))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.map') || f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => readFileSync(join(dir, f), 'utf8').includes(REPO.replace(/\/$/, '')))).toEqual([]);
  });
});
