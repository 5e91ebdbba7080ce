/**
 * The command line and environment of `bpf-nx-cache-server`. Tokens come from the environment
 * only (an argument would show in `ps`).
 */
import { parseArgs } from 'node:util';
import type { CacheServerOptions } from './server';

export const USAGE = `usage: bpf-nx-cache-server --storage DIR [--host 127.0.0.1] [--port 3000] [--max-entry-size 1G]
environment: NX_CACHE_SERVER_TOKENS (read-write tokens, comma-separated; required unless read-only ones are given),
             NX_CACHE_SERVER_READ_ONLY_TOKENS (tokens that may only read)`;

export interface CacheServerConfig extends CacheServerOptions {
  host: string;
  port: number;
}

const UNITS: Record<string, number> = { '': 1, K: 1 << 10, M: 1 << 20, G: 1 << 30 };

function tokens(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

/** argv (without node and the script) and env → the server's configuration; throws an Error with the reason. */
export function parseCacheServerArgs(argv: readonly string[], env: NodeJS.ProcessEnv): CacheServerConfig | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      storage: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '3000' },
      'max-entry-size': { type: 'string', default: '1G' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  if (!values.storage) throw new Error('--storage DIR is required: the directory that holds the cache');
  if (!/^\d+$/.test(values.port) || Number(values.port) > 65535) throw new Error(`--port: not a port number: "${values.port}"`);
  const size = /^(\d+)([KMG]?)i?B?$/i.exec(values['max-entry-size']);
  if (!size || Number(size[1]) === 0) throw new Error(`--max-entry-size: expected a size such as 512M or 2G (got "${values['max-entry-size']}")`);
  return {
    storage: values.storage,
    host: values.host,
    port: Number(values.port),
    maxEntryBytes: Number(size[1]) * UNITS[size[2].toUpperCase()],
    readWriteTokens: tokens(env.NX_CACHE_SERVER_TOKENS),
    readOnlyTokens: tokens(env.NX_CACHE_SERVER_READ_ONLY_TOKENS),
  };
}
