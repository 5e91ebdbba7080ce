/**
 * Every difference between bundlers, in one place. The rest of the plugin builds an object and
 * turns it into module code the same way for all of them; what differs is:
 *
 * | | root | `?url` | errors | watching headers |
 * |---|---|---|---|---|
 * | Rollup, Rolldown, Vite build | cwd / Vite's root | `this.emitFile` + `import.meta.ROLLUP_FILE_URL_<ref>` | `this.error` with `loc` and `frame` | `this.addWatchFile` |
 * | Vite dev server | Vite's root | `/@bpf/<name>-<hash>.o`, served from the cache by a middleware (emitFile does not exist in serve mode) | `this.error`: the overlay | `this.addWatchFile`: Vite adds the headers to the module graph, so an edit reloads |
 * | webpack, Rspack | `compiler.context` | the object written to `<cache>/assets/<name>-<hash>.o`, and `new URL(<that path>, import.meta.url)`, which the bundler turns into an asset (a rule names it `bpf/<name>-<hash>.o`) | an Error from the loader, without a stack | the loader's `addDependency` |
 * | esbuild | `absWorkingDir` | esbuild's own `file` loader (`[name]-[hash].o` under `assetNames`) | `errors` with a `location` | `watchFiles` |
 *
 * Query imports (`?url`) need a resolveId in the Rollup family only: webpack and Rspack resolve
 * the path and keep the query, and esbuild gets its own onResolve. Import attributes become that
 * query: in resolveId (Rollup family), in esbuild's onResolve, and in webpack's and Rspack's
 * beforeResolve (their loaders never see attributes). esbuild also gets its own
 * onLoad (instead of unplugin's generic load) so that assets go through its `file` loader (no
 * outdir requirement, `write: false` and the metafile work) and errors carry esbuild locations.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { PluginBuild } from 'esbuild';
import { crateBinaryName, programNameOf } from '@bpf-linker/core';
import type { UnpluginBuildContext, UnpluginContext, UnpluginContextMeta, UnpluginOptions } from 'unplugin';
import { LOAD_FILTER, RESOLVE_FILTER, attributeQuery, ImportError, parseBpfImport, splitId, withMode, type BpfImport } from './ids';
import {
  PLUGIN_NAME,
  assetFileName,
  bytesModule,
  dataUrl,
  emittedFileName,
  inlinesUrl,
  manifestModule,
  valueModule,
  type BuiltImport,
  type FailureView,
  type PluginState,
} from './state';

type Framework = UnpluginContextMeta['framework'];

/** What the plugin uses of webpack's and Rspack's module factory: requests before resolution. */
interface BeforeResolveData {
  request: string;
  attributes?: Record<string, string>;
  dependencies?: Array<{ attributes?: Record<string, string> }>;
}
interface ModuleFactory {
  hooks: { beforeResolve: { tap(name: string, fn: (data: BeforeResolveData) => undefined): void } };
}
/** What the plugin uses of a webpack or Rspack compiler. */
interface WebpackLikeCompiler {
  context: string;
  options: { module: { rules: unknown[] } };
  hooks: { normalModuleFactory: { tap(name: string, fn: (factory: ModuleFactory) => void): void } };
}
type HookContext = UnpluginBuildContext & UnpluginContext;

/** The Rollup family: Rollup, Rolldown and Vite (whose dev server runs Rollup-style hooks). */
export function isRollupFamily(framework: Framework): boolean {
  return framework === 'rollup' || framework === 'rolldown' || framework === 'vite';
}

/** How one bundler receives an object and an error. */
export interface Delivery {
  url(ctx: HookContext, built: BuiltImport): string;
  fail(ctx: HookContext, view: FailureView): never;
  watch(ctx: HookContext, file: string, source: string): void;
}

const rollupDelivery = (vite: ViteServe): Delivery => ({
  url(ctx, built) {
    if (vite.serving) return valueModule(vite.register(built));
    // unplugin types emitFile as void; Rollup, Rolldown and Vite return the reference id.
    const emit = ctx.emitFile as unknown as (this: HookContext, file: object) => string;
    const ref = emit.call(ctx, { type: 'asset', fileName: emittedFileName(vite.state, built), source: built.result.bytes });
    return `export default import.meta.ROLLUP_FILE_URL_${ref};\n`;
  },
  fail(ctx, view) {
    const loc = view.line !== undefined ? { file: view.file, line: view.line, column: Math.max(0, (view.column ?? 1) - 1) } : undefined;
    // Rollup's columns count from 0; the message keeps the tool's own file:line:col.
    (ctx as unknown as { error(e: unknown): never }).error({ message: view.text, id: view.file, loc, frame: view.frame });
    throw new Error(view.text);
  },
  watch(ctx, file, source) {
    // Rollup and Rolldown watch a module's file only when they read it themselves: the source is
    // added like the headers. Vite's dev server watches every file of the project and maps it to
    // its modules; there, an added file becomes an import in its module graph, and the source
    // would become an import of itself.
    if (file !== source || !vite.serving) ctx.addWatchFile(file);
  },
});

