/**
 * Archive member selection (pipeline/select-members.ts), on real clang bitcode in real llvm-ar
 * archives, linked in process: a member is linked only when it defines a symbol still undefined,
 * an exported name, a memory builtin, or (default and --internalize modes) a libbpf-visible
 * definition; archives may depend on each other in either order; --whole-archive links all.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultLinkOptions, linkSync, readBpfObject, type LinkOptions, type LinkResult } from '../../src';
import { UNUSED_MEMBER_REASON } from '../../src/pipeline/select-members';
import { LLVM_MAJORS, compileC, makeArchive, makeTempDir, writeSource } from '../support/toolchain';

const HEADERS = '#include <linux/types.h>\n#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n';

/** Member sources, by file name; each is compiled to `<name>.o` (bitcode). */
const SOURCES: Record<string, string> = {
  'main.c': `${HEADERS}
extern int lib_a(int x);
extern int maybe_hook(int x) __attribute__((weak));
SEC("xdp") int on_packet(struct xdp_md *ctx) { return lib_a(ctx->ingress_ifindex) + (maybe_hook ? maybe_hook(1) : 0); }
char LICENSE[] SEC("license") = "GPL";
`,
  // libA.a
  'a.c': `extern int lib_b(int x);\nint lib_a(int x) { return lib_b(x) + 1; }\n`,
  'unused.c': `int never_called(int x) { return x * 7; }\n`,
  'hook.c': `int maybe_hook(int x) { return x + 3; }\n`,
  // libB.a
  'b.c': `int lib_b(int x) { return x * 2; }\n`,
  'prog.c': `${HEADERS}SEC("socket") int extra_prog(struct __sk_buff *skb) { return 0; }\n`,
  'map.c': `${HEADERS}struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } extra_map SEC(".maps");\n`,
  'exported.c': `int exported_fn(int x) { return x + 5; }\n`,
  'memcpy.c': `void *memcpy(void *d, const void *s, unsigned long n) { unsigned char *o = d; const unsigned char *i = s; while (n--) *o++ = *i++; return d; }\n`,
};
const LIB_A = ['a', 'unused', 'hook'];
const LIB_B = ['b', 'prog', 'map', 'exported', 'memcpy'];

describe.each(LLVM_MAJORS)('archive member selection (clang-%i bitcode)', (major) => {
  let dir: string;
  let main: string;
  let libA: string;
  let libB: string;
  beforeAll(() => {
    dir = makeTempDir('bpfl-select-');
    for (const [file, text] of Object.entries(SOURCES)) {
      compileC({ major, source: writeSource(dir, file, text), out: join(dir, file.replace(/\.c$/, '.o')), mode: 'bc', flags: ['-g', '-O2', '-fno-builtin'] });
    }
    main = join(dir, 'main.o');
    libA = makeArchive(major, join(dir, 'libA.a'), LIB_A.map((m) => join(dir, `${m}.o`)));
    libB = makeArchive(major, join(dir, 'libB.a'), LIB_B.map((m) => join(dir, `${m}.o`)));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const link = (inputs: string[], options: Partial<LinkOptions> = {}): LinkResult => linkSync(defaultLinkOptions({ inputs, btf: true, ...options }), { report: true });
  const unusedMembers = (r: LinkResult) =>
    r.skipped.filter((s) => s.reason === UNUSED_MEMBER_REASON).map((s) => `${s.origin.file === libA ? 'libA' : 'libB'}(${s.origin.member})`).sort();
  const symbols = (r: LinkResult) => {
    const o = readBpfObject(r.bytes);
    return new Set([...o.programs, ...o.maps, ...o.globals].map((s) => s.name));
  };

  it('default mode: links what is referenced and the libbpf-visible members, skips the rest', () => {
    const r = link([main, libA, libB]);
    // unused.o defines only an unused function; hook.o only a weakly referenced one; exported.o a plain function.
    expect(unusedMembers(r)).toEqual(['libA(hook.o)', 'libA(unused.o)', 'libB(exported.o)']);
    const names = symbols(r);
    for (const kept of ['on_packet', 'lib_a', 'lib_b', 'extra_prog', 'extra_map', 'memcpy']) expect(names.has(kept), kept).toBe(true);
    for (const gone of ['never_called', 'maybe_hook', 'exported_fn']) expect(names.has(gone), gone).toBe(false);
    // --report lists them with the reason.
    expect(r.report!.skipped).toContainEqual({ input: `${libA}(unused.o)`, reason: UNUSED_MEMBER_REASON });
  });

  it('archives that depend on each other, in either order: libA needs libB and libB comes first', () => {
    const r = link([main, libB, libA]);
    expect(unusedMembers(r)).toEqual(['libA(hook.o)', 'libA(unused.o)', 'libB(exported.o)']);
    expect(symbols(r).has('lib_b')).toBe(true);
  });

  it('an exported name pulls its member; in explicit mode programs and maps of unneeded members stay out', () => {
    const r = link([main, libA, libB], { exports: ['on_packet', 'LICENSE', 'exported_fn'] });
    expect(unusedMembers(r)).toEqual(['libA(hook.o)', 'libA(unused.o)', 'libB(map.o)', 'libB(prog.o)']);
    const names = symbols(r);
    expect(names.has('exported_fn')).toBe(true);
    // The memory builtin's member is kept: LLVM's code generator may call it.
    expect(names.has('memcpy')).toBe(true);
  });

  it('--disable-memory-builtins: a member defining only memcpy is no longer needed', () => {
    const r = link([main, libA, libB], { exports: ['on_packet', 'LICENSE'], disableMemoryBuiltins: true });
    expect(unusedMembers(r)).toContain('libB(memcpy.o)');
  });

  it('--internalize keeps the libbpf-visible members, like the default mode', () => {
    const r = link([main, libA, libB], { internalize: true });
    expect(unusedMembers(r)).toEqual(['libA(hook.o)', 'libA(unused.o)', 'libB(exported.o)']);
    expect(symbols(r).has('extra_prog')).toBe(true);
  });

  it('--whole-archive links every member', () => {
    const r = link([main, libA, libB], { wholeArchive: true });
    expect(unusedMembers(r)).toEqual([]);
    const names = symbols(r);
    for (const name of ['never_called', 'maybe_hook', 'exported_fn']) expect(names.has(name), name).toBe(true);
  });

  it('a link of archives only links all their members (nothing else says what is needed)', () => {
    const r = link([libA, libB]);
    expect(unusedMembers(r)).toEqual([]);
    expect(symbols(r).has('never_called')).toBe(true);
  });
});
