/**
 * The known differences between clang-22's object and ours in the corpus, each with its reason
 * and the exact list of sources it applies to. The test fails when a source differs in a way no
 * entry explains, and when an entry's list is no longer exact (a fixed difference must be
 * removed from here, so the pass rate only ever moves on purpose).
 */
export interface KnownDifference {
  /** Short name for the table. */
  key: string;
  reason: string;
  /** Matches each problem line this entry explains. */
  problem: RegExp;
  /** Only seen when objects are loaded (root on the host). */
  needsLoad?: boolean;
  ids: string[];
}

export const KNOWN_DIFFERENCES: KnownDifference[] = [
  {
    key: 'inlined',
    reason:
      "expected: the link optimizes the module again (default<O2>, as bpf-linker does), and that second run inlines " +
      "static functions that clang's single run kept as BPF-to-BPF calls. They are gone from .text and from BTF; " +
      'every program, global function, map and variable is the same, and the objects load alike.',
    problem: /^inlined at link time: /,
    ids: [
      'selftests/bind4_prog', 'selftests/bind6_prog', 'selftests/connect4_prog', 'selftests/map_ptr_kern',
      'selftests/profiler1', 'selftests/profiler2', 'selftests/setget_sockopt', 'selftests/test_btf_skc_cls_ingress',
      'selftests/test_l4lb', 'selftests/test_sock_fields', 'selftests/test_tcp_hdr_options',
    ],
  },
  {
    key: 'branch-range',
    reason:
      "expected: after the link-time O2, a jump in pyperf600's 600-times unrolled loop is farther than the 16-bit " +
      "offsets of -mcpu=v3 reach, and LLVM aborts with 'Branch target out of insn range'. `opt-22 -O2 | llc-22 " +
      "-mcpu=v3` on clang's bitcode aborts the same way; `--cpu v4` (32-bit gotol) links it.",
    problem: /^bpf-linker failed \(\d+\): .*Branch target out of insn range/,
    ids: ['selftests/pyperf600'],
  },
];

/** Sources per group when every package is there: cilium/ebpf 16 × 2 byte orders, gobpf 1, selftests 497. */
export const EXPECTED_SOURCE_COUNT = { cilium: 32, gobpf: 1, selftests: 497 } as const;
