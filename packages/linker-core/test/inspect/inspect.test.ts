/**
 * inspectObject and formatInspection on objects compiled by clang-22 and linked by bpf-linker,
 * checked against llvm-objdump (instructions) and llvm-readelf (sections).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultLinkOptions, formatInspection, inspectObject, linkSync, writeFileAtomically, type ObjectInspection } from '@bpf-linker/core';
import { compileC, llvmTool, makeTempDir, writeSource } from '../support/toolchain';

const SEED_DIR = join(__dirname, '../../../../examples/seed');

/** Two programs, a looping subprogram, a hash map with a struct key, a ring buffer, and globals in each data section. */
const INSPECT_C = `
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct flow_key { __u32 addr; __u16 port; };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128);
	__type(key, struct flow_key);
	__type(value, __u64);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

int counter = 1;
const volatile int limit = 8;
__u64 total;
volatile int sink;

static __noinline int sum_to(int n)
{
	int s = 0;
#pragma clang loop unroll(disable)
	for (int i = 0; i < n && i < 64; i++) {
		s += i * n;
		sink = s; /* keeps the loop a loop */
	}
	return s;
}

SEC("xdp")
int loop_prog(struct xdp_md *ctx)
{
	total += sum_to(limit);
	return XDP_PASS;
}

SEC("tc")
int map_prog(struct __sk_buff *skb)
{
	struct flow_key k = { .addr = skb->mark, .port = (__u16)skb->len };
	__u64 *v = bpf_map_lookup_elem(&flows, &k);
	if (v)
		*v += counter;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
`;

/** Instructions per function as llvm-objdump lists them (a 16-byte lddw is one line). */
function objdumpCounts(path: string): Record<string, number> {
  const text = execFileSync(llvmTool(22, 'llvm-objdump'), ['-d', path], { encoding: 'utf8' });
  const counts: Record<string, number> = {};
  let current: string | undefined;
  for (const line of text.split('\n')) {
    const label = /^[0-9a-f]+ <(.+)>:$/.exec(line);
    if (label) counts[(current = label[1])] = 0;
    else if (current && /^\s*\d+:\t/.test(line)) counts[current]++;
    else if (line.trim() === '') current = undefined;
  }
  return counts;
}

/** name → [type, size] from llvm-readelf -S. */
function readelfSections(path: string): Record<string, [string, number]> {
  const text = execFileSync(llvmTool(22, 'llvm-readelf'), ['-S', '--wide', path], { encoding: 'utf8' });
  const out: Record<string, [string, number]> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*\[\s*(\d+)\]\s+(\S+)\s+([A-Z_]+)\s+[0-9a-f]{16}\s+[0-9a-f]+\s+([0-9a-f]+)\s/.exec(line);
    if (m && m[1] !== '0') out[m[2]] = [m[3], parseInt(m[4], 16)];
  }
  return out;
}

