/**
 * A content-addressed store for link outputs, for hosts without a cache of their own (bundler
 * plugins, scripts): `<dir>/<key[0..2]>/<key>` holds the bytes. Writes are atomic, so a crash
 * never leaves a partial entry; a damaged or missing entry reads as a miss. Several processes
 * may share a store: puts and prunes of others can remove entries at any moment, which is a miss
 * for a get and nothing for a prune. Temporaries of killed writers are swept by puts and prunes.
 */
import { readFileSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { sweepStaleTemporaries, writeFileAtomically } from '../pipeline/output';

export interface CacheStore {
  readonly dir: string;
  get(key: string): Uint8Array | undefined;
  put(key: string, bytes: Uint8Array): void;
  /**
   * Removes the least recently written entries beyond `maxEntries`; returns how many this call
   * removed (entries that another process removed meanwhile are not counted).
   */
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
        const shardDir = join(dir, shard);
        let names: string[] = [];
        try {
          names = readdirSync(shardDir);
        } catch {
          continue;
        }
        sweepStaleTemporaries(shardDir);
        for (const name of names) {
          if (!KEY.test(name)) continue;
          const file = join(shardDir, name);
          try {
            entries.push({ file, mtime: statSync(file).mtimeMs });
          } catch {
            // Removed by a concurrent prune or replaced meanwhile: nothing to prune.
          }
        }
      }
      entries.sort((a, b) => b.mtime - a.mtime);
      let removed = 0;
      for (const e of entries.slice(Math.max(0, maxEntries))) {
        try {
          // unlink, not rm: rmSync returns quietly when the file vanishes between its own checks,
          // which would count an entry another process removed.
          unlinkSync(e.file);
          removed++;
        } catch {
          // Already removed by another process.
        }
      }
      return removed;
    },
  };
}
