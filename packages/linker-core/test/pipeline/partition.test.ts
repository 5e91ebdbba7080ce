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
  progArray: `${H}int tail(struct xdp_md *ctx);\nstruct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 2); __type(key, __u32); __array(values, int (void *)); } jumps SEC(".maps") = { .values = { [0] = (void *)&tail } };\nSEC("xdp") int tail(struct xdp_md *ctx) { return 1; }\n${XDP('entry', 'bpf_tail_call(ctx, &jumps, 0); return 2;')}${XDP('other', 'return 3;')}`,
};

function link(input: string, partitions: 'auto' | number): LinkResult {
  return linkSync(defaultLinkOptions({ inputs: [input], btf: true, partitions }), { report: true });
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
    expect(r.partitionDecision).toMatch(/^auto: \d+ basic blocks, below the threshold of 3000$/);
  });
});
