// The bpf.config.json JSON schema as text, from the core's BPF_CONFIG_SCHEMA (the same object the
// config is validated with). The adapters' build scripts ship it for "$schema" in editors.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

export async function bpfConfigSchemaText() {
  const bundled = await build({
    stdin: { contents: "export { bpfConfigSchemaJson } from './src/plan/schema';", resolveDir: fileURLToPath(new URL('.', import.meta.url)), loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    write: false,
  });
  const mod = { exports: {} };
  new Function('module', 'exports', bundled.outputFiles[0].text)(mod, mod.exports);
  return mod.exports.bpfConfigSchemaJson();
}
