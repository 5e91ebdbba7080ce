/** `import bpf from 'unplugin-bpf/esbuild'`: the plugin for esbuild. */
import { createEsbuildPlugin } from 'unplugin';
import { unpluginFactory } from './index';

export default createEsbuildPlugin(unpluginFactory);
