/**
 * A content-addressed store for link outputs, for hosts without a cache of their own (bundler
 * plugins, scripts): `<dir>/<key[0..2]>/<key>` holds the bytes. Writes are atomic, so a crash
 * never leaves a partial entry; a damaged or missing entry reads as a miss.
 */
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomically } from '../pipeline/output';

export interface CacheStore {
  readonly dir: string;
  get(key: string): Uint8Array | undefined;
  put(key: string, bytes: Uint8Array): void;
  /** Removes the least recently written entries beyond `maxEntries`; returns how many. */
  prune(maxEntries: number): number;
}

const KEY = /^[0-9a-f]{16,128}$/;

export function openCacheStore(dir: string): CacheStore {
  const path = (key: string) => {
    if (!KEY.test(key)) throw new Error(`invalid cache key "${key}": expected a hex digest`);
    return join(dir, key.slice(0, 2), key);
  };
  return {
    dir,
    get(key) {
      try {
        return new Uint8Array(readFileSync(path(key)));
      } catch {
        return undefined;
      }
    },
    put(key, bytes) {
      writeFileAtomically(path(key), bytes);
    },
    prune(maxEntries) {
      const entries: { file: string; mtime: number }[] = [];
      let shards: string[] = [];
      try {
        shards = readdirSync(dir);
      } catch {
        return 0;
      }
      for (const shard of shards) {
        let names: string[] = [];
        try {
          names = readdirSync(join(dir, shard));
        } catch {
          continue;
        }
        for (const name of names) {
          if (!KEY.test(name)) continue;
          const file = join(dir, shard, name);
          entries.push({ file, mtime: statSync(file).mtimeMs });
        }
      }
      entries.sort((a, b) => b.mtime - a.mtime);
      const stale = entries.slice(Math.max(0, maxEntries));
      for (const e of stale) rmSync(e.file, { force: true });
      return stale.length;
    },
  };
}
