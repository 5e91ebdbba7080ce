/**
 * Inferred project configurations, kept on disk between Nx runs and keyed by a hash of what
 * inference reads (the project's files, every bpf.config.json and project name it resolves
 * libraries against, the plugin's version and options). A hit skips walking the project
 * directory and planning. NX_CACHE_PROJECT_GRAPH=false starts empty, as Nx's own caches do.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const MAX_ENTRIES = 2000;

export class InferenceCache<T> {
  private readonly entries = new Map<string, T>();
  private readonly used = new Set<string>();
  private dirty = false;

  constructor(readonly file: string) {
    if (process.env.NX_CACHE_PROJECT_GRAPH === 'false' || !existsSync(file)) return;
    try {
      const data = JSON.parse(readFileSync(file, 'utf8')) as Record<string, T>;
      for (const [k, v] of Object.entries(data)) this.entries.set(k, v);
    } catch {
      // a damaged cache is an empty one
    }
  }

  get(key: string): T | undefined {
    const v = this.entries.get(key);
    if (v !== undefined) this.used.add(key);
    return v;
  }

  set(key: string, value: T): void {
    this.entries.set(key, value);
    this.used.add(key);
    this.dirty = true;
  }

  /** Writes entries used in this run first, then older ones, up to MAX_ENTRIES. */
  save(): void {
    if (!this.dirty) return;
    const keys = [...this.used, ...[...this.entries.keys()].filter((k) => !this.used.has(k))].slice(0, MAX_ENTRIES);
    const data = Object.fromEntries(keys.map((k) => [k, this.entries.get(k)]));
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(data));
      renameSync(tmp, this.file);
      this.dirty = false;
    } catch {
      // caching is an optimization: a read-only workspace still infers
    }
  }
}

/** Nx's workspace data directory (where project-graph caches live). */
export function workspaceDataDirectory(workspaceRoot: string): string {
  try {
    const nx = createRequire(join(workspaceRoot, 'package.json'))('nx/src/utils/cache-directory') as { workspaceDataDirectory?: string };
    if (nx.workspaceDataDirectory) return nx.workspaceDataDirectory;
  } catch {
    // fall back to Nx's default layout
  }
  return process.env.NX_WORKSPACE_DATA_DIRECTORY ?? join(workspaceRoot, '.nx', 'workspace-data');
}
