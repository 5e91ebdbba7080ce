/**
 * @bpf-linker/nx:init (what `nx add @bpf-linker/nx` runs): registers the plugin in nx.json,
 * adds the named inputs the inferred targets use (`bpfSources`, `bpfRust`: edit them to add
 * shared headers such as a vendored vmlinux.h), turns caching on for targets that use the
 * executors directly, and keeps build outputs out of git. Idempotent.
 */
import { readNxJson, updateNxJson, type Tree } from '@nx/devkit';
import { PLUGIN_NAME } from '../../paths';
import { DEFAULT_TARGET_NAMES } from '../../plugin/options';
import { finish, pluginRegistration } from '../shared';
import type { InitGeneratorSchema } from './schema';

export const NAMED_INPUTS: Record<string, string[]> = {
  bpfSources: ['{projectRoot}/bpf.config.json', '{projectRoot}/**/*.c', '{projectRoot}/**/*.h'],
  bpfRust: ['{projectRoot}/bpf.config.json', '{projectRoot}/**/*.rs', '{projectRoot}/Cargo.toml', '{projectRoot}/Cargo.lock'],
};

/** Keyed by executor, so they reach hand-written targets; the inferred ones already cache. */
export const TARGET_DEFAULTS = ['compile', 'archive', 'link', 'cargo'].map((e) => `${PLUGIN_NAME}:${e}`);

const GITIGNORE = ['# BPF build outputs (@bpf-linker/nx)', 'dist/bpf/', 'target/'];

export async function initGenerator(tree: Tree, schema: InitGeneratorSchema = {}): Promise<void> {
  const nxJson = readNxJson(tree) ?? {};
  const inference = process.env.NX_ADD_PLUGINS !== 'false' && nxJson.useInferencePlugins !== false;
  if (inference && !pluginRegistration(tree)) {
    nxJson.plugins = [...(nxJson.plugins ?? []), { plugin: PLUGIN_NAME, options: { ...DEFAULT_TARGET_NAMES } }];
  }
  nxJson.namedInputs ??= {};
  for (const [name, inputs] of Object.entries(NAMED_INPUTS)) nxJson.namedInputs[name] ??= inputs;
  nxJson.targetDefaults ??= {};
  // Nx 24 also allows an array form; only the object form is extended here.
  if (!Array.isArray(nxJson.targetDefaults)) {
    for (const executor of TARGET_DEFAULTS) nxJson.targetDefaults[executor] ??= { cache: true };
  }
  updateNxJson(tree, nxJson);

  const ignore = tree.exists('.gitignore') ? tree.read('.gitignore', 'utf-8')! : '';
  const lines = ignore.split(/\r?\n/);
  const missing = GITIGNORE.slice(1).filter((l) => !lines.includes(l));
  if (missing.length > 0) tree.write('.gitignore', `${ignore}${ignore && !ignore.endsWith('\n') ? '\n' : ''}${GITIGNORE[0]}\n${missing.join('\n')}\n`);

  await finish(tree, schema.skipFormat);
}

export default initGenerator;
