export { createCacheServer, startCacheServer, DEFAULT_MAX_ENTRY_BYTES, type CacheServerOptions, type RunningCacheServer } from './server';
export { parseCacheServerArgs, type CacheServerConfig } from './config';
