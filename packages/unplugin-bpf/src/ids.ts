/**
 * Which imports are BPF programs, and in which mode: `./x.bpf.c`, `./crate/Cargo.toml?bpf`, with
 * `?url`, `?path`, `?manifest` or `?bytes` (the default), or the same chosen with an import
 * attribute (`with { type: 'bytes' }`, the TC39 "import bytes" spelling, or `with { bpf: 'url' }`).
 * Query parameters that bundlers add themselves (Vite's `import`, `v`, `t`) are ignored.
 */

export const MODES = ['bytes', 'url', 'path', 'manifest'] as const;
export type ImportMode = (typeof MODES)[number];

export interface BpfImport {
  /** Absolute path of the C source or of Cargo.toml, without the query. */
  file: string;
  kind: 'c' | 'cargo';
  mode: ImportMode;
}

/** Ids a load hook must see: C sources, and any Cargo.toml (webpack matches rules on the path alone; the query is checked in the hook). */
export const LOAD_FILTER = /\.bpf\.c(?:\?.*)?$|(?:^|[\\/])Cargo\.toml(?:\?.*)?$/;
/** Import specifiers a resolver looks at: every C source (its attributes may choose a mode), a Cargo.toml with a query. */
export const RESOLVE_FILTER = /\.bpf\.c(?:\?.*)?$|(?:^|[\\/])Cargo\.toml\?/;

export class ImportError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
    this.name = 'ImportError';
  }
}

/** Splits `path?query` (Windows paths never contain `?`). */
export function splitId(id: string): { path: string; query: string } {
  const q = id.indexOf('?');
  return q < 0 ? { path: id, query: '' } : { path: id.slice(0, q), query: id.slice(q + 1) };
}

/** The import an id stands for, or null when it is not a BPF program import (a Cargo.toml without `?bpf`). */
export function parseBpfImport(id: string): BpfImport | null {
  const { path, query } = splitId(id.replace(/^\0/, ''));
  const params = new URLSearchParams(query);
  const kind = /\.bpf\.c$/.test(path) ? 'c' : /(?:^|[\\/])Cargo\.toml$/.test(path) ? 'cargo' : undefined;
  if (!kind) return null;
  // `?bpf` marks a crate; `?bpf=url` is accepted as a shorter `?bpf&url`.
  const bpfValue = params.get('bpf');
  if (kind === 'cargo' && bpfValue === null) return null;
  const modes = MODES.filter((m) => params.has(m) || bpfValue === m);
  if (bpfValue && !MODES.includes(bpfValue as ImportMode)) {
    throw new ImportError(`${path}: unknown mode "?bpf=${bpfValue}"; use one of ${MODES.map((m) => `?${m}`).join(', ')}`, path);
  }
  if (modes.length > 1) {
    throw new ImportError(`${path}: the import asks for ${modes.map((m) => `?${m}`).join(' and ')}; choose one mode`, path);
  }
  return { file: path, kind, mode: modes[0] ?? 'bytes' };
}

/**
 * The query that import attributes ask for, or '' for none: `type: 'bytes'` is the default mode;
 * `bpf: '<mode>'` picks one. Any other `type` is not ours to accept.
 */
export function attributeQuery(attributes: Record<string, string> | undefined, file: string): string {
  if (!attributes) return '';
  const type = attributes.type;
  const bpf = attributes.bpf;
  if (type !== undefined && type !== 'bytes') {
    throw new ImportError(`${file}: import attribute type: '${type}' is not supported for BPF programs; use with { type: 'bytes' } or with { bpf: 'url' | 'path' | 'manifest' }`, file);
  }
  if (bpf !== undefined && !MODES.includes(bpf as ImportMode)) {
    throw new ImportError(`${file}: import attribute bpf: '${bpf}' is not a mode; use one of ${MODES.map((m) => `'${m}'`).join(', ')}`, file);
  }
  return bpf && bpf !== 'bytes' ? bpf : '';
}

/** `id` with `mode` added to its query (when it has none yet). */
export function withMode(id: string, mode: string): string {
  if (!mode) return id;
  return `${id}${id.includes('?') ? '&' : '?'}${mode}`;
}
