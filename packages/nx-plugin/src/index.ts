/**
 * @bpf-linker/nx: the Nx plugin entry (nx.json `plugins`). Inferred targets come from
 * bpf.config.json; executors and generators are listed in executors.json and generators.json.
 */
export { createNodes, createNodesV2, createBpfNodes, BPF_CONFIG_GLOB } from './plugin/create-nodes';
export { createDependencies } from './plugin/create-dependencies';
export type { BpfPluginOptions } from './plugin/options';

export const name = '@bpf-linker/nx';
