/**
 * Partitioned code generation (--partitions, --jobs) with the real CLI, real clang/libLLVM 19 and
 * 22, libbpf's linker and the running kernel's verifier. A small program set built to exercise
 * the partitioning rule: a map, license, a .data and a .rodata global (all in the data partition),
 * a helper that --internalize makes static and that two partitions copy, a static variable whose
 * users must stay together, and a CO-RE access.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findTypes, readBpfObject, type BpfObject } from '@bpf-linker/core';
import { LLVM_MAJORS, compileC, makeTempDir, writeSource, type LlvmMajor } from '../../linker-core/test/support/toolchain';
import { kernelLoadUnavailable } from '../../linker-core/test/support/kernel';
import { runCli } from './support/cli';
import { codeDifferences } from '../../linker-core/test/support/function-code';

const noKernel = kernelLoadUnavailable();

const HEADER = '#include <linux/types.h>\n#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n';
const SOURCES: Record<string, string> = {
  'data.c': `${HEADER}
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 8); __type(key, __u32); __type(value, __u64); } counts SEC(".maps");
int threshold = 5;
volatile const int limit = 7;
char LICENSE[] SEC("license") = "GPL";
`,
  'lib.c': `${HEADER}
__attribute__((noinline)) int lib_add(int a, int b) { return a * 3 + b; }
`,
  'progs.c': `${HEADER}
extern struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 8); __type(key, __u32); __type(value, __u64); } counts SEC(".maps");
extern int threshold;
extern volatile const int limit;
int lib_add(int a, int b);
struct task_struct { int pid; } __attribute__((preserve_access_index));
static int hits;
static __attribute__((noinline)) int bump(int x) { hits += x; return hits; }

SEC("xdp") int xdp_count(struct xdp_md *ctx) {
  __u32 key = 1;
  __u64 *v = bpf_map_lookup_elem(&counts, &key);
  if (v) *v += lib_add(ctx->ingress_ifindex, 1);
  return XDP_PASS;
}
SEC("xdp") int xdp_hits(struct xdp_md *ctx) { return bump(ctx->rx_queue_index) > 100 ? XDP_DROP : XDP_PASS; }
SEC("socket") int sock_hits(struct __sk_buff *skb) { return bump(skb->len); }
SEC("socket") int sock_threshold(struct __sk_buff *skb) { return skb->len > threshold + limit ? lib_add(skb->len, 2) : 0; }
SEC("kprobe/do_nanosleep") int kprobe_pid(void *ctx) {
  struct task_struct *t = (void *)bpf_get_current_task();
  int pid = 0;
  bpf_probe_read_kernel(&pid, sizeof(pid), &t->pid);
  return pid > limit;
}
`,
};

/** Programs that share no static helper: split before optimization, each partition optimized in its worker. */
const APART = `${HEADER}
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } hits SEC(".maps");
char LICENSE[] SEC("license") = "GPL";
static __attribute__((noinline)) __u32 mix(__u32 x) { return (x * 2654435761u) >> 7; }
static __attribute__((noinline)) __u32 fold(__u32 x, __u32 n) { for (__u32 i = 0; i < 8 && i < n; i++) x ^= x << 3; return x; }
SEC("xdp") int count_xdp(struct xdp_md *ctx) {
  __u32 key = mix(ctx->ingress_ifindex) & 3;
  __u64 *v = bpf_map_lookup_elem(&hits, &key);
  if (v) __sync_fetch_and_add(v, 1);
  return XDP_PASS;
}
SEC("socket") int fold_len(struct __sk_buff *skb) { return fold(skb->len, skb->protocol & 7) & 1; }
SEC("socket") int plain_len(struct __sk_buff *skb) { return skb->len > 64; }
SEC("xdp") int drop_queue(struct xdp_md *ctx) { return ctx->rx_queue_index == 3 ? XDP_DROP : XDP_PASS; }
`;

interface Link {
  status: number;
  stderr: string;
  bytes?: Uint8Array;
  /** Partitions, from --timings' second line; 0 for one module. */
  partitions: number;
}

function link(inputs: string[], out: string, flags: string[]): Link {
  const r = runCli([...inputs, '--btf', '--internalize', '--timings', ...flags, '-o', out]);
  return {
    status: r.status,
    stderr: r.stderr,
    ...(r.status === 0 && { bytes: new Uint8Array(readFileSync(out)) }),
    partitions: Number(/^partitions \(ms\): (\d+)/m.exec(r.stderr)?.[1] ?? 0),
  };
}

