/** `import bpf from 'unplugin-bpf/vite'`: the plugin for vite. */
import { createVitePlugin } from 'unplugin';
import { unpluginFactory } from './index';

export default createVitePlugin(unpluginFactory);
