/** webpack 5 with the plugin: the shared webpack-like suite (webpack-like.ts). */
import webpack from 'webpack';
import { webpackLikeSuite, type Compiler } from './webpack-like';

webpackLikeSuite('webpack', (config) => webpack(config as webpack.Configuration) as unknown as Compiler, webpack.version);
