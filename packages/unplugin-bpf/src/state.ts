/**
 * What every bundler shares: the options, the project root (each bundler tells it differently),
 * the builder, and turning a build into module code and events. Nothing here knows a bundler.
 */
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkSingleObjectSettings, isLinkError, summarizeObject, type SingleObjectBuildError, type SingleObjectResult, type SourceDiagnostic } from '@bpf-linker/core';
import { ObjectBuilder, defaultWorkerPath } from './builder';
import type { BpfImport } from './ids';
import type { BuildEvent, Options } from './types';

export const PLUGIN_NAME = 'unplugin-bpf';

/** System headers change only with packages; they are keyed, but not watched (thousands of inotify watches for nothing). */
const UNWATCHED = /^\/usr\//;

export interface BuiltImport {
  imp: BpfImport;
  result: SingleObjectResult;
  /** The source and what it read, for the bundler's watcher. */
  watchFiles: string[];
}

/** A build failure, ready for any bundler's error format. */
export interface FailureView {
  /** One line: `file:line:col: error: message`, or what failed. */
  headline: string;
  /** Everything: headline, source excerpt, the tool's other diagnostics, hint. */
  text: string;
  file: string;
  /** 1-based, from the tool. */
  line?: number;
  column?: number;
  /** clang's source excerpt with the caret. */
  frame?: string;
  hint?: string;
  /** Files to watch so that fixing them rebuilds. */
  watchFiles: string[];
}

function ownPackageJson(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'package.json');
}

export class PluginState {
  root?: string;
  private builderInstance?: ObjectBuilder;
  readonly options: Options;

  constructor(options: Options | undefined) {
    this.options = options ?? {};
    checkOptions(this.options);
  }

  /** Set by each bundler's own hook (Vite's config root, webpack's context, esbuild's working directory). */
  setRoot(root: string): void {
    if (this.root !== root) this.builderInstance = undefined;
    this.root = root;
  }

  get builder(): ObjectBuilder {
    this.builderInstance ??= new ObjectBuilder({
      root: this.root ?? process.cwd(),
      options: this.options,
      workerPath: defaultWorkerPath(),
      cliSearch: [join(this.root ?? process.cwd(), 'package.json'), ownPackageJson()],
    });
    return this.builderInstance;
  }

  /** A new bundler build (buildStart): probe the toolchain again. */
  startBuild(): void {
    this.builderInstance?.refreshToolchain();
  }

  log(level: 'info' | 'debug', text: string): void {
    const want = this.options.logLevel ?? 'silent';
    if (want === 'debug' || (want === 'info' && level === 'info')) process.stderr.write(`[${PLUGIN_NAME}] ${text}\n`);
  }

  async build(imp: BpfImport): Promise<BuiltImport> {
    const started = performance.now();
    const { result, origin } = await this.builder.build(imp.file, imp.kind, (kind, description) => this.log('debug', description));
    const count = (k: string) => (origin === 'build' ? result.steps.filter((s) => s.kind === k).length : 0);
    const event: BuildEvent = {
      source: imp.file,
      mode: imp.mode,
      name: result.name,
      cached: origin === 'cache',
      shared: origin === 'shared',
      compiled: count('compile'),
      linked: count('link'),
      cargo: count('cargo'),
      steps: origin === 'build' ? result.steps.map((s) => ({ kind: s.kind, durationMs: s.durationMs })) : [],
      key: result.objectKey,
      dependencies: result.dependencies,
      durationMs: performance.now() - started,
    };
    this.log('info', `${imp.file}?${imp.mode}: ${origin === 'cache' ? 'cached' : origin === 'shared' ? 'built by another import' : `built (${result.steps.map((s) => `${s.kind} ${Math.round(s.durationMs)} ms`).join(', ')})`}, ${result.bytes.length} bytes`);
    this.options.onBuild?.(event);
    return { imp, result, watchFiles: [imp.file, ...result.dependencies.filter((d) => !UNWATCHED.test(d))] };
  }

  /** The failure as every bundler shows it, with the files whose change should rebuild. */
  failure(imp: BpfImport, e: unknown): FailureView {
    const watchFiles = [imp.file, ...this.builder.lastDependencies(imp.file, imp.kind).filter((d) => !UNWATCHED.test(d))];
    if (!isLinkError(e)) {
      const message = e instanceof Error ? e.message : String(e);
      return { headline: `${imp.file}: ${message}`, text: `${imp.file}: ${message}`, file: imp.file, watchFiles };
    }
    const d: SourceDiagnostic | undefined = (e as SingleObjectBuildError).diagnostic;
    if (d && !watchFiles.includes(d.file)) watchFiles.push(d.file);
    const headline = d ? e.message : e.file && e.message.includes(e.file) ? e.message : `${imp.file}: ${e.message}`;
    const others = d ? otherErrors(e.output ?? '', headline) : e.output?.trimEnd();
    const text = [headline, d?.excerpt, others ? `${d ? 'more of the tool\'s output' : 'output'}:\n${others}` : undefined, e.hint ? `hint: ${e.hint}` : undefined]
      .filter((x): x is string => Boolean(x))
      .join('\n');
    return { headline, text, file: d?.file ?? e.file ?? imp.file, line: d?.line, column: d?.column, frame: d?.excerpt, hint: e.hint, watchFiles };
  }
}

