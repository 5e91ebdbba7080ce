/** `import bpf from 'unplugin-bpf/rspack'`: the plugin for rspack. */
import { createRspackPlugin } from 'unplugin';
import { unpluginFactory } from './index';

export default createRspackPlugin(unpluginFactory);
