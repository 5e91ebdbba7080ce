/**
 * The partitioning rule (pipeline/partition.ts), one property per case, on real clang bitcode
 * linked in process with `partitions: 4`: which programs share a partition, which links are not
 * split and why. The objects themselves are compared with one module in packages/cli/test and
 * e2e/corpus.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultLinkOptions, linkSync, type LinkResult } from '../../src';
import { LLVM_MAJORS, compileC, makeTempDir, writeSource, type LlvmMajor } from '../support/toolchain';

const H = '#include <linux/types.h>\n#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nchar LICENSE[] SEC("license") = "GPL";\n';
const XDP = (name: string, body: string) => `SEC("xdp") int ${name}(struct xdp_md *ctx) { ${body} }\n`;

const CASES: Record<string, string> = {
  // a and b share a static variable; c and d are on their own.
  staticVariable: `${H}static int shared;\n${XDP('a', 'shared++; return 2;')}${XDP('b', 'return shared;')}${XDP('c', 'return ctx->ingress_ifindex;')}${XDP('d', 'return ctx->rx_queue_index;')}`,
  // Two programs calling one kfunc: libbpf 1.1's linker cannot merge it declared in two objects.
  kfunc: `${H}extern void bpf_rcu_read_lock(void) __ksym;\n${XDP('a', 'bpf_rcu_read_lock(); return 2;')}${XDP('b', 'bpf_rcu_read_lock(); return 1;')}${XDP('c', 'return 3;')}`,
  // A static kept only by __attribute__((used)) would be lost with llvm.compiler.used.
  usedStatic: `${H}static int kept __attribute__((used)) = 1;\n${XDP('a', 'return 2;')}${XDP('b', 'return 1;')}`,
  // A static in .data, which also holds a non-static variable: its user joins the data partition.
  section: `${H}int visible = 1;\nstatic int hidden = 2;\n${XDP('a', 'hidden++; return hidden;')}${XDP('b', 'return visible;')}${XDP('c', 'return 0;')}`,
  // clang lists a static with a section attribute in llvm.compiler.used: it stays in partition 0, with its user.
  listedStatic: `${H}static int counted SEC(".data.custom") = 2;\n${XDP('a', 'counted++; return counted;')}${XDP('b', 'return 1;')}${XDP('c', 'return 0;')}`,
  // A prog array initialized with a program: the map's users and the program stay with the map.
  // a and b call one static helper; c-f are on their own: split before optimization, the helper not copied.
  sharedHelper: `${H}static __attribute__((noinline)) int helper(int x) { return x * 3 + 1; }\n${XDP('a', 'return helper(ctx->ingress_ifindex);')}${XDP('b', 'return helper(ctx->rx_queue_index);')}${XDP('c', 'return 1;')}${XDP('d', 'return ctx->ingress_ifindex + 4;')}${XDP('e', 'return 5;')}${XDP('f', 'return ctx->rx_queue_index & 6;')}`,
  // Every program calls the helper: one group before optimization, so it is split after it, helper copied.
  helperEverywhere: `${H}static __attribute__((noinline)) int helper(int x) { return x * 3 + 1; }\n${XDP('a', 'return helper(ctx->ingress_ifindex);')}${XDP('b', 'return helper(ctx->rx_queue_index);')}${XDP('c', 'return helper(2);')}`,
  // A non-static constant is folded where it is defined: its user joins the data partition.
  constant: `${H}const int table[4] = { 3, 5, 7, 9 };\n${XDP('a', 'return table[ctx->ingress_ifindex & 3];')}${XDP('b', 'return 1;')}${XDP('c', 'return 2;')}${XDP('d', 'return table[ctx->rx_queue_index & 3];')}`,
  // A reference optimization removes (an unused function, internalized) and one it keeps.
  undefinedRefs: `${H}int missing_kept(int x);\nint missing_dropped(int x);\nint unused(int x) { return missing_dropped(x); }\n${XDP('a', 'return missing_kept(ctx->ingress_ifindex);')}${XDP('b', 'return 1;')}${XDP('c', 'return 2;')}`,
  progArray: `${H}int tail(struct xdp_md *ctx);\nstruct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 2); __type(key, __u32); __array(values, int (void *)); } jumps SEC(".maps") = { .values = { [0] = (void *)&tail } };\nSEC("xdp") int tail(struct xdp_md *ctx) { return 1; }\n${XDP('entry', 'bpf_tail_call(ctx, &jumps, 0); return 2;')}${XDP('other', 'return 3;')}`,
};

function link(input: string, partitions: 'auto' | number | 'off', more: Partial<ReturnType<typeof defaultLinkOptions>> = {}): LinkResult {
  return linkSync(defaultLinkOptions({ inputs: [input], btf: true, partitions, ...more }), { report: true });
}

/** The partition holding each root. */
function partitionOf(r: LinkResult): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of r.partitioning?.partitions ?? []) for (const root of p.roots) out[root] = p.index;
  return out;
}

