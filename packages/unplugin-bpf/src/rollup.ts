/** `import bpf from 'unplugin-bpf/rollup'`: the plugin for rollup. */
import { createRollupPlugin } from 'unplugin';
import { unpluginFactory } from './index';

export default createRollupPlugin(unpluginFactory);
