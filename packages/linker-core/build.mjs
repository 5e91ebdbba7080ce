// Bundles the core into one CommonJS file (koffi stays external: it ships native binaries).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));

await build({
  entryPoints: ['src/index.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: 'dist/index.cjs',
  external: ['koffi'],
  // The linker's version is part of every cache key.
  define: { BPF_LINKER_VERSION: JSON.stringify(version) },
  sourcemap: true,
  logLevel: 'warning',
});