/** What the merge must keep: programs, maps, globals, license, BTF names with linkage (a copied static helper is one FUNC after dedup), CO-RE relocations. */
function facts(o: BpfObject) {
  return {
    programs: o.programs.filter((p) => !p.isSubprogram).map((p) => `${p.section}:${p.name}`).sort(),
    subprograms: [...new Set(o.programs.filter((p) => p.isSubprogram).map((p) => p.name))].sort(),
    maps: o.maps.map((m) => `${m.section}:${m.name} type=${m.type} key=${m.keySize} value=${m.valueSize} max=${m.maxEntries}`).sort(),
    globals: o.globals.map((g) => `${g.section}:${g.name} ${g.size}`).sort(),
    license: o.license,
    btfFuncs: [...new Set(findTypes(o.btf!, 'FUNC').map((f) => `${f.name} ${f.linkage}`))].sort(),
    btfVars: findTypes(o.btf!, 'VAR').map((v) => `${v.name} ${v.linkage}`).sort(),
    btfDatasecs: findTypes(o.btf!, 'DATASEC').map((d) => d.name).sort(),
    coreRelos: o.btfSummary?.coreReloCount,
  };
}

/** Per program: verdict, instructions submitted, instructions the verifier processed; and whether libbpf had to drop BTF. */
function verify(path: string) {
  const r = runCli(['verify', '--json', path]);
  const [res] = JSON.parse(r.stdout) as { messages: { text: string }[]; programs: { name: string; accepted: boolean; insnCount: number; stats?: { processed: number }; messages: { text: string }[] }[] }[];
  const texts = [...res.messages, ...res.programs.flatMap((p) => p.messages)].map((m) => m.text);
  return {
    btfDropped: texts.some((t) => /Error loading \.BTF into kernel|BTF is optional, ignoring/.test(t)),
    programs: res.programs.map((p) => ({ name: p.name, accepted: p.accepted, insnCount: p.insnCount, processed: p.stats?.processed })).sort((a, b) => a.name.localeCompare(b.name)),
  };
}