describe.each(LLVM_MAJORS)('the partitioning rule (clang-%i bitcode)', (major: LlvmMajor) => {
  const dir = makeTempDir('bpfl-partition-rule-');
  const bc: Record<string, string> = {};

  beforeAll(() => {
    for (const [name, text] of Object.entries(CASES)) {
      bc[name] = compileC({ major, source: writeSource(dir, `${name}.c`, text), out: join(dir, `${name}.bc`), mode: 'bc' });
    }
  });

  it('keeps the users of a static variable together, and splits the rest', () => {
    const r = link(bc.staticVariable, 4);
    const at = partitionOf(r);
    expect(at.a).toBe(at.b);
    expect(new Set([at.a, at.c, at.d]).size).toBe(3);
    // Partition 0 holds the non-static variables (LICENSE) and is merged first.
    expect(r.partitioning!.partitions[0].variables).toBeGreaterThan(0);
    expect(r.report?.partitions).toMatchObject({ split: true });
  });

  it('keeps the callers of one kfunc together', () => {
    const at = partitionOf(link(bc.kfunc, 4));
    expect(at.a).toBe(at.b);
    expect(at.c).not.toBe(at.a);
  });

  it('does not split a module whose llvm.compiler.used keeps a static', () => {
    const r = link(bc.usedStatic, 4);
    expect(r.partitioning).toBeUndefined();
    expect(r.partitionDecision).toMatch(/llvm\.compiler\.used keeps the internal kept, which nothing else uses/);
  });

  it('keeps a section whole: the user of a static in a section with a non-static variable is in partition 0', () => {
    const at = partitionOf(link(bc.section, 4));
    expect(at.a).toBe(0);
    expect(at.c).not.toBe(0);
  });

  it('keeps a static listed in llvm.compiler.used in partition 0, with its user', () => {
    const r = link(bc.listedStatic, 4);
    const at = partitionOf(r);
    expect(at.a).toBe(0);
    expect(new Set([at.a, at.b, at.c]).size).toBe(3);
  });

  it('keeps a prog array, the program it holds and its users together', () => {
    const at = partitionOf(link(bc.progArray, 4));
    expect(at.tail).toBe(0);
    expect(at.entry).toBe(0);
    expect(at.other).not.toBe(0);
  });

  it('keeps a small link one module under auto, and says why', () => {
    const r = link(bc.staticVariable, 'auto');
    expect(r.partitioning).toBeUndefined();
    expect(r.partitionDecision).toMatch(/^auto: \d+ basic blocks, below the threshold of 500$/);
  });

  it('splits before optimization when no static helper is shared across groups: the helper stays one, with both callers', () => {
    const r = link(bc.sharedHelper, 4);
    expect(r.partitioning?.optimizedInPartitions).toBe(true);
    expect(r.partitionDecision).toMatch(/optimized in parallel$/);
    const at = partitionOf(r);
    expect(at.a).toBe(at.b);
    expect(r.partitioning!.duplicated).toEqual([]);
    // Each partition was optimized in its worker.
    expect(r.partitioning!.partitions.every((p) => p.optimizeMs !== undefined && p.optimizeMs > 0)).toBe(true);
    // The stages say where the time went: no optimize stage on this thread.
    expect(r.timings.optimize).toBeUndefined();
  });

  it('splits after optimization, copying the helper, when it ties the programs into one group, and says why', () => {
    const r = link(bc.helperEverywhere, 4);
    expect(r.partitioning?.optimizedInPartitions).toBe(false);
    expect(r.partitioning!.duplicated).toEqual(['helper']);
    expect(r.partitionDecision).toMatch(/; after optimization \(before it: .*(one partition would hold \d+% of the code|all functions fall into one partition|cannot be separated).*\)$/);
    expect(r.timings.optimize).toBeGreaterThan(0);
  });

  it('puts the user of a non-static constant in the data partition before optimization (loads from it fold there)', () => {
    const r = link(bc.constant, 4);
    expect(r.partitioning?.optimizedInPartitions).toBe(true);
    const at = partitionOf(r);
    expect([at.a, at.d]).toEqual([0, 0]);
    expect(at.b).not.toBe(0);
  });

  it('checks undefined symbols after each partition is optimized: a reference optimization removes is no error, a kept one is', () => {
    const exports = ['a', 'b', 'c', 'LICENSE'];
    const failed = (() => {
      try {
        link(bc.undefinedRefs, 4, { exports });
        return undefined;
      } catch (e) {
        return e as Error & { code?: string };
      }
    })();
    expect(failed?.code).toBe('UNDEFINED_SYMBOL');
    expect(failed?.message).toMatch(/^undefined symbol: 'missing_kept' \(referenced by .*undefinedRefs\.bc\): no input defines it$/);
    // --allow-undefined: the same split link goes through, and its report matches one module's.
    const split = link(bc.undefinedRefs, 4, { exports, allowUndefined: true });
    const one = link(bc.undefinedRefs, 'off', { exports, allowUndefined: true });
    expect(split.partitioning?.optimizedInPartitions).toBe(true);
    expect(split.report!.symbols).toEqual(one.report!.symbols);
    expect(split.report!.symbols.find((x) => x.name === 'unused')?.status).toBe('removed');
  });
});
