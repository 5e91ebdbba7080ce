// Bundles the adapter: the bpf-turbo executable, the API and the generators module (which a
// workspace's turbo/generators/config.ts imports), each CommonJS with the core and jsonc-parser
// inside; koffi stays external (native binaries). The bpf.config.json schema goes to dist/ for
// "$schema" in generated configs.
import { build } from 'esbuild';
import { bpfConfigSchemaText } from '../linker-core/config-schema.mjs';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const core = fileURLToPath(new URL('../linker-core/src/index.ts', import.meta.url));
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
// `--outdir <dir>`: tests build a private copy, so they never race a build of dist/.
const at = process.argv.indexOf('--outdir');
const outdir = at > 0 ? process.argv[at + 1] : 'dist';
const { version: coreVersion } = JSON.parse(readFileSync('../linker-core/package.json', 'utf8'));

rmSync(outdir, { recursive: true, force: true, maxRetries: 3 });
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['koffi'],
  // jsonc-parser's UMD build requires its parts dynamically: bundle its ESM build.
  mainFields: ['module', 'main'],
  alias: { '@bpf-linker/core': core },
  define: { BPF_LINKER_VERSION: JSON.stringify(coreVersion), BPF_TURBO_VERSION: JSON.stringify(version), 'import.meta.dirname': '__dirname' },
  sourcemap: true,
  logLevel: 'warning',
};
await build({ ...common, entryPoints: { index: 'src/index.ts', generators: 'src/generators.ts' }, outdir });
await build({ ...common, entryPoints: ['src/cli.ts'], outfile: `${outdir}/bpf-turbo.cjs`, banner: { js: '#!/usr/bin/env node' } });
chmodSync(`${outdir}/bpf-turbo.cjs`, 0o755);

// The bpf.config.json schema, from the core's BPF_CONFIG_SCHEMA (as the Nx plugin ships it).
writeFileSync(`${outdir}/bpf.config.schema.json`, await bpfConfigSchemaText());
