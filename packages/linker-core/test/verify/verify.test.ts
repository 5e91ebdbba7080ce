/**
 * verifyObject against the running kernel's verifier through Debian's libbpf: the seed example
 * linked by bpf-linker is accepted, a packet overrun is rejected with the verifier's message,
 * every program gets its own verdict, and nothing stays loaded, pinned or open afterwards.
 */
import { existsSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { formatVerifyResult, isLinkError, verifyObject } from '@bpf-linker/core';
import {
  ONE_OF_TWO_C,
  PACKET_OVERRUN_C,
  PINNED_MAP_C,
  compileObject,
  kernelObjects,
  linkC,
  seedObject,
  verifyUnavailable,
} from './fixtures';

const unavailable = verifyUnavailable();
const title = (what: string) => (unavailable ? `${what} (skipped: ${unavailable})` : what);

describe.skipIf(unavailable !== null)(title('verifyObject in the running kernel'), () => {
  it('accepts both programs of the seed example (clang-22 bitcode linked by bpf-linker), in one load', () => {
    const r = verifyObject(seedObject(), { objectName: 'seed' });
    expect(r.programs.map((p) => [p.name, p.section, p.type, p.accepted])).toEqual([
      ['kprobe_prog', 'kprobe/do_nanosleep', 'kprobe', true],
      ['xdp_prog', 'xdp', 'xdp', true],
    ]);
    expect(r.accepted).toBe(true);
    expect(r.loads).toBe(1);
    for (const p of r.programs) {
      // Each program carries lib_count (13 slots) after its own 4.
      expect(p.insnCount).toBe(17);
      expect(p.stats?.processedInsns).toBeGreaterThan(0);
      expect(p.stats?.insnLimit).toBe(1_000_000);
      expect(p.errno).toBeUndefined();
      expect(p.log).toMatch(/^processed \d+ insns/m);
    }
    expect(r.libbpf.version).toMatch(/^\d+\.\d+$/);
  });

  it('rejects a read past the checked packet bound with the verifier\'s message and its trace', () => {
    const r = verifyObject(linkC('overrun', PACKET_OVERRUN_C));
    expect(r.accepted).toBe(false);
    const [p] = r.programs;
    expect(p).toMatchObject({ name: 'overrun', accepted: false, errno: 13, code: 'EACCES' });
    expect(p.reason).toMatch(/^invalid access to packet/);
    // The level-1 log: instructions with the source lines BTF carries, then the message.
    expect(p.log).toMatch(/invalid access to packet, off=8 size=1/);
    expect(p.log).toMatch(/; return \(\(volatile __u8 \*\)data\)\[8\]; @ overrun\.c:\d+/);
    expect(p.log).toMatch(/^\d+: \(71\) r\d = \*\(u8 \*\)\(r\d \+8\)$/m);
    expect(p.logTruncated).toBeUndefined();
    const text = formatVerifyResult(r, { label: 'overrun.o' });
    expect(text).toContain('overrun.o: 1 of 1 program rejected');
    expect(text).toMatch(/REJECTED {2}overrun {2}xdp {2}xdp, \d+ insns, \d+ processed, \d+ µs, rejected by the verifier \(EACCES\)/);
  });

  it('gives each program its own verdict when one of them is rejected', () => {
    const r = verifyObject(compileObject('one-of-two', ONE_OF_TWO_C));
    const verdicts = Object.fromEntries(r.programs.map((p) => [p.name, p.accepted]));
    expect(verdicts).toEqual({ vfy_bad: false, vfy_good: true, vfy_also_good: true });
    expect(r.accepted).toBe(false);
    const bad = r.programs.find((p) => p.name === 'vfy_bad')!;
    expect(bad.reason).toMatch(/invalid access to packet/);
    for (const good of r.programs.filter((p) => p.accepted)) {
      expect(good.stats?.processedInsns).toBeGreaterThan(0);
      expect(good.reason).toBeUndefined();
    }
    // One load of everything, then each program that did not load alone, then the trace of the rejected one.
    expect(r.loads).toBeGreaterThanOrEqual(3);
  });

  it('asks for the full log of accepted programs with logLevel 2, growing the buffer until it fits', () => {
    const r = verifyObject(seedObject(), { logLevel: 2, logSize: 256 });
    expect(r.accepted).toBe(true);
    for (const p of r.programs) {
      // Every instruction with its register state; 256 bytes cannot hold it, so the kernel
      // answered ENOSPC until the buffer was large enough.
      expect(p.log).toMatch(/^\d+: \(85\) call pc\+\d+ *$/m);
      expect(p.log).toMatch(/^\d+: \(85\) call bpf_map_lookup_elem#1 +; R0=map_value_or_null/m);
      expect(p.log.length).toBeGreaterThan(256);
      expect(p.log).toMatch(/processed \d+ insns/);
      expect(p.logTruncated).toBeUndefined();
    }
  });

  it('keeps the tail of a log that does not fit in maxLogSize, and still gives the verdict', () => {
    const r = verifyObject(seedObject(), { logLevel: 2, logSize: 512, maxLogSize: 1024 });
    for (const p of r.programs) {
      expect(p.accepted).toBe(true);
      expect(p.logTruncated).toBe(true);
      expect(p.log.length).toBeLessThan(1024);
    }
  });

  it('leaves nothing loaded, pinned or open: programs, maps, pins and file descriptors', async () => {
    const mapName = `vfy_pin_${process.pid}`.slice(0, 15);
    const pinnedObject = linkC('pinned', PINNED_MAP_C(mapName));
    const before = kernelObjects();
    const fdsBefore = readdirSync('/proc/self/fd').length;

    const rejected = verifyObject(compileObject('one-of-two-again', ONE_OF_TWO_C));
    const pinned = verifyObject(pinnedObject);
    expect(rejected.accepted).toBe(false);
    expect(pinned.accepted).toBe(true);

    expect(readdirSync('/proc/self/fd').length).toBe(fdsBefore);
    expect(existsSync(`/sys/fs/bpf/${mapName}`)).toBe(false);
    // The kernel frees programs and maps shortly after their last descriptor closes.
    const ours = /^\d+:(vfy_|overrun)/;
    let left: string[] = [];
    for (let attempt = 0; attempt < 50; attempt++) {
      const now = kernelObjects();
      left = [
        ...now.programs.filter((p) => !before.programs.includes(p) && ours.test(p)),
        ...now.maps.filter((m) => !before.maps.includes(m) && ours.test(m)),
      ];
      if (left.length === 0) break;
      await sleep(100);
    }
    expect(left).toEqual([]);
  });

  it('reports an object libbpf cannot open as INVALID_INPUT', () => {
    const notBpf = new Uint8Array(64);
    let error: unknown;
    try {
      verifyObject(notBpf);
    } catch (e) {
      error = e;
    }
    expect(isLinkError(error) && error.code).toBe('INVALID_INPUT');
  });
});

describe('verifyObject without libbpf', () => {
  it('says which library it could not load and how to install one', () => {
    let error: unknown;
    try {
      verifyObject(new Uint8Array(0), { libbpfPath: '/nonexistent/libbpf.so.1' });
    } catch (e) {
      error = e;
    }
    expect(isLinkError(error) && error.code).toBe('LIBBPF_NOT_FOUND');
    expect((error as Error).message).toContain('/nonexistent/libbpf.so.1');
  });
});
