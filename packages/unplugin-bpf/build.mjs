// Bundles the plugin: ESM entries (the unplugin instance, one per bundler, the types module)
// sharing one chunk, and the build worker as a CommonJS script. The core is bundled from
// source; koffi (native binaries), unplugin and the bundlers stay external. Declarations go to
// dist/types (tsconfig.build.json, against the core's declarations).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const core = fileURLToPath(new URL('../linker-core/src/index.ts', import.meta.url));
const { version: coreVersion } = JSON.parse(readFileSync('../linker-core/package.json', 'utf8'));
// `--outdir <dir>`: tests build a private copy, so they never race a build of dist/.
const at = process.argv.indexOf('--outdir');
const outdir = at > 0 ? process.argv[at + 1] : 'dist';
const types = !process.argv.includes('--no-types');

rmSync(outdir, { recursive: true, force: true, maxRetries: 3 });
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  external: ['koffi', 'unplugin', 'esbuild', 'vite', 'rollup', 'rolldown', 'webpack', '@rspack/core'],
  alias: { '@bpf-linker/core': core },
  define: { BPF_LINKER_VERSION: JSON.stringify(coreVersion) },
  sourcemap: true,
  logLevel: 'warning',
};
const bundlers = ['vite', 'rollup', 'rolldown', 'esbuild', 'webpack', 'rspack'];

// The plugin's side plans, looks up the cache and reads objects; it never links. The core's
// modules are marked free of side effects so that what it does not use is left out — above all
// the LLVM and libbpf bindings, whose koffi type registrations are process-wide (a second copy
// of them in one process, from another tool that bundles the core, would clash). Linking happens
// in the worker process only.
const coreWithoutUnusedModules = {
  name: 'core-side-effect-free',
  setup(b) {
    const coreSrc = fileURLToPath(new URL('../linker-core/src/', import.meta.url));
    b.onResolve({ filter: /^\./ }, async (args) => {
      if (!args.importer.startsWith(coreSrc) || args.pluginData === 'core') return undefined;
      const r = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'core' });
      return r.errors.length ? undefined : { ...r, sideEffects: false };
    });
  },
};

await build({
  ...common,
  plugins: [coreWithoutUnusedModules],
  entryPoints: Object.fromEntries(['index', 'types', ...bundlers].map((n) => [n, `src/${n}.ts`])),
  outdir,
  format: 'esm',
  splitting: true,
  chunkNames: '[name]-[hash]',
  // The core's few CommonJS-style lookups (require.resolve('koffi')) need a require in ESM.
  banner: { js: "import { createRequire as __bpfCreateRequire } from 'node:module'; const require = __bpfCreateRequire(import.meta.url);" },
});
await build({ ...common, entryPoints: ['src/worker.ts'], outfile: `${outdir}/worker.cjs`, format: 'cjs' });

if (types) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', `${outdir}/types`], { stdio: 'inherit' });
}
