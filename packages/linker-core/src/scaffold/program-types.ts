/**
 * The program types the generators (Nx, turbo gen) offer: aya-template's list, as plain C or
 * no_std Rust programs without a loader library: the ELF section libbpf expects, the
 * context argument, what the program returns, and what its attach parameter means.
 */
export const PROGRAM_TYPES = [
  'xdp',
  'tc',
  'kprobe',
  'kretprobe',
  'tracepoint',
  'raw_tracepoint',
  'uprobe',
  'socket_filter',
  'cgroup_skb',
  'lsm',
  'perf_event',
  'uretprobe',
  'fentry',
  'fexit',
  'tp_btf',
  'sk_msg',
  'sock_ops',
  'cgroup_sockopt',
  'cgroup_sysctl',
  'cgroup_device',
] as const;

export type ProgramType = (typeof PROGRAM_TYPES)[number];

export interface ProgramTypeInfo {
  /** What `--attach` means for this type, and its default (absent: the type takes none). */
  attach?: { meaning: string; default: string; pattern: RegExp };
  /** libbpf's SEC() name. */
  section(attach: string): string;
  /** C parameter and return expression. */
  cParam: string;
  cReturn: string;
  cIncludes: string[];
  /** Rust return expression (the function returns u32). */
  rustReturn: string;
  description: string;
  /**
   * Tracing types: the generated Rust program reads the current task_struct as a CO-RE access
   * (bpf.config.json turns on --core=auto with task_struct relocatable).
   */
  readsKernelStructs?: boolean;
}

const FN = /^[A-Za-z_][\w.]*$/;

