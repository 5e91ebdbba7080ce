/**
 * Where things are at run time: this package's root (for the toolchain-identity script and the
 * generators' templates) and the bpf-linker CLI (rustc's linker, the verify/inspect targets).
 * Sources run under Vitest and the esbuild bundle runs as CommonJS; `import.meta.dirname` is
 * mapped to `__dirname` in the bundle (see build.mjs).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolveLinkerCli } from '@bpf-linker/core';
import { dirname, join, relative, sep } from 'node:path';

export const PLUGIN_NAME = '@bpf-linker/nx';

/** The directory of this package (the one holding its package.json). */
export function pluginRoot(): string {
  let dir = import.meta.dirname;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === PLUGIN_NAME) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the ${PLUGIN_NAME} package root above ${import.meta.dirname}`);
    dir = up;
  }
}

export function pluginVersion(): string {
  return (JSON.parse(readFileSync(join(pluginRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** The script printing the toolchain identity (a `runtime` cache input). */
export function identityScript(): string {
  return join(pluginRoot(), 'dist', 'toolchain-identity.js');
}

/**
 * The bpf-linker CLI's executable file: the workspace's own @bpf-linker/cli, else the one this
 * plugin depends on. Undefined when neither is installed.
 */
export function resolveCli(workspaceRoot: string): string | undefined {
  return resolveLinkerCli([join(workspaceRoot, 'package.json'), join(pluginRoot(), 'package.json')]);
}

/** A path for a command line run from the workspace root: relative when inside it, `/`-separated. */
export function workspaceRelative(workspaceRoot: string, path: string): string {
  const rel = relative(workspaceRoot, path);
  return rel.startsWith('..') ? path : rel.split(sep).join('/');
}

/** Quotes a word for `sh -c` when it needs it. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
