/** Rolldown 1 with the plugin: the shared Rollup-like suite (rollup-like.ts). */
import { VERSION, rolldown, watch } from 'rolldown';
import { rollupLikeSuite, type RollupLike } from './rollup-like';

rollupLikeSuite('rolldown', VERSION, {
  rollup: rolldown as unknown as RollupLike['rollup'],
  watch: watch as unknown as RollupLike['watch'],
  // Rolldown 1 parses `with { … }` only when asked.
  attributeInput: { experimental: { importAttributes: true } },
  // Rolldown reports a build's errors together: the plugin's error (with its loc) is in `errors`.
  pluginError: (err) => (err as { errors?: { loc?: object }[] }).errors?.[0] ?? {},
});
