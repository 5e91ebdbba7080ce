/**
 * @bpf-linker/nx:init (what `nx add @bpf-linker/nx` runs): registers the plugin in nx.json,
 * adds the named inputs the inferred targets use (`bpfSources`, `bpfRust`: edit them to add
 * shared headers such as a vendored vmlinux.h), turns caching on for targets that use the
 * executors directly, and keeps build outputs out of git. Idempotent.
 */
import { readNxJson, updateNxJson, writeJson, type Tree } from '@nx/devkit';
import { BPF_GITIGNORE } from '@bpf-linker/core';
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

const GITIGNORE = ['# BPF build outputs (@bpf-linker/nx)', ...BPF_GITIGNORE];

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
  // updateNxJson writes nothing when there is no nx.json (a workspace made by hand, or by
  // `npm i nx` alone): then the plugin would look added and be missing.
  if (tree.exists('nx.json')) updateNxJson(tree, nxJson);
  else writeJson(tree, 'nx.json', { $schema: './node_modules/nx/schemas/nx-schema.json', ...nxJson });

  const ignore = tree.exists('.gitignore') ? tree.read('.gitignore', 'utf-8')! : '';
  const lines = ignore.split(/\r?\n/);
  const missing = GITIGNORE.slice(1).filter((l) => !lines.includes(l));
  if (missing.length > 0) tree.write('.gitignore', `${ignore}${ignore && !ignore.endsWith('\n') ? '\n' : ''}${GITIGNORE[0]}\n${missing.join('\n')}\n`);

  await finish(tree, schema.skipFormat);
}

export default initGenerator;
