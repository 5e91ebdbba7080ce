// Bundles the plugin into CommonJS files (Nx require()s plugins, executors and generators):
// the core from source (as the CLI does), @nx/devkit and nx external (the workspace's own),
// koffi external (native binaries). Schemas and the bpf.config.json schema are copied.
import { build } from 'esbuild';
import { bpfConfigSchemaText } from '../linker-core/config-schema.mjs';
import { cpSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const core = fileURLToPath(new URL('../linker-core/src/index.ts', import.meta.url));
const { version: coreVersion } = JSON.parse(readFileSync('../linker-core/package.json', 'utf8'));

const executors = readdirSync('src/executors', { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
const generators = readdirSync('src/generators', { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);

rmSync('dist', { recursive: true, force: true, maxRetries: 3 });
await build({
  entryPoints: {
    index: 'src/index.ts',
    'toolchain-identity': 'src/toolchain-identity.ts',
    ...Object.fromEntries(executors.map((e) => [`executors/${e}/executor`, `src/executors/${e}/executor.ts`])),
    ...Object.fromEntries(generators.map((g) => [`generators/${g}/generator`, `src/generators/${g}/generator.ts`])),
  },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['koffi', 'nx', 'nx/*', '@nx/devkit', '@nx/devkit/*'],
  alias: { '@bpf-linker/core': core },
  define: { BPF_LINKER_VERSION: JSON.stringify(coreVersion), 'import.meta.dirname': '__dirname' },
  sourcemap: true,
  logLevel: 'warning',
});

for (const e of executors) cpSync(`src/executors/${e}/schema.json`, `dist/executors/${e}/schema.json`);
// Generators have no template files: they write the core's scaffold.
for (const g of generators) cpSync(`src/generators/${g}/schema.json`, `dist/generators/${g}/schema.json`);

// The bpf.config.json schema editors load ("$schema" in generated configs points here), from the
// core's BPF_CONFIG_SCHEMA: the same object the config is validated with.
writeFileSync('bpf.config.schema.json', await bpfConfigSchemaText());
