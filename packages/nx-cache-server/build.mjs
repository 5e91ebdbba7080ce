// Bundles the server: the API (dist/index.js) and the bpf-nx-cache-server executable, CommonJS,
// Node's standard library only.
import { build } from 'esbuild';
import { chmodSync, readFileSync, rmSync } from 'node:fs';

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
rmSync('dist', { recursive: true, force: true, maxRetries: 3 });
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  define: { NX_CACHE_SERVER_VERSION: JSON.stringify(version) },
  sourcemap: true,
  logLevel: 'warning',
};
await build({ ...common, entryPoints: { index: 'src/index.ts' }, outdir: 'dist' });
await build({ ...common, entryPoints: ['src/cli.ts'], outfile: 'dist/bpf-nx-cache-server.cjs', banner: { js: '#!/usr/bin/env node' } });
chmodSync('dist/bpf-nx-cache-server.cjs', 0o755);
