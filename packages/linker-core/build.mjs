// Bundles the core into one CommonJS file (koffi stays external: it ships native binaries).
import { build } from 'esbuild';

await build({
  entryPoints: ['src/index.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: 'dist/index.cjs',
  external: ['koffi'],
  sourcemap: true,
  logLevel: 'warning',
});
