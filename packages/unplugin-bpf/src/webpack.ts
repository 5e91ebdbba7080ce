/** `import bpf from 'unplugin-bpf/webpack'`: the plugin for webpack. */
import { createWebpackPlugin } from 'unplugin';
import { unpluginFactory } from './index';

export default createWebpackPlugin(unpluginFactory);
