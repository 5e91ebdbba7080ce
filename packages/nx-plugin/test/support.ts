/** Temporary workspaces on disk, and Nx trees written out to them. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Tree } from '@nx/devkit';

export function tempWorkspace(files: Record<string, string | object> = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'bpf-nx-'));
  writeFiles(root, { 'nx.json': {}, 'package.json': { name: 'ws', private: true }, ...files });
  return root;
}

export function writeFiles(root: string, files: Record<string, string | object>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), typeof content === 'string' ? content : `${JSON.stringify(content, null, 2)}\n`);
  }
}

/** Writes every file of a generator's tree to `root` (a real directory). */
export function flushTree(tree: Tree, root: string): void {
  for (const change of tree.listChanges()) {
    if (change.type === 'DELETE') continue;
    mkdirSync(dirname(join(root, change.path)), { recursive: true });
    writeFileSync(join(root, change.path), change.content ?? '');
  }
}

/** A C library, a C program linking it, and a Rust program, as the generators lay them out. */
export const SAMPLE: Record<string, string | object> = {
  'libs/counters/project.json': { name: 'counters' },
  'libs/counters/bpf.config.json': { library: { name: 'counters', sources: ['src/**/*.c'], publicIncludeDirs: ['include'] } },
  'libs/counters/src/counters.c': '#include "counters.h"\nint counters_record(int k) { return k; }\n',
  'libs/counters/include/counters.h': 'int counters_record(int k);\n',
  'apps/xdp/project.json': { name: 'xdp' },
  'apps/xdp/bpf.config.json': { link: { cpu: 'v3' }, programs: [{ name: 'xdp', sources: ['src/**/*.c'], libraries: ['counters'] }] },
  'apps/xdp/src/xdp.bpf.c': '#include "counters.h"\n',
  'apps/rusty/package.json': { name: 'rusty' },
  'apps/rusty/bpf.config.json': { programs: [{ name: 'rusty', cargo: {} }] },
  'apps/rusty/Cargo.toml': '[package]\nname = "rusty"\n',
  'apps/rusty/src/main.rs': '',
};
