// Bundles the CLI and the core into one executable file; koffi stays external (native binaries).
import { build } from 'esbuild';
import { chmodSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const outfile = 'dist/bpf-linker.cjs';
await build({
  entryPoints: ['src/main.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile,
  external: ['koffi'],
  // Bundle the core from source, so the binary never picks up a stale build.
  alias: { '@bpf-linker/core': fileURLToPath(new URL('../linker-core/src/index.ts', import.meta.url)) },
  banner: { js: '#!/usr/bin/env node' },
  define: { BPF_LINKER_VERSION: JSON.stringify(version) },
  sourcemap: true,
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
