/** `import bpf from 'unplugin-bpf/rolldown'`: the plugin for rolldown. */
import { createRolldownPlugin } from 'unplugin';
import { unpluginFactory } from './index';

export default createRolldownPlugin(unpluginFactory);
