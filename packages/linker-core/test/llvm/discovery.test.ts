/**
 * Finding the system's libLLVM without spawning processes: the loader cache is read from
 * /etc/ld.so.cache itself, and Debian's /usr/lib/llvm-NN/lib/libLLVM-NN.so is followed to the
 * versioned library. Compared with what `ldconfig -p` and the directories say.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SUPPORTED_MAJORS, findSystemLibraries, loaderCacheLibraries } from '../../src/llvm/discovery';
import { makeTempDir } from '../support/toolchain';

describe('the loader cache', () => {
  it('lists the same libLLVM.so.N.M paths as ldconfig -p', () => {
    const text = execFileSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' });
    const expected = [...text.matchAll(/=>\s*(\S*\/libLLVM\.so\.\d+\.\d+)\s*$/gm)].map((m) => m[1]);
    expect(expected.length).toBeGreaterThan(0);
    expect(loaderCacheLibraries().sort()).toEqual(expected.sort());
  });

  it('falls back to ldconfig -p when the cache file is not one', () => {
    const fake = join(makeTempDir('bpfl-ldcache-'), 'ld.so.cache');
    writeFileSync(fake, 'not a cache\0/x/libLLVM.so.99.1\0');
    expect(loaderCacheLibraries(fake)).not.toContain('/x/libLLVM.so.99.1');
    expect(loaderCacheLibraries(fake).sort()).toEqual(loaderCacheLibraries().sort());
  });
});

describe('system libraries', () => {
  it('finds each /usr/lib/llvm-NN that has a libLLVM, as its real versioned file', () => {
    const installed = SUPPORTED_MAJORS.filter((m) => existsSync(`/usr/lib/llvm-${m}/lib`) && readdirSync(`/usr/lib/llvm-${m}/lib`).some((f) => /^libLLVM\.so\.\d+\.\d+$/.test(f)));
    expect(installed.length).toBeGreaterThan(0);
    const found = findSystemLibraries();
    for (const major of installed) {
      const versioned = readdirSync(`/usr/lib/llvm-${major}/lib`).find((f) => /^libLLVM\.so\.\d+\.\d+$/.test(f))!;
      expect(found).toContainEqual(expect.objectContaining({ path: realpathSync(`/usr/lib/llvm-${major}/lib/${versioned}`), major, source: 'system' }));
    }
    expect(new Set(found.map((c) => c.path)).size).toBe(found.length);
  });
});
