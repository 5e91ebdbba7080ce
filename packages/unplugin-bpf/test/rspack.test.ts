/** Rspack 2 with the plugin: the shared webpack-like suite (webpack-like.ts). */
import { rspack, rspackVersion } from '@rspack/core';
import { webpackLikeSuite, type Compiler } from './webpack-like';

webpackLikeSuite('rspack', (config) => rspack(config as Parameters<typeof rspack>[0]) as unknown as Compiler, rspackVersion);
