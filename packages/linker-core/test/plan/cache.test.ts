/** linkCacheKey: what changes the output changes the key; paths and order of exports do not. */
import { describe, expect, it } from 'vitest';
import { canonicalJson, linkCacheKey, openCacheStore } from '../../src/cache';
import { defaultLinkOptions } from '../../src/options';
import { makeTempDir } from '../support/toolchain';

const bc = (s: string) => new Uint8Array(Buffer.from(s));

describe('linkCacheKey', () => {
  const base = {
    linkerVersion: '0.1.0',
    llvm: { version: '22.1.8' },
    options: defaultLinkOptions({ inputs: ['/a/x.bc', '/a/lib.a'], output: '/a/out.o', btf: true, exports: ['b', 'a'] }),
    inputs: [bc('x'), bc('lib')],
  };
  const key = linkCacheKey(base);

  it('is a SHA-256 that ignores paths, --dump-module, the input size cap and export order', () => {
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    const moved = { ...base, options: { ...base.options, inputs: ['/elsewhere/x.bc', 'lib.a'], output: 'o.o', dumpModule: '/tmp/d', exports: ['a', 'b', 'a'], maxInputSize: 1 << 30 } };
    expect(linkCacheKey(moved)).toBe(key);
  });

  it('changes with the linker, the LLVM, each flag, the input bytes and their order', () => {
    const variants = [
      { ...base, linkerVersion: '0.1.1' },
      { ...base, llvm: { version: '22.1.7' } },
      { ...base, llvm: { version: '22.1.8', rustc: '1.96.0' } },
      { ...base, options: { ...base.options, cpu: 'v3' as const } },
      { ...base, options: { ...base.options, btf: false } },
      { ...base, options: { ...base.options, llvmArgs: ['-bpf-stack-size=1024'] } },
      { ...base, inputs: [bc('x'), bc('lib2')] },
      { ...base, inputs: [bc('lib'), bc('x')] },
      { ...base, inputs: [bc('xl'), bc('ib')] },
    ];
    const keys = variants.map(linkCacheKey);
    expect(new Set([key, ...keys]).size).toBe(variants.length + 1);
  });

  it('canonicalJson sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: undefined }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"f":1}]},"b":1}');
  });
});

describe('openCacheStore', () => {
  it('stores by key, misses on unknown keys, rejects non-hex keys and prunes the oldest', async () => {
    const store = openCacheStore(makeTempDir('bpfl-store-'));
    const k1 = 'a'.repeat(64);
    const k2 = 'b'.repeat(64);
    expect(store.get(k1)).toBeUndefined();
    store.put(k1, bc('one'));
    await new Promise((r) => setTimeout(r, 20));
    store.put(k2, bc('two'));
    expect(Buffer.from(store.get(k1)!).toString()).toBe('one');
    expect(() => store.put('../../etc/passwd', bc(''))).toThrow(/invalid cache key/);
    expect(store.prune(1)).toBe(1);
    expect(store.get(k1)).toBeUndefined();
    expect(Buffer.from(store.get(k2)!).toString()).toBe('two');
  });
});