describe.each(LLVM_MAJORS)('partitioned code generation, clang-%i bitcode', (major: LlvmMajor) => {
  const dir = makeTempDir('bpfl-partitions-');
  let inputs: string[] = [];
  let one: Link;
  let split: Link;

  beforeAll(() => {
    inputs = Object.entries(SOURCES).map(([name, text]) =>
      compileC({ major, source: writeSource(dir, name, text), out: join(dir, name.replace(/\.c$/, '.bc')), mode: 'bc' }),
    );
    one = link(inputs, join(dir, 'one.o'), ['--partitions', 'off']);
    split = link(inputs, join(dir, 'split.o'), ['--partitions', '4']);
  });

  it('splits when asked, and the merged object has what the single module has', () => {
    expect(one.status, one.stderr).toBe(0);
    expect(split.status, split.stderr).toBe(0);
    expect(one.partitions).toBe(0);
    // Data partition; xdp_count + sock_threshold (lib_add is static, copied); xdp_hits + sock_hits (share `hits`); kprobe_pid.
    expect(split.partitions).toBeGreaterThanOrEqual(3);
    const [a, b] = [readBpfObject(one.bytes!), readBpfObject(split.bytes!)];
    expect(facts(b)).toEqual(facts(a));
    expect(facts(b).btfFuncs).toContain('lib_add static');
    expect(facts(b).coreRelos).toBeGreaterThan(0);
    // The copies of lib_add: one .text function per partition that calls it.
    expect(b.programs.filter((p) => p.name === 'lib_add').length).toBe(2);
    expect(a.programs.filter((p) => p.name === 'lib_add').length).toBe(1);
    // Split after optimization: lib_add (shared) ties most of the code into one group before it.
    expect(split.stderr).not.toMatch(/optimized apart/);
    // Every function's code is the one module's (copies of lib_add included).
    expect(codeDifferences(one.bytes!, split.bytes!).differ).toEqual([]);
  });

  it('splits programs sharing no helper before optimization: every function the same code, the same verdicts', () => {
    const apart = compileC({ major, source: writeSource(dir, 'apart.c', APART), out: join(dir, 'apart.bc'), mode: 'bc' });
    const off = link([apart], join(dir, 'apart-off.o'), ['--partitions', 'off']);
    const parts = link([apart], join(dir, 'apart-4.o'), ['--partitions', '4']);
    expect(parts.status, parts.stderr).toBe(0);
    expect(parts.stderr).toMatch(/^partitions \(ms\): \d+ on \d+ threads?, optimized apart: p0 [\d.]+\+[\d.]+ /m);
    // No optimize stage on the main thread: the workers did it.
    expect(parts.stderr).not.toMatch(/stage times \(ms\):.* optimize /);
    expect(parts.partitions).toBeGreaterThanOrEqual(3);
    expect(facts(readBpfObject(parts.bytes!))).toEqual(facts(readBpfObject(off.bytes!)));
    expect(codeDifferences(off.bytes!, parts.bytes!)).toEqual({ differ: [], reordered: [] });
    for (const jobs of ['1', '3']) {
      const again = link([apart], join(dir, `apart-j${jobs}.o`), ['--partitions', '4', '--jobs', jobs]);
      expect(Buffer.from(again.bytes!).equals(Buffer.from(parts.bytes!)), `--jobs ${jobs}`).toBe(true);
    }
    if (noKernel) return;
    const [a, b] = [verify(join(dir, 'apart-off.o')), verify(join(dir, 'apart-4.o'))];
    expect(b.btfDropped).toBe(false);
    expect(b.programs).toEqual(a.programs);
    expect(b.programs.filter((p) => p.accepted).length).toBe(4);
  });

  it.skipIf(noKernel)('gives every program the same verdict and instruction counts in the kernel, with BTF kept', () => {
    const [a, b] = [verify(join(dir, 'one.o')), verify(join(dir, 'split.o'))];
    expect(b.btfDropped).toBe(false);
    expect(b.programs).toEqual(a.programs);
    expect(b.programs.filter((p) => p.accepted).length).toBe(5);
  });

  it('writes the same bytes whatever --jobs is', () => {
    const j1 = link(inputs, join(dir, 'j1.o'), ['--partitions', '4', '--jobs', '1']);
    const j3 = link(inputs, join(dir, 'j3.o'), ['--partitions', '4', '--jobs', '3']);
    expect(j1.status, j1.stderr).toBe(0);
    expect(j3.status, j3.stderr).toBe(0);
    expect(Buffer.from(j1.bytes!).equals(Buffer.from(split.bytes!))).toBe(true);
    expect(Buffer.from(j3.bytes!).equals(Buffer.from(split.bytes!))).toBe(true);
  });

  it('keeps a small link one module by default, byte-identical to --partitions off', () => {
    const auto = link(inputs, join(dir, 'auto.o'), []);
    expect(auto.status, auto.stderr).toBe(0);
    expect(auto.partitions).toBe(0);
    expect(Buffer.from(auto.bytes!).equals(Buffer.from(one.bytes!))).toBe(true);
  });

  it('keeps callers of a global function with it (default mode: lib_add stays global)', () => {
    const r = runCli([...inputs, '--btf', '--partitions', '4', '--timings', '--report', join(dir, 'default.json'), '-o', join(dir, 'default.o')]);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, 'default.json'), 'utf8'));
    expect(report.partitions.split).toBe(true);
    const withLib = report.partitions.details.partitions.filter((p: { roots: string[] }) => p.roots.includes('lib_add'))[0];
    expect(withLib.roots).toEqual(expect.arrayContaining(['lib_add', 'xdp_count', 'sock_threshold']));
    expect(readBpfObject(new Uint8Array(readFileSync(join(dir, 'default.o')))).btfSummary?.funcs.find((f) => f.name === 'lib_add')?.linkage).toBe('global');
  });

  it('keeps one module without debug info (libbpf merges only objects with BTF), byte-identical to --partitions off', () => {
    const plain = runCli([...inputs, '--internalize', '--partitions', '4', '--report', join(dir, 'plain.json'), '-o', join(dir, 'plain.o')]);
    const off = runCli([...inputs, '--internalize', '--partitions', 'off', '-o', join(dir, 'plain-off.o')]);
    expect(plain.status, plain.stderr).toBe(0);
    expect(off.status, off.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'plain.json'), 'utf8')).partitions).toEqual({ split: false, reason: expect.stringMatching(/^no debug info/) });
    expect(readFileSync(join(dir, 'plain.o')).equals(readFileSync(join(dir, 'plain-off.o')))).toBe(true);
  });

  it('falls back to one module when libbpf refuses the merge (a symbol named only by inline assembly has no BTF)', () => {
    const asm = compileC({
      major,
      source: writeSource(dir, 'asm.c', `${HEADER}SEC("socket") int by_asm(void *ctx) { long v; asm("%0 = MY_CONST ll" : "=r"(v)); return v; }\nSEC("socket") int plain(void *ctx) { return 1; }\nchar LICENSE[] SEC("license") = "GPL";\n`),
      out: join(dir, 'asm.bc'),
      mode: 'bc',
    });
    const forced = link([asm], join(dir, 'asm-4.o'), ['--partitions', '4']);
    const off = link([asm], join(dir, 'asm-off.o'), ['--partitions', 'off']);
    expect(forced.status, forced.stderr).toBe(0);
    expect(forced.stderr).toMatch(/merging failed \(libbpf [\d.]+'s linker: .*MY_CONST.*\), so one module/);
    expect(forced.partitions).toBe(0);
    expect(Buffer.from(forced.bytes!).equals(Buffer.from(off.bytes!))).toBe(true);
  });

  it('does not split other outputs than objects', () => {
    const r = runCli([...inputs, '--partitions', '4', '--emit', 'llvm-ir', '--timings', '-o', join(dir, 'out.ll')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/^partitions \(ms\)/m);
  });
});

describe('--partitions and --jobs arguments', () => {
  it.each([['--partitions', '1'], ['--partitions', 'many'], ['--jobs', '0'], ['--jobs', 'x']])('%s %s is one clear error, nothing written', (flag, value) => {
    const dir = makeTempDir('bpfl-partitions-args-');
    const out = join(dir, 'out.o');
    const r = runCli(['in.bc', flag, value, '-o', out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`invalid value '${value}' for '${flag} <`);
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('error') || l.startsWith('Error')).length).toBe(1);
    expect(existsSync(out)).toBe(false);
  });
});