const webpackDelivery = (state: PluginState): Delivery => ({
  url(_ctx, built) {
    // `new URL(<file>, import.meta.url)` makes webpack and Rspack copy the file as an asset;
    // it must exist on disk, under a name that says what it is.
    const file = join(state.builder.cacheDir, 'assets', assetFileName(built));
    writeOnce(file, built.result.bytes);
    return `export default new URL(${JSON.stringify(file)}, import.meta.url).href;\n`;
  },
  fail(_ctx, view) {
    const e = new Error(view.text) as Error & { hideStack?: boolean };
    // webpack prints a loader error's stack unless told not to: the message is the whole story.
    e.hideStack = true;
    e.stack = view.text;
    throw e;
  },
  watch(ctx, file) {
    ctx.addWatchFile(file);
  },
});

/** Writes a content-named file unless it exists (same name, same bytes). */
function writeOnce(file: string, bytes: Uint8Array): void {
  if (existsSync(file)) return;
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
}

/** The Vite dev server's side: objects served under `/@bpf/` from the cache. */
class ViteServe {
  serving = false;
  base = '/';
  private readonly files = new Map<string, string>();

  constructor(readonly state: PluginState) {}

  register(built: BuiltImport): string {
    const name = assetFileName(built);
    this.files.set(name, built.result.objectPath);
    return `${this.base}@bpf/${name}`;
  }

  /** The object file for a request path below `/@bpf/`, if one was registered. */
  lookup(name: string): string | undefined {
    return this.files.get(name);
  }
}

/** The module code for one import, given how this bundler takes URLs. */
export function moduleCode(state: PluginState, delivery: Delivery, ctx: HookContext, built: BuiltImport): string {
  switch (built.imp.mode) {
    case 'bytes':
      return bytesModule(built.result.bytes);
    case 'path':
      return valueModule(built.result.objectPath);
    case 'manifest':
      return manifestModule(built);
    case 'url':
      return inlinesUrl(state, built) ? valueModule(dataUrl(built.result.bytes)) : delivery.url(ctx, built);
  }
}

/** Builds the import; a failure becomes the bundler's error after its files are watched. */
async function load(state: PluginState, delivery: Delivery, ctx: HookContext, id: string): Promise<{ code: string; moduleType: 'js' } | null> {
  let imp: BpfImport | null;
  try {
    imp = parseBpfImport(id);
  } catch (e) {
    if (e instanceof ImportError) delivery.fail(ctx, { headline: e.message, text: e.message, file: e.file, watchFiles: [] });
    throw e;
  }
  if (!imp) return null;
  let built: BuiltImport;
  try {
    built = await state.build(imp);
  } catch (e) {
    const view = state.failure(imp, e);
    for (const f of view.watchFiles) delivery.watch(ctx, f, imp.file);
    delivery.fail(ctx, view);
  }
  for (const f of built.watchFiles) delivery.watch(ctx, f, imp.file);
  // `moduleType: 'js'`: the code is JavaScript whatever the import's attributes say. Rolldown
  // (and so Vite 8's build) with experimental.importAttributes would otherwise turn the module
  // into bytes itself for `with { type: 'bytes' }`.
  return { code: moduleCode(state, delivery, ctx, built), moduleType: 'js' };
}

/**
 * The hooks for one bundler: the generic resolveId/load where they fit, and each bundler's own
 * hooks (Vite's config and server, the webpack/Rspack compiler, esbuild's setup).
 */