export const PROGRAM_TYPE_INFO: Record<ProgramType, ProgramTypeInfo> = {
  xdp: {
    section: () => 'xdp',
    cParam: 'struct xdp_md *ctx',
    cReturn: 'XDP_PASS',
    cIncludes: [],
    rustReturn: '2 // XDP_PASS',
    description: 'XDP: runs for every packet a network interface receives, before the kernel stack',
  },
  tc: {
    section: () => 'tc',
    cParam: 'struct __sk_buff *skb',
    cReturn: 'TC_ACT_OK',
    cIncludes: ['linux/pkt_cls.h'],
    rustReturn: '0 // TC_ACT_OK',
    description: 'tc classifier: runs on packets at a qdisc (ingress or egress)',
  },
  kprobe: {
    attach: { meaning: 'kernel function', default: 'do_nanosleep', pattern: FN },
    section: (a) => `kprobe/${a}`,
    cParam: 'void *ctx',
    cReturn: '0',
    cIncludes: [],
    rustReturn: '0',
    description: 'kprobe: runs when a kernel function is entered',
    readsKernelStructs: true,
  },
  kretprobe: {
    attach: { meaning: 'kernel function', default: 'do_nanosleep', pattern: FN },
    section: (a) => `kretprobe/${a}`,
    cParam: 'void *ctx',
    cReturn: '0',
    cIncludes: [],
    rustReturn: '0',
    description: 'kretprobe: runs when a kernel function returns',
    readsKernelStructs: true,
  },
  tracepoint: {
    attach: { meaning: 'category/name', default: 'syscalls/sys_enter_execve', pattern: /^\w+\/\w+$/ },
    section: (a) => `tracepoint/${a}`,
    cParam: 'void *ctx',
    cReturn: '0',
    cIncludes: [],
    rustReturn: '0',
    description: 'tracepoint: runs at a static kernel tracepoint',
    readsKernelStructs: true,
  },
  raw_tracepoint: {
    attach: { meaning: 'tracepoint name', default: 'sys_enter', pattern: /^\w+$/ },
    section: (a) => `raw_tracepoint/${a}`,
    cParam: 'struct bpf_raw_tracepoint_args *ctx',
    cReturn: '0',
    cIncludes: [],
    rustReturn: '0',
    description: 'raw tracepoint: a tracepoint with its raw arguments',
    readsKernelStructs: true,
  },
  uprobe: {
    attach: { meaning: 'binary:function', default: '/bin/bash:readline', pattern: /^\/[^\s:]+:[\w.]+$/ },
    section: (a) => `uprobe/${a}`,
    cParam: 'void *ctx',
    cReturn: '0',
    cIncludes: [],
    rustReturn: '0',
    description: 'uprobe: runs when a function of a user-space binary is entered',
  },
  socket_filter: {
    section: () => 'socket',
    cParam: 'struct __sk_buff *skb',
    cReturn: 'skb->len',
    cIncludes: [],
    // __sk_buff starts with `__u32 len`: keep the whole packet.
    rustReturn: 'unsafe { *(ctx as *const u32) }',
    description: 'socket filter: decides how much of each packet a socket sees',
  },
  cgroup_skb: {
    attach: { meaning: 'direction (ingress or egress)', default: 'ingress', pattern: /^(ingress|egress)$/ },
    section: (a) => `cgroup_skb/${a}`,
    cParam: 'struct __sk_buff *skb',
    cReturn: '1',
    cIncludes: [],
    rustReturn: '1 // allow',
    description: "cgroup skb: allows or drops a cgroup's packets",
  },
  lsm: {
    attach: { meaning: 'LSM hook', default: 'file_open', pattern: /^\w+$/ },
    section: (a) => `lsm/${a}`,
    cParam: 'void *ctx',
    cReturn: '0',
    cIncludes: [],
    rustReturn: '0 // allow',
    description: 'LSM: a BPF security hook (needs CONFIG_BPF_LSM; attaching needs lsm=bpf)',
  },
  perf_event: {
    section: () => 'perf_event',
    cParam: 'struct bpf_perf_event_data *ctx',
    cReturn: '0',
    cIncludes: ['linux/bpf_perf_event.h'],
    rustReturn: '0',
    description: 'perf event: runs on a perf event (a sampling timer, a hardware counter)',
  },
  uretprobe: {
    attach: { meaning: 'binary:function', default: '/bin/bash:readline', pattern: /^\/[^\s:]+:[\w.]+$/ },
    section: (a) => `uretprobe/${a}`,
    cParam: 'void *ctx',
    cReturn: '0',
    cIncludes: [],
    rustReturn: '0',
    description: 'uretprobe: runs when a function of a user-space binary returns',
  },
  fentry: {
    attach: { meaning: 'kernel function', default: 'do_nanosleep', pattern: FN },
    section: (a) => `fentry/${a}`,
    cParam: 'unsigned long long *ctx',
    cReturn: '0',
    cIncludes: [],
    rustReturn: '0',
    description: "fentry: runs when a kernel function is entered, through a BPF trampoline (needs the kernel's BTF)",
  },
  fexit: {
    attach: { meaning: 'kernel function', default: 'do_nanosleep', pattern: FN },
    section: (a) => `fexit/${a}`,
    cParam: 'unsigned long long *ctx',
    cReturn: '0',
    cIncludes: [],
    rustReturn: '0',
    description: "fexit: runs when a kernel function returns, with its arguments and return value (needs the kernel's BTF)",
  },
  tp_btf: {
    attach: { meaning: 'tracepoint name', default: 'sched_switch', pattern: /^\w+$/ },
    section: (a) => `tp_btf/${a}`,
    cParam: 'unsigned long long *ctx',
    cReturn: '0',
    cIncludes: [],
    rustReturn: '0',
    description: "BTF tracepoint: a raw tracepoint with typed arguments (needs the kernel's BTF)",
  },
  sk_msg: {
    section: () => 'sk_msg',
    cParam: 'struct sk_msg_md *msg',
    cReturn: 'SK_PASS',
    cIncludes: [],
    rustReturn: '1 // SK_PASS',
    description: 'sk_msg: runs on each message sent on a socket of a sockmap',
  },
  sock_ops: {
    section: () => 'sockops',
    cParam: 'struct bpf_sock_ops *skops',
    cReturn: '1',
    cIncludes: [],
    rustReturn: '1',
    description: "sock_ops: runs on TCP events of a cgroup's sockets (connect, retransmit, RTT)",
  },
  cgroup_sockopt: {
    attach: { meaning: 'getsockopt or setsockopt', default: 'getsockopt', pattern: /^(getsockopt|setsockopt)$/ },
    section: (a) => `cgroup/${a}`,
    cParam: 'struct bpf_sockopt *ctx',
    cReturn: '1',
    cIncludes: [],
    rustReturn: '1 // allow',
    description: "cgroup sockopt: sees (and may change) a cgroup's getsockopt or setsockopt calls",
  },
  cgroup_sysctl: {
    section: () => 'cgroup/sysctl',
    cParam: 'struct bpf_sysctl *ctx',
    cReturn: '1',
    cIncludes: [],
    rustReturn: '1 // allow',
    description: "cgroup sysctl: allows or refuses a cgroup's reads and writes of /proc/sys",
  },
  cgroup_device: {
    section: () => 'cgroup/dev',
    cParam: 'struct bpf_cgroup_dev_ctx *ctx',
    cReturn: '1',
    cIncludes: [],
    rustReturn: '1 // allow',
    description: "cgroup device: allows or refuses a cgroup's access to device files",
  },
};

/** `raw-tracepoint` and `raw_tracepoint` alike. */
export function parseProgramType(text: string): ProgramType | undefined {
  const t = text.trim().toLowerCase().replace(/-/g, '_');
  return (PROGRAM_TYPES as readonly string[]).includes(t) ? (t as ProgramType) : undefined;
}
