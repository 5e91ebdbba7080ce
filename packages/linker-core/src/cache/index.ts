/** Cache keys for links and a small content-addressed store. */
export { linkCacheKey, keyedLinkOptions, canonicalJson, sha256, type LinkKeyInput, type LlvmKeyIdentity } from './key';
export { openCacheStore, type CacheStore } from './store';
export { LINKER_VERSION } from './version';