export function bundlerHooks(state: PluginState, framework: Framework): Partial<UnpluginOptions> {
  if (framework === 'esbuild') return { esbuild: { setup: (build) => esbuildSetup(state, build) } };

  const vite = new ViteServe(state);
  const delivery = isRollupFamily(framework) ? rollupDelivery(vite) : webpackDelivery(state);
  const hooks: Partial<UnpluginOptions> = {
    buildStart() {
      state.startBuild();
    },
    load: {
      filter: { id: LOAD_FILTER },
      handler(id) {
        return load(state, delivery, this, id);
      },
    },
  };
  if (isRollupFamily(framework)) {
    hooks.resolveId = {
      // Every .bpf.c import (its attributes may choose a mode), and Cargo.toml with a query.
      filter: { id: RESOLVE_FILTER },
      async handler(id, importer, options) {
        const { path, query } = splitId(id);
        const attributes = (options as { attributes?: Record<string, string> } | undefined)?.attributes;
        const mode = attributeQuery(attributes, path);
        if (!query && !mode) return null;
        const self = this as unknown as { resolve?: (id: string, importer?: string, o?: object) => Promise<{ id: string; external?: boolean | string } | null> };
        const resolved = self.resolve ? await self.resolve(path, importer, { skipSelf: true }) : { id: resolve(dirname(importer ?? process.cwd()), path) };
        if (!resolved || resolved.external) return null;
        return withMode(query ? `${splitId(resolved.id).path}?${query}` : resolved.id, mode);
      },
    };
  }
  hooks.vite = {
    configResolved(config) {
      state.setRoot(config.root);
      vite.serving = config.command === 'serve';
      vite.base = config.base.endsWith('/') ? config.base : `${config.base}/`;
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const url = req.url?.split('?')[0] ?? '';
        const at = url.indexOf('/@bpf/');
        const file = at >= 0 ? vite.lookup(decodeURIComponent(url.slice(at + '/@bpf/'.length))) : undefined;
        if (!file) return next();
        try {
          const bytes = readFileSync(file);
          res.setHeader('Content-Type', 'application/octet-stream');
          res.setHeader('Cache-Control', 'no-cache');
          res.end(bytes);
        } catch (e) {
          next(e);
        }
      });
    },
  };
  const webpackLike = (compiler: WebpackLikeCompiler) => {
    state.setRoot(compiler.context);
    // Import attributes choose a mode by becoming the query, before webpack resolves the request
    // (its loaders, ours included, only see the resource and its query).
    compiler.hooks.normalModuleFactory.tap(PLUGIN_NAME, (factory) => {
      factory.hooks.beforeResolve.tap(PLUGIN_NAME, (data) => {
        const attributes = data.attributes ?? data.dependencies?.[0]?.attributes;
        if (!attributes || !RESOLVE_FILTER.test(data.request)) return undefined;
        const mode = attributeQuery(attributes, data.request);
        if (mode && !splitId(data.request).query.split('&').includes(mode)) data.request = withMode(data.request, mode);
        return undefined;
      });
    });
    // Objects that `?url` imports point at: copied to <assetsDir>/<name>-<hash>.o (the name has the hash already).
    const dir = (state.options.assetsDir ?? 'bpf').replace(/\/+$/, '');
    compiler.options.module.rules.push({
      test: (p: string) => p.startsWith(join(state.builder.cacheDir, 'assets')),
      type: 'asset/resource',
      generator: { filename: `${dir ? `${dir}/` : ''}[name][ext]` },
    });
  };
  hooks.webpack = webpackLike as UnpluginOptions['webpack'];
  hooks.rspack = webpackLike as unknown as UnpluginOptions['rspack'];
  return hooks;
}

// ---------------------------------------------------------------------------------------------
// esbuild

const ESBUILD_NAMESPACE = 'bpf';

function esbuildSetup(state: PluginState, build: PluginBuild): void {
  state.setRoot(build.initialOptions.absWorkingDir ?? process.cwd());
  build.onStart(() => state.startBuild());
  build.onResolve({ filter: RESOLVE_FILTER }, (args) => {
    if (args.namespace !== 'file') return undefined;
    const { path, query } = splitId(args.path);
    const file = resolve(args.resolveDir, path);
    try {
      const imp = parseBpfImport(withMode(query ? `${file}?${query}` : file, attributeQuery(args.with, file)));
      if (!imp) return undefined;
      // The module's identity, one per source and mode, is a path of our namespace (never read):
      // `<source>/<mode>/<name>.o`, so that the `file` loader names the asset `<name>-<hash>.o`.
      const name = imp.kind === 'c' ? programNameOf(file) : crateName(file);
      return { path: join(file, imp.mode, `${name}.o`), namespace: ESBUILD_NAMESPACE, pluginData: imp };
    } catch (e) {
      if (e instanceof ImportError) return { errors: [{ text: e.message, location: { file: args.importer } }] };
      throw e;
    }
  });
  build.onLoad({ filter: /.*/, namespace: ESBUILD_NAMESPACE }, async (args) => {
    const imp = args.pluginData as BpfImport;
    let built: BuiltImport;
    try {
      built = await state.build(imp);
    } catch (e) {
      const view = state.failure(imp, e);
      return {
        errors: [
          {
            text: view.headline,
            location: view.line !== undefined ? { file: view.file, line: view.line, column: Math.max(0, (view.column ?? 1) - 1), lineText: lineOf(view.file, view.line) } : { file: view.file },
            notes: [{ text: view.text.split('\n').slice(1).join('\n') }],
          },
        ],
        watchFiles: view.watchFiles,
      };
    }
    const watchFiles = built.watchFiles;
    switch (imp.mode) {
      case 'bytes':
        // Not esbuild's `binary` loader: without a `target`, esbuild 0.28 decodes it with
        // Uint8Array.fromBase64, which Node 20 lacks. The same module code as everywhere else.
        return { contents: bytesModule(built.result.bytes), loader: 'js', watchFiles };
      case 'url':
        return inlinesUrl(state, built)
          ? { contents: valueModule(dataUrl(built.result.bytes)), loader: 'js', watchFiles }
          : { contents: built.result.bytes, loader: 'file', watchFiles };
      case 'path':
        return { contents: valueModule(built.result.objectPath), loader: 'js', watchFiles };
      case 'manifest':
        return { contents: manifestModule(built), loader: 'js', watchFiles };
    }
  });
}

/** The crate's program name (its binary target), for the emitted file's name. */
function crateName(manifest: string): string {
  try {
    return programNameOf(crateBinaryName(readFileSync(manifest, 'utf8')) ?? basename(dirname(manifest)));
  } catch {
    return basename(dirname(manifest));
  }
}

function lineOf(file: string, line: number): string | undefined {
  try {
    return readFileSync(file, 'utf8').split('\n')[line - 1];
  } catch {
    return undefined;
  }
}

export { PLUGIN_NAME };
