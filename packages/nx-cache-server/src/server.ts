/**
 * Nx's self-hosted remote cache contract (Nx ≥ 20.8, `NX_SELF_HOSTED_REMOTE_CACHE_SERVER`), served
 * from a directory:
 *
 *   PUT /v1/cache/{hash}  Authorization: Bearer <token>, Content-Length, body = Nx's tar archive
 *       200 stored · 401 no or unknown token · 403 read-only token · 409 the hash is stored already
 *       (an entry is written once, never replaced) · 411 no Content-Length · 413 over the limit
 *       · 400 a body shorter or longer than its Content-Length, or a hash that is not one
 *   GET /v1/cache/{hash}  Authorization: Bearer <token>
 *       200 the archive (application/octet-stream, Content-Length) · 404 not stored · 401
 *
 * (The spec's current text lists 202 for a stored entry, its first text 200. Nx 22's client takes
 * anything but 200 as a failed upload and sends it again, which then meets a 409: 200 is answered.)
 *
 * A hash is 1–128 letters, digits, `-` or `_` (Nx's are decimal digits): it names a file in
 * `<storage>/entries/` directly and can never reach outside it. An upload streams to a file of its
 * own in `<storage>/tmp/` and becomes visible only complete, with one link(2) that fails when the
 * entry exists, so concurrent uploads of one hash store exactly one of them and a reader never sees
 * half an archive. Tokens are compared in constant time.
 */
