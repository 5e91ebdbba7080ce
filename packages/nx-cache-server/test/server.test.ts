/**
 * The cache server over real HTTP on 127.0.0.1, request by request as Nx's client sends them:
 * the contract's status codes, tokens, write-once entries, sizes, hashes that try to leave the
 * storage directory, concurrent uploads of one hash, and the command line.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCacheServerArgs } from '../src/config';
import { startCacheServer, type RunningCacheServer } from '../src/server';

const RW = 'rw-token-0123';
const RO = 'ro-token-4567';

interface Reply {
  status: number;
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

/** One raw request (node:http, so headers such as Content-Length are exactly what is given). */
function send(url: string, method: string, path: string, o: { token?: string; body?: Buffer; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(o.token ? { Authorization: `Bearer ${o.token}` } : {}), ...o.headers };
    if (o.body && !('Content-Length' in headers) && !('Transfer-Encoding' in headers)) headers['Content-Length'] = String(o.body.length);
    // The path as given, not normalized by URL parsing (`%2e%2e`, `..` reach the server unchanged).
    const { hostname, port } = new URL(url);
    const req = request({ host: hostname, port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

describe('the Nx cache contract', () => {
  let tmp: string;
  let storage: string;
  let server: RunningCacheServer;
  const log: string[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'nx-cache-server-'));
    storage = join(tmp, 'store');
    // A half-written upload of a previous run: swept at start.
    mkdirSync(join(storage, 'tmp'), { recursive: true });
    writeFileSync(join(storage, 'tmp', '123.deadbeef'), 'partial');
    server = await startCacheServer({ storage, readWriteTokens: [RW], readOnlyTokens: [RO], maxEntryBytes: 1024, port: 0, log: (l) => log.push(l) });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('sweeps uploads a previous run left in tmp/', () => {
    expect(readdirSync(join(storage, 'tmp'))).toEqual([]);
  });

  it('GET of an unknown hash is 404; PUT stores it (200); GET returns the same bytes with their length', async () => {
    const body = Buffer.from(Array.from({ length: 700 }, (_, i) => i % 251));
    expect((await send(server.url, 'GET', '/v1/cache/1111', { token: RW })).status).toBe(404);
    const put = await send(server.url, 'PUT', '/v1/cache/1111', { token: RW, body });
    expect(put.status).toBe(200);
    const got = await send(server.url, 'GET', '/v1/cache/1111', { token: RO });
    expect(got.status).toBe(200);
    expect(got.headers['content-type']).toBe('application/octet-stream');
    expect(got.headers['content-length']).toBe('700');
    expect(got.body.equals(body)).toBe(true);
    expect(readFileSync(join(storage, 'entries', '1111')).equals(body)).toBe(true);
    expect(log.filter((l) => /^PUT 1111 200 700 B \d+ ms$/.test(l))).toHaveLength(1);
  });

  it('an entry is written once: a second PUT is 409 and the first bytes stay', async () => {
    await send(server.url, 'PUT', '/v1/cache/2222', { token: RW, body: Buffer.from('first') });
    const again = await send(server.url, 'PUT', '/v1/cache/2222', { token: RW, body: Buffer.from('second') });
    expect(again.status).toBe(409);
    expect((await send(server.url, 'GET', '/v1/cache/2222', { token: RW })).body.toString()).toBe('first');
  });

  it('concurrent uploads of one hash store exactly one of them, whole', async () => {
    const bodies = Array.from({ length: 8 }, (_, i) => Buffer.alloc(900, 65 + i));
    const replies = await Promise.all(bodies.map((body) => send(server.url, 'PUT', '/v1/cache/3333', { token: RW, body })));
    expect(replies.map((r) => r.status).sort()).toEqual([200, 409, 409, 409, 409, 409, 409, 409]);
    const stored = readFileSync(join(storage, 'entries', '3333'));
    expect(bodies.some((b) => b.equals(stored))).toBe(true);
    expect(readdirSync(join(storage, 'tmp'))).toEqual([]);
  });

  it('401 without a token, with an unknown one or another scheme; 403 when a read-only token writes', async () => {
    const missing = await send(server.url, 'GET', '/v1/cache/1111');
    expect(missing.status).toBe(401);
    // Nx prints the body of a 401 only for exactly text/plain ("Misconfigured remote cache endpoint" otherwise).
    expect(missing.headers['content-type']).toBe('text/plain');
    expect(missing.body.toString()).toContain('NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN');
    expect((await send(server.url, 'GET', '/v1/cache/1111', { token: 'rw-token-0124' })).status).toBe(401);
    expect((await send(server.url, 'GET', '/v1/cache/1111', { headers: { Authorization: `Basic ${RW}` } })).status).toBe(401);
    const denied = await send(server.url, 'PUT', '/v1/cache/4444', { token: RO, body: Buffer.from('x') });
    expect(denied.status).toBe(403);
    expect(denied.body.toString()).toContain('may only read');
    expect(existsSync(join(storage, 'entries', '4444'))).toBe(false);
  });

  it('411 without Content-Length (chunked), 413 over the limit; nothing is stored', async () => {
    const chunked = await send(server.url, 'PUT', '/v1/cache/5555', { token: RW, body: Buffer.from('abc'), headers: { 'Transfer-Encoding': 'chunked' } });
    expect(chunked.status).toBe(411);
    const big = await send(server.url, 'PUT', '/v1/cache/6666', { token: RW, body: Buffer.alloc(1025) });
    expect(big.status).toBe(413);
    expect(big.body.toString()).toContain('at most 1024');
    expect(existsSync(join(storage, 'entries', '5555')) || existsSync(join(storage, 'entries', '6666'))).toBe(false);
  });

  it('a hash that is not one is 400, and no request reaches outside entries/', async () => {
    writeFileSync(join(tmp, 'secret'), 'outside');
    for (const path of ['/v1/cache/..%2F..%2Fsecret', '/v1/cache/a.b', '/v1/cache/%2e%2e', `/v1/cache/${'9'.repeat(129)}`]) {
      expect((await send(server.url, 'GET', path, { token: RW })).status, path).toBe(400);
    }
    // Path segments that leave the route are not the route: 404, never the file.
    for (const path of ['/v1/cache/../../secret', '/v1/cache/', '/v1/cache', '/v1/other/1111']) {
      const r = await send(server.url, 'GET', path, { token: RW });
      expect([400, 404], path).toContain(r.status);
      expect(r.body.toString()).not.toContain('outside');
    }
  });

  it('other methods are 405 with Allow', async () => {
    const r = await send(server.url, 'DELETE', '/v1/cache/1111', { token: RW });
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET, PUT');
    expect(existsSync(join(storage, 'entries', '1111'))).toBe(true);
  });
});

describe('options', () => {
  it('a server needs a token, of 8 characters at least', async () => {
    const storage = mkdtempSync(join(tmpdir(), 'nx-cache-server-'));
    await expect(startCacheServer({ storage, readWriteTokens: [] })).rejects.toThrow(/no access token/);
    await expect(startCacheServer({ storage, readWriteTokens: ['short'] })).rejects.toThrow(/at least 8 characters/);
  });

  it('reads the command line, and the tokens from the environment only', () => {
    const c = parseCacheServerArgs(['--storage', '/srv/nx', '--port', '8090', '--max-entry-size', '512M'], { NX_CACHE_SERVER_TOKENS: 'a-token-1, b-token-2', NX_CACHE_SERVER_READ_ONLY_TOKENS: 'c-token-3' });
    expect(c).toEqual({ storage: '/srv/nx', host: '127.0.0.1', port: 8090, maxEntryBytes: 512 << 20, readWriteTokens: ['a-token-1', 'b-token-2'], readOnlyTokens: ['c-token-3'] });
    expect(() => parseCacheServerArgs([], {})).toThrow('--storage DIR is required');
    expect(() => parseCacheServerArgs(['--storage', 'x', '--port', 'http'], {})).toThrow('--port: not a port number: "http"');
    expect(() => parseCacheServerArgs(['--storage', 'x', '--max-entry-size', 'lots'], {})).toThrow('--max-entry-size');
    expect(() => parseCacheServerArgs(['--storage', 'x', '--token', 'y'], {})).toThrow(/--token/);
  });

  it('the executable serves until SIGTERM and says where', async () => {
    const cli = fileURLToPath(new URL('../dist/bpf-nx-cache-server.cjs', import.meta.url));
    if (!existsSync(cli)) throw new Error(`${cli} is missing: build the package (node build.mjs)`);
    const storage = mkdtempSync(join(tmpdir(), 'nx-cache-server-'));
    const child = spawn(process.execPath, [cli, '--storage', storage, '--port', '0'], { env: { ...process.env, NX_CACHE_SERVER_TOKENS: RW }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /listening on (http:\/\/\S+),/.exec(out);
        if (m) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    expect((await send(url, 'PUT', '/v1/cache/7777', { token: RW, body: Buffer.from('x') })).status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toMatch(/PUT 7777 200 1 B/);
  });

  it('the executable refuses to start without a token (exit 1, the reason)', async () => {
    const cli = fileURLToPath(new URL('../dist/bpf-nx-cache-server.cjs', import.meta.url));
    const storage = mkdtempSync(join(tmpdir(), 'nx-cache-server-'));
    const env = { ...process.env };
    delete env.NX_CACHE_SERVER_TOKENS;
    delete env.NX_CACHE_SERVER_READ_ONLY_TOKENS;
    const child = spawn(process.execPath, [cli, '--storage', storage, '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(1);
    expect(err).toContain('no access token');
  });
});
