// Bundles src/main.ts for Node. The plugin is the one line that makes `import ... from './xdp.bpf.c'` work.
import { build } from 'esbuild';
import bpf from 'unplugin-bpf/esbuild';

await build({
  entryPoints: ['src/main.ts'],
  absWorkingDir: import.meta.dirname,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outdir: 'dist',
  // The loader is a package with native parts (koffi, libbpf): used from node_modules, not bundled.
  packages: 'external',
  plugins: [bpf({ logLevel: 'info' })],
});