import { createReadStream, createWriteStream, existsSync, fstatSync, linkSync, mkdirSync, openSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

export interface CacheServerOptions {
  /** The directory holding `entries/` and `tmp/` (created if missing). */
  storage: string;
  /** Tokens that may read and write. At least one token (of either kind) is required. */
  readWriteTokens: readonly string[];
  /** Tokens that may only read (a PUT with one is 403). */
  readOnlyTokens?: readonly string[];
  /** Largest accepted upload in bytes (default 1 GiB). */
  maxEntryBytes?: number;
  /** One line per request (default: none). */
  log?: (line: string) => void;
}

export const DEFAULT_MAX_ENTRY_BYTES = 1 << 30;
const HASH = /^[A-Za-z0-9_-]{1,128}$/;
const ROUTE = /^\/v1\/cache\/([^/?#]*)(?:\?.*)?$/;

type Access = 'read-write' | 'read-only';

/** Checks the options and prepares the storage directory; throws a plain Error on bad options. */
function prepare(options: CacheServerOptions): { entries: string; tmp: string; maxEntryBytes: number } {
  const tokens = [...options.readWriteTokens, ...(options.readOnlyTokens ?? [])];
  if (tokens.length === 0) throw new Error('no access token: give at least one (a server without one would let anyone write build outputs)');
  if (tokens.some((t) => t.length < 8 || /\s/.test(t))) throw new Error('an access token must be at least 8 characters, without white space');
  const maxEntryBytes = options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES;
  if (!Number.isSafeInteger(maxEntryBytes) || maxEntryBytes < 1) throw new Error(`maxEntryBytes must be a positive integer (got ${maxEntryBytes})`);
  const entries = join(options.storage, 'entries');
  const tmp = join(options.storage, 'tmp');
  mkdirSync(entries, { recursive: true });
  mkdirSync(tmp, { recursive: true });
  // Uploads a previous run left half-written are garbage: no entry refers to them.
  for (const f of readdirSync(tmp)) rmSync(join(tmp, f), { force: true });
  return { entries, tmp, maxEntryBytes };
}

/** Constant-time token lookup: every configured token is compared, as SHA-256 digests of equal length. */
function accessOf(header: string | undefined, options: CacheServerOptions): Access | undefined {
  const m = /^Bearer ([^\s]+)$/i.exec(header ?? '');
  if (!m) return undefined;
  const given = createHash('sha256').update(m[1]).digest();
  let access: Access | undefined;
  for (const t of options.readOnlyTokens ?? []) if (timingSafeEqual(given, createHash('sha256').update(t).digest())) access ??= 'read-only';
  for (const t of options.readWriteTokens) if (timingSafeEqual(given, createHash('sha256').update(t).digest())) access = 'read-write';
  return access;
}

function reply(res: ServerResponse, status: number, message?: string, headers: Record<string, string> = {}): void {
  const body = message === undefined ? '' : `${message}\n`;
  // Exactly text/plain: Nx's client shows the body of a 401/403 only then (with a charset it
  // reports "Misconfigured remote cache endpoint" instead).
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** Creates the server (not listening yet). */
export function createCacheServer(options: CacheServerOptions): Server {
  const { entries, tmp, maxEntryBytes } = prepare(options);
  const log = options.log ?? (() => {});

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<{ hash?: string; bytes?: number }> {
    const route = ROUTE.exec(req.url ?? '');
    if (!route) {
      reply(res, 404, 'not found: the cache is at /v1/cache/{hash}');
      return {};
    }
    const hash = route[1];
    if (!HASH.test(hash)) {
      reply(res, 400, 'invalid hash: 1 to 128 letters, digits, "-" or "_"');
      return {};
    }
    if (req.method !== 'GET' && req.method !== 'PUT') {
      reply(res, 405, `method ${req.method} is not allowed`, { Allow: 'GET, PUT' });
      return { hash };
    }
    const access = accessOf(req.headers.authorization, options);
    if (!access) {
      reply(res, 401, 'missing or invalid access token (Authorization: Bearer <token>, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN)');
      return { hash };
    }
    const entry = join(entries, hash);
    return req.method === 'GET' ? get(res, hash, entry) : put(req, res, hash, entry, access);
  }

  async function get(res: ServerResponse, hash: string, entry: string): Promise<{ hash: string; bytes?: number }> {
    let fd: number;
    try {
      fd = openSync(entry, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      reply(res, 404, 'not found');
      return { hash };
    }
    // Entries are never replaced, so the size read from the open file is the size sent.
    const size = fstatSync(fd).size;
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size });
    await pipeline(createReadStream('', { fd }), res);
    return { hash, bytes: size };
  }

  async function put(req: IncomingMessage, res: ServerResponse, hash: string, entry: string, access: Access): Promise<{ hash: string; bytes?: number }> {
    if (access !== 'read-write') {
      reply(res, 403, 'this token may only read');
      return { hash };
    }
    const length = req.headers['content-length'];
    if (length === undefined || !/^\d+$/.test(length)) {
      reply(res, 411, 'Content-Length is required');
      return { hash };
    }
    const declared = Number(length);
    if (declared > maxEntryBytes) {
      reply(res, 413, `the entry is ${declared} bytes; this server stores at most ${maxEntryBytes}`, { Connection: 'close' });
      return { hash };
    }
    if (existsSync(entry)) {
      // The body is read and dropped first: a client still sending it would see a reset, not the 409.
      req.resume();
      await once(req, 'end');
      reply(res, 409, 'cannot override an existing record');
      return { hash };
    }
    const partial = join(tmp, `${hash}.${randomBytes(8).toString('hex')}`);
    let received = 0;
    try {
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
      });
      await pipeline(req, createWriteStream(partial, { flags: 'wx', flush: true }));
      if (received !== declared) {
        reply(res, 400, `received ${received} bytes, Content-Length said ${declared}`);
        return { hash };
      }
      try {
        linkSync(partial, entry);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        reply(res, 409, 'cannot override an existing record');
        return { hash };
      }
      reply(res, 200);
      return { hash, bytes: received };
    } finally {
      try {
        unlinkSync(partial);
      } catch {
        // never created (the client went away first)
      }
    }
  }

  return createServer((req, res) => {
    const started = Date.now();
    handle(req, res).then(
      (r) => log(`${req.method} ${r.hash ?? req.url} ${res.statusCode}${r.bytes !== undefined ? ` ${r.bytes} B` : ''} ${Date.now() - started} ms`),
      (e: Error) => {
        log(`${req.method} ${req.url} failed: ${e.message}`);
        if (!res.headersSent) reply(res, 500, 'internal error');
        else res.destroy();
      },
    );
  });
}

export interface RunningCacheServer {
  server: Server;
  /** `http://host:port`, with the port the system chose for port 0. */
  url: string;
  close(): Promise<void>;
}

/** Creates the server and listens on host:port (port 0: any free port). */
export function startCacheServer(options: CacheServerOptions & { host?: string; port?: number }): Promise<RunningCacheServer> {
  const host = options.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    const server = createCacheServer(options);
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : options.port;
      resolve({
        server,
        url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