describe('inspectObject', () => {
  let dir: string;
  let linkedPath: string;
  let linked: ObjectInspection;
  let clangPath: string;
  let clang: ObjectInspection;

  beforeAll(() => {
    dir = makeTempDir('bpfl-inspect-');
    const source = writeSource(dir, 'inspect.c', INSPECT_C);
    const bc = compileC({ major: 22, source, out: join(dir, 'inspect.bc'), mode: 'bc' });
    linkedPath = join(dir, 'linked.o');
    writeFileAtomically(linkedPath, linkSync(defaultLinkOptions({ inputs: [bc], btf: true })).bytes);
    linked = inspectObject(readFileSync(linkedPath));
    clangPath = compileC({ major: 22, source, out: join(dir, 'clang.o'), mode: 'obj' });
    clang = inspectObject(readFileSync(clangPath));
  });

  it('lists the programs and the subprogram with sections, calls, helper calls and back-edges', () => {
    for (const o of [linked, clang]) {
      expect(o.programs.map((p) => [p.name, p.section, p.calls, p.helperCalls])).toEqual([
        ['loop_prog', 'xdp', ['sum_to'], []],
        ['map_prog', 'tc', [], [1]],
      ]);
      expect(o.subprograms.map((p) => [p.name, p.section, p.binding, p.btfLinkage])).toEqual([['sum_to', '.text', 'local', 'static']]);
      const [sumTo] = o.subprograms;
      expect(sumTo.backEdges.length).toBeGreaterThanOrEqual(1);
      for (const edge of sumTo.backEdges) expect(edge.target).toBeLessThanOrEqual(edge.index);
      expect(o.programs.every((p) => p.backEdges.length === 0)).toBe(true);
    }
  });

  it('counts instructions per function as llvm-objdump does', () => {
    for (const [o, path] of [[linked, linkedPath], [clang, clangPath]] as const) {
      const counts = objdumpCounts(path);
      const ours = Object.fromEntries([...o.programs, ...o.subprograms].map((f) => [f.name, f.instructionCount]));
      expect(ours).toEqual(counts);
    }
  });

  it('reads map types and key/value sizes from BTF', () => {
    expect(linked.maps.map((m) => [m.name, m.typeName, m.keySize, m.valueSize, m.keyType, m.valueType, m.maxEntries])).toEqual([
      ['flows', 'hash', 8, 8, 'struct flow_key', '__u64', 128],
      ['events', 'ringbuf', undefined, undefined, undefined, undefined, 4096],
    ]);
    expect(clang.maps).toEqual(linked.maps);
  });

  it('lists the globals, the BTF data sections and the license', () => {
    expect(linked.license).toBe('Dual BSD/GPL');
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    expect([...linked.globals].sort(byName).map((g) => [g.name, g.section, g.size, g.type])).toEqual([
      ['counter', '.data', 4, 'int'],
      ['limit', '.rodata', 4, 'const volatile int'],
      ['sink', '.bss', 4, 'volatile int'],
      ['total', '.bss', 8, '__u64'],
    ]);
    const datasecs = Object.fromEntries(
      linked.datasecs.map((d) => [d.name, [...d.entries].sort(byName).map((e) => [e.name, e.kind, e.linkage, e.size, e.type])]),
    );
    expect(datasecs).toEqual({
      '.bss': [
        ['sink', 'VAR', 'global', 4, 'volatile int'],
        ['total', 'VAR', 'global', 8, '__u64'],
      ],
      '.data': [['counter', 'VAR', 'global', 4, 'int']],
      '.rodata': [['limit', 'VAR', 'global', 4, 'const volatile int']],
      '.maps': [
        ['events', 'VAR', 'global', 16, 'struct <anon>'],
        ['flows', 'VAR', 'global', 32, 'struct <anon>'],
      ],
      license: [['LICENSE', 'VAR', 'global', 13, 'char[13]']],
    });
    for (const d of linked.datasecs) expect(d.size).toBe(linked.sections.find((s) => s.name === d.name)!.size);
  });

  it('summarizes BTF and lists every section with the type and size llvm-readelf reports', () => {
    expect(linked.btf?.funcs).toEqual(
      expect.arrayContaining([
        { name: 'loop_prog', linkage: 'global' },
        { name: 'map_prog', linkage: 'global' },
        { name: 'sum_to', linkage: 'static' },
      ]),
    );
    expect(linked.btf?.funcInfoCount).toBe(3);
    expect(linked.btf?.lineInfoCount).toBeGreaterThan(0);
    const readelf = readelfSections(linkedPath);
    expect(Object.fromEntries(linked.sections.map((s) => [s.name, [s.type, s.size]]))).toEqual(readelf);
    expect(linked.sections.find((s) => s.name === 'xdp')?.flags).toBe('AX');
    expect(linked.sections.find((s) => s.name === '.bss')).toMatchObject({ type: 'NOBITS', flags: 'WA' });
  });

  it('is plain JSON data', () => {
    const json = JSON.parse(JSON.stringify(linked));
    expect(json).toEqual(linked);
    expect(Object.keys(json)).toEqual(['endianness', 'programs', 'subprograms', 'maps', 'globals', 'datasecs', 'sections', 'license', 'btf']);
  });

  it('formats a readable summary', () => {
    const text = formatInspection(linked, { label: 'linked.o' });
    expect(text).toMatch(/^linked\.o: BPF object, little-endian, license "Dual BSD\/GPL"$/m);
    expect(text).toMatch(/^Programs \(2\):\n {2}loop_prog +xdp +\d+ insns +(\d+ slots +)?calls sum_to/m);
    expect(text).toMatch(/^ {2}sum_to +\.text +\d+ insns .*back-edges \d+->\d+/m);
    expect(text).toMatch(/^ {2}flows +hash +key 8 B \(struct flow_key\) +value 8 B \(__u64\) +max_entries 128/m);
    expect(text).toMatch(/^ {2}events +ringbuf +key \? +value \? +max_entries 4096/m);
    expect(text).toMatch(/^ {2}limit +\.rodata +offset 0 +4 B +const volatile int/m);
    expect(text).toMatch(/^BTF: \d+ types \(/m);
    expect(text).toMatch(/^ {2}\[ ?\d+\] +\.BTF +PROGBITS +\d+ B$/m);
  });

  it('reads the seed example linked from an archive: the subprogram from the library, no back-edges', () => {
    const bcs = ['program', 'lib'].map((n) => compileC({ major: 22, source: join(SEED_DIR, `${n}.c`), out: join(dir, `${n}.bc`), mode: 'bc' }));
    const seed = inspectObject(linkSync(defaultLinkOptions({ inputs: bcs, btf: true, internalize: true })).bytes);
    expect(seed.programs.map((p) => [p.name, p.instructionCount, p.calls])).toEqual([
      ['kprobe_prog', 4, ['lib_count']],
      ['xdp_prog', 4, ['lib_count']],
    ]);
    expect(seed.subprograms.map((p) => [p.name, p.binding, p.btfLinkage, p.helperCalls])).toEqual([['lib_count', 'local', 'static', [1]]]);
    expect(seed.maps.map((m) => [m.name, m.keySize, m.valueSize, m.maxEntries])).toEqual([['counters', 4, 8, 16]]);
    expect(seed.license).toBe('GPL');
  });
});
