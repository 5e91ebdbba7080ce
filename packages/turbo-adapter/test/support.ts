/** Temporary monorepos on disk for the adapter's tests. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** An empty temporary directory, removed after the test file. */
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'bpf-turbo-'));
  made.push(d);
  return d;
}

export function writeFiles(root: string, files: Record<string, string | object>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), typeof content === 'string' ? content : `${JSON.stringify(content, null, 2)}\n`);
  }
}

/** A library package, a C program package linking it, and a Rust program package. */
export const SAMPLE: Record<string, string | object> = {
  'package.json': { name: 'mono', private: true, workspaces: ['packages/*'], devDependencies: { '@bpf-linker/turbo': '^0.1.0' } },
  'packages/counters/package.json': { name: 'counters', version: '0.0.0' },
  'packages/counters/bpf.config.json': { library: { name: 'counters', sources: ['src/**/*.c'], publicIncludeDirs: ['include'] } },
  'packages/counters/src/counters.c': '#include "counters.h"\nint counters_record(int k) { return k; }\n',
  'packages/counters/include/counters.h': 'int counters_record(int k);\n',
  'packages/xdp/package.json': { name: 'xdp', version: '0.0.0' },
  'packages/xdp/bpf.config.json': { programs: [{ name: 'xdp', sources: ['src/**/*.c'], libraries: ['counters'] }] },
  'packages/xdp/src/xdp.bpf.c': '#include "counters.h"\nint x(void) { return counters_record(1); }\n',
  'packages/rusty/package.json': { name: 'rusty', version: '0.0.0' },
  'packages/rusty/bpf.config.json': { programs: [{ name: 'rusty', cargo: { manifest: 'Cargo.toml', bin: 'rusty' } }] },
  'packages/rusty/Cargo.toml': '[package]\nname = "rusty"\n',
  'packages/rusty/src/main.rs': '#![no_std]\n',
  'packages/web/package.json': { name: 'web', version: '0.0.0' },
};

export function tempMonorepo(files: Record<string, string | object> = SAMPLE): string {
  const root = tempDir();
  writeFiles(root, files);
  return root;
}
