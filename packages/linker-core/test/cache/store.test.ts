/**
 * The content-addressed store under concurrency and after crashes: prunes of several processes
 * at once never fail, and temporaries of killed writers are swept by the next put.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { openCacheStore } from '../../src/cache';
import { makeTempDir } from '../support/toolchain';

const STORE_SRC = join(__dirname, '../../src/cache/store.ts');

/** A node script that runs `prune(max)` on the store in argv[2] and prints how many it removed. */
function buildPruneScript(dir: string): string {
  const entry = join(dir, 'prune.ts');
  writeFileSync(
    entry,
    `import { openCacheStore } from ${JSON.stringify(STORE_SRC)};
const [dir, max] = process.argv.slice(2);
process.stdout.write(String(openCacheStore(dir).prune(Number(max))));
`,
  );
  const out = join(dir, 'prune.cjs');
  buildSync({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', outfile: out, logLevel: 'error' });
  return out;
}

function run(script: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const key = (i: number) => i.toString(16).padStart(64, '0').replace(/^00/, (i % 256).toString(16).padStart(2, '0'));

function entries(dir: string): string[] {
  return readdirSync(dir)
    .filter((s) => /^[0-9a-f]{2}$/.test(s))
    .flatMap((s) => readdirSync(join(dir, s)))
    .sort();
}

let tmp: string;
let pruneScript: string;
beforeAll(() => {
  tmp = makeTempDir('bpfl-store-');
  pruneScript = buildPruneScript(tmp);
});

describe('prune', () => {
  it('8 processes pruning one store at once: none fails, each entry is removed once, the newest stay', async () => {
    const dir = join(tmp, 'concurrent');
    const store = openCacheStore(dir);
    const total = 2000;
    const keep = 10;
    const base = Date.now() / 1000 - total;
    for (let i = 0; i < total; i++) {
      store.put(key(i), new Uint8Array([i & 0xff]));
      utimesSync(join(dir, key(i).slice(0, 2), key(i)), base + i, base + i);
    }
    const runs = await Promise.all(Array.from({ length: 8 }, () => run(pruneScript, [dir, String(keep)])));
    for (const r of runs) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    expect(runs.reduce((sum, r) => sum + Number(r.stdout), 0)).toBe(total - keep);
    const newest = Array.from({ length: keep }, (_, i) => key(total - keep + i)).sort();
    expect(entries(dir)).toEqual(newest);
  });
});

describe('put', () => {
  it("sweeps the shard's temporaries of killed writers, and keeps a live writer's", () => {
    const dir = join(tmp, 'sweep');
    const store = openCacheStore(dir);
    const k = key(7);
    const shard = join(dir, k.slice(0, 2));
    mkdirSync(shard, { recursive: true });
    const old = Date.now() / 1000 - 120;
    const dead = join(shard, `.${key(8)}.4194305.abc123.tmp`); // a pid above PID_MAX_LIMIT: dead
    writeFileSync(dead, 'partial');
    utimesSync(dead, old, old);
    const live = join(shard, `.${key(9)}.${process.pid}.def456.tmp`);
    writeFileSync(live, 'partial');
    store.put(k, new Uint8Array([1, 2, 3]));
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(readdirSync(shard).sort()).toEqual([k, `.${key(9)}.${process.pid}.def456.tmp`].sort());
    expect(store.get(k)).toEqual(new Uint8Array([1, 2, 3]));
  });
});