const OPTION_NAMES = ['clang', 'target', 'includeDirs', 'defines', 'flags', 'link', 'cargo', 'linker', 'cacheDir', 'inlineLimit', 'assetsDir', 'workers', 'onBuild', 'logLevel'] as const satisfies readonly (keyof Options)[];

/**
 * Refuses unknown or invalid options when the plugin is created (in the bundler's config), each
 * named: the compile and link values are checked with bpf.config.json's schema.
 */
export function checkOptions(o: Options): void {
  const problems: string[] = [];
  for (const key of Object.keys(o)) {
    if ((OPTION_NAMES as readonly string[]).includes(key)) continue;
    const near = OPTION_NAMES.find((n) => n.toLowerCase().startsWith(key.toLowerCase().slice(0, 4)));
    problems.push(`  ${key}: unknown option${near ? ` (did you mean "${near}"?)` : ''}`);
  }
  const count = (key: 'inlineLimit' | 'workers', min: number) => {
    const v = o[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min)) problems.push(`  ${key}: expected an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  };
  count('inlineLimit', 0);
  count('workers', 1);
  if (o.logLevel !== undefined && !['silent', 'info', 'debug'].includes(o.logLevel)) problems.push(`  logLevel: expected "silent", "info" or "debug", got ${JSON.stringify(o.logLevel)}`);
  for (const key of ['cacheDir', 'assetsDir', 'linker'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'string') problems.push(`  ${key}: expected a path, got ${JSON.stringify(o[key])}`);
  }
  if (o.onBuild !== undefined && typeof o.onBuild !== 'function') problems.push('  onBuild: expected a function');
  try {
    const { cargo: _cargo, rustc: _rustc, ...cargo } = o.cargo ?? {};
    checkSingleObjectSettings({
      compile: { clang: o.clang, target: o.target, includeDirs: o.includeDirs, defines: o.defines, flags: o.flags },
      link: o.link,
      cargo,
    });
  } catch (e) {
    // The core names the compile settings `compile.x`; here they are top-level options.
    problems.push(...(e as Error).message.split('\n').slice(1).map((l) => l.replace(/^ {2}compile\./, '  ')));
  }
  if (problems.length > 0) {
    throw new Error(`[${PLUGIN_NAME}] invalid options:\n${problems.join('\n')}\n  hint: see the options in unplugin-bpf's README; link takes every bpf-linker option by its bpf.config.json name`);
  }
}

/** The tool's output without the first error (already the headline), or undefined when nothing else is in it. */
function otherErrors(output: string, headline: string): string | undefined {
  const lines = output.trimEnd().split('\n');
  const rest = lines.filter((l) => !/^\d+ errors? generated\.$/.test(l));
  const i = rest.findIndex((l) => l.startsWith(headline));
  if (i >= 0) {
    // Drop the first diagnostic and its excerpt (up to the next located line).
    let j = i + 1;
    while (j < rest.length && !/^\S.*:\d+:\d+: /.test(rest[j]) && !/^(error|warning)/.test(rest[j])) j++;
    rest.splice(i, j - i);
  }
  const text = rest.join('\n').trim();
  return text ? text : undefined;
}

// ---------------------------------------------------------------------------------------------
// Module code, the same for every bundler

/** First 8 hex digits of the object's SHA-256: the content hash in emitted file names. */
export function contentHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 8);
}

/** `xdp-1a2b3c4d.o`. */
export function assetFileName(built: BuiltImport): string {
  return `${built.result.name}-${contentHash(built.result.bytes)}.o`;
}

/** A Uint8Array of the bytes, decoded from base64 at run time (atob: Node ≥ 16 and browsers). */
export function bytesModule(bytes: Uint8Array): string {
  const b64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  return [
    `const s = atob(${JSON.stringify(b64)});`,
    'const bytes = new Uint8Array(s.length);',
    'for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);',
    'export default bytes;',
    '',
  ].join('\n');
}

export function valueModule(value: unknown): string {
  return `export default ${JSON.stringify(value)};\n`;
}

export function manifestModule(built: BuiltImport): string {
  return valueModule(summarizeObject(built.result.name, built.result.bytes));
}

export function dataUrl(bytes: Uint8Array): string {
  return `data:application/octet-stream;base64,${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}`;
}

/** `?url` objects small enough to inline as a data: URL. */
export function inlinesUrl(state: PluginState, built: BuiltImport): boolean {
  return built.result.bytes.length <= (state.options.inlineLimit ?? 0);
}

/** Where an emitted object goes in the output: `<assetsDir>/<name>-<hash>.o`. */
export function emittedFileName(state: PluginState, built: BuiltImport): string {
  const dir = (state.options.assetsDir ?? 'bpf').replace(/\/+$/, '');
  return dir ? `${dir}/${assetFileName(built)}` : assetFileName(built);
}
