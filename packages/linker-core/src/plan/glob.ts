/**
 * Source globs of bpf.config.json (`src/**\/*.c`, `{a,b}.c`, `prog?.c`, `[ab].c`) expanded against
 * a project directory. Small on purpose: the same syntax Nx and Turborepo accept in inputs, so
 * adapters can pass the patterns through unchanged.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Directories never searched for sources: VCS data, dependencies and build outputs. */
export const SKIPPED_DIRS = new Set(['node_modules', '.git', 'target', 'dist', '.nx']);

export function globToRegExp(pattern: string): RegExp {
  let re = '';
  let i = 0;
  let braces = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      // `**/` matches zero or more directories; a trailing `**` matches everything below.
      if (pattern[i + 2] === '/') {
        re += '(?:[^/]+/)*';
        i += 3;
      } else {
        re += '.*';
        i += 2;
      }
      continue;
    }
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '{') {
      braces++;
      re += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      re += ')';
    } else if (c === ',' && braces > 0) re += '|';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        const body = pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^$()|\\\]]/g, '\\$&');
    i++;
  }
  return new RegExp(`^${re}$`);
}

/** Every file below `dir` (relative, `/`-separated, sorted), skipping SKIPPED_DIRS and dot-directories. */
export function listFiles(dir: string, skip: ReadonlySet<string> = SKIPPED_DIRS): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    let entries;
    try {
      entries = readdirSync(join(dir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!skip.has(e.name) && !skip.has(path) && !e.name.startsWith('.')) walk(path);
      } else if (e.isFile() || e.isSymbolicLink()) out.push(path);
    }
  };
  walk('');
  return out.sort();
}

/** Files of `files` matching any of `patterns` and none of `exclude`, in sorted order. */
export function matchFiles(files: readonly string[], patterns: readonly string[], exclude: readonly string[] = []): string[] {
  const inc = patterns.map((p) => globToRegExp(normalizePattern(p)));
  const exc = exclude.map((p) => globToRegExp(normalizePattern(p)));
  return files.filter((f) => inc.some((r) => r.test(f)) && !exc.some((r) => r.test(f)));
}

function normalizePattern(p: string): string {
  return p.replace(/^\.\//, '');
}

export function isGlob(p: string): boolean {
  return /[*?{[]/.test(p);
}
