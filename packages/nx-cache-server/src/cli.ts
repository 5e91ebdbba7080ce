/** bpf-nx-cache-server: serves Nx's self-hosted remote cache from a directory until SIGINT/SIGTERM. */
import { USAGE, parseCacheServerArgs } from './config';
import { startCacheServer } from './server';

declare const NX_CACHE_SERVER_VERSION: string;

async function main(): Promise<number> {
  let config;
  try {
    config = parseCacheServerArgs(process.argv.slice(2), process.env);
  } catch (e) {
    process.stderr.write(`bpf-nx-cache-server: ${(e as Error).message}\n${USAGE}\n`);
    return 1;
  }
  if (config === 'help') {
    process.stdout.write(`bpf-nx-cache-server ${NX_CACHE_SERVER_VERSION}: Nx's self-hosted remote cache (GET/PUT /v1/cache/{hash}) on a directory\n${USAGE}\n`);
    return 0;
  }
  let running;
  try {
    running = await startCacheServer({ ...config, log: (line) => process.stdout.write(`${line}\n`) });
  } catch (e) {
    process.stderr.write(`bpf-nx-cache-server: ${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`bpf-nx-cache-server ${NX_CACHE_SERVER_VERSION} listening on ${running.url}, storing in ${config.storage}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await running.close();
  return 0;
}

main().then((code) => process.exit(code));
