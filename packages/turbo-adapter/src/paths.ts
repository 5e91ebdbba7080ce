/**
 * This package's root directory (for its package.json), from the running file: the bundle runs
 * as CommonJS (`import.meta.dirname` is mapped to `__dirname`, see build.mjs); tests run sources.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function adapterRoot(): string {
  let dir = import.meta.dirname;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === '@bpf-linker/turbo') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the @bpf-linker/turbo package root above ${import.meta.dirname}`);
    dir = up;
  }
}
