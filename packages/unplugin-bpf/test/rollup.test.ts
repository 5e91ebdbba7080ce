/** Rollup 4 with the plugin: the shared Rollup-like suite (rollup-like.ts). */
import { VERSION, rollup, watch } from 'rollup';
import { rollupLikeSuite, type RollupLike } from './rollup-like';

rollupLikeSuite('rollup', VERSION, {
  rollup: rollup as unknown as RollupLike['rollup'],
  watch: watch as unknown as RollupLike['watch'],
  attributeInput: {},
  pluginError: (err) => err as { loc?: object },
});
