/**
 * unplugin-bpf: `import prog from './xdp.bpf.c'` in Vite, Rollup, Rolldown, esbuild, webpack and
 * Rspack. The factory is a thin adapter: the object is planned, built and cached by the core
 * (buildSingleObject, in a worker process), and bundlers.ts holds every difference between bundlers.
 */
import { createUnplugin, type UnpluginFactory, type UnpluginInstance } from 'unplugin';
import { bundlerHooks, PLUGIN_NAME } from './bundlers';
import { PluginState } from './state';
import type { Options } from './types';

export const unpluginFactory: UnpluginFactory<Options | undefined> = (options, meta) => ({
  name: PLUGIN_NAME,
  // Before Vite's own `?url` handling and asset plugins.
  enforce: 'pre',
  ...bundlerHooks(new PluginState(options), meta.framework),
});

export const unpluginBpf: UnpluginInstance<Options | undefined, false> = /* #__PURE__ */ createUnplugin(unpluginFactory);

export default unpluginBpf;
export type { BpfCargoOptions, BpfLinkOptions, BpfObjectManifest, BuildEvent, Options } from './types';
