/**
 * Names and places of a new BPF project, checked the same way by every generator (Nx, turbo gen):
 * a name that becomes a file name, a C identifier and a Rust identifier, and a destination that
 * stays inside the workspace.
 *
 * The generated code must compile, so a name is refused when its C identifier (the snake_case
 * form the C templates use: `int <snake>(…)`, `<snake>_runs`, `<snake>_record()`,
 * `<snake>_hits`) is a C keyword, a name the included libbpf and kernel headers declare, or a C
 * library function clang gives a meaning of its own. Rust programs are also checked against
 * Rust's keywords and the names their template and cargo reserve (rustNameProblem, called by the
 * program templates, which know the language).
 */
import { isAbsolute, posix } from 'node:path';

export interface ProjectNames {
  /** The project (or package) name as given. */
  name: string;
  /** kebab-case: file and output names. */
  fileName: string;
  /** snake_case: C and Rust identifiers. */
  snake: string;
}

const NAME = /^[A-Za-z][\w-]*$/;

const words = (text: string): string[] => text.trim().split(/\s+/);

/** C keywords, C89 to C23, and GNU C's (clang's default is -std=gnu17): `int int(…)` does not parse. */
export const C_KEYWORDS: ReadonlySet<string> = new Set(
  words(`auto break case char const continue default do double else enum extern float for goto if inline int
  long register restrict return short signed sizeof static struct switch typedef union unsigned void volatile
  while alignas alignof bool constexpr false nullptr static_assert thread_local true typeof typeof_unqual asm`),
);

/**
 * Lower-case names the headers of the generated C declare (upper-case ones such as SEC, LICENSE
 * or XDP_PASS cannot collide: a snake_case name is lower-case): libbpf's helpers
 * (bpf/bpf_helper_defs.h, final since the kernel stopped adding helpers), the macros and
 * functions of bpf/bpf_helpers.h (libbpf 1.1, and those later versions add), and of the kernel's
 * linux/bpf.h, linux/pkt_cls.h and linux/bpf_perf_event.h. A function-like macro turns
 * `int offsetof(…)` into a syntax error; a helper is a second definition. A test compares this
 * list with what the installed headers declare.
 */
export const LIBBPF_NAMES: ReadonlySet<string> = new Set([
  ...words(`
  bind bprm_opts_set btf_find_by_name_kind cgrp_storage_delete cgrp_storage_get check_mtu
  clone_redirect copy_from_user copy_from_user_task csum_diff csum_level csum_update
  current_task_under_cgroup d_path dynptr_data dynptr_from_mem dynptr_read dynptr_write fib_lookup
  find_vma for_each_map_elem get_attach_cookie get_branch_snapshot get_cgroup_classid
  get_current_ancestor_cgroup_id get_current_cgroup_id get_current_comm get_current_pid_tgid
  get_current_task get_current_task_btf get_current_uid_gid get_func_arg get_func_arg_cnt
  get_func_ip get_func_ret get_hash_recalc get_listener_sock get_local_storage get_netns_cookie
  get_ns_current_pid_tgid get_numa_node_id get_prandom_u32 get_retval get_route_realm
  get_smp_processor_id get_socket_cookie get_socket_uid get_stack get_stackid get_task_stack
  getsockopt ima_file_hash ima_inode_hash inode_storage_delete inode_storage_get jiffies64
  kallsyms_lookup_name kptr_xchg ktime_get_boot_ns ktime_get_coarse_ns ktime_get_ns
  ktime_get_tai_ns l3_csum_replace l4_csum_replace load_hdr_opt loop lwt_push_encap lwt_seg6_action
  lwt_seg6_adjust_srh lwt_seg6_store_bytes map_delete_elem map_lookup_elem map_lookup_percpu_elem
  map_peek_elem map_pop_elem map_push_elem map_update_elem msg_apply_bytes msg_cork_bytes
  msg_pop_data msg_pull_data msg_push_data msg_redirect_hash msg_redirect_map override_return
  per_cpu_ptr perf_event_output perf_event_read perf_event_read_value perf_prog_read_value
  probe_read probe_read_kernel probe_read_kernel_str probe_read_str probe_read_user
  probe_read_user_str probe_write_user rc_keydown rc_pointer_rel rc_repeat read_branch_records
  redirect redirect_map redirect_neigh redirect_peer reserve_hdr_opt ringbuf_discard
  ringbuf_discard_dynptr ringbuf_output ringbuf_query ringbuf_reserve ringbuf_reserve_dynptr
  ringbuf_submit ringbuf_submit_dynptr send_signal send_signal_thread seq_printf seq_printf_btf
  seq_write set_hash set_hash_invalid set_retval setsockopt sk_ancestor_cgroup_id sk_assign
  sk_cgroup_id sk_fullsock sk_lookup_tcp sk_lookup_udp sk_redirect_hash sk_redirect_map sk_release
  sk_select_reuseport sk_storage_delete sk_storage_get skb_adjust_room skb_ancestor_cgroup_id
  skb_cgroup_classid skb_cgroup_id skb_change_head skb_change_proto skb_change_tail skb_change_type
  skb_ecn_set_ce skb_get_tunnel_key skb_get_tunnel_opt skb_get_xfrm_state skb_load_bytes
  skb_load_bytes_relative skb_output skb_pull_data skb_set_tstamp skb_set_tunnel_key
  skb_set_tunnel_opt skb_store_bytes skb_under_cgroup skb_vlan_pop skb_vlan_push skc_lookup_tcp
  skc_to_mptcp_sock skc_to_tcp6_sock skc_to_tcp_request_sock skc_to_tcp_sock
  skc_to_tcp_timewait_sock skc_to_udp6_sock skc_to_unix_sock snprintf snprintf_btf sock_from_file
  sock_hash_update sock_map_update sock_ops_cb_flags_set spin_lock spin_unlock store_hdr_opt
  strncmp strtol strtoul sys_bpf sys_close sysctl_get_current_value sysctl_get_name
  sysctl_get_new_value sysctl_set_new_value tail_call task_pt_regs task_storage_delete
  task_storage_get tcp_check_syncookie tcp_gen_syncookie tcp_raw_check_syncookie_ipv4
  tcp_raw_check_syncookie_ipv6 tcp_raw_gen_syncookie_ipv4 tcp_raw_gen_syncookie_ipv6 tcp_send_ack
  tcp_sock this_cpu_ptr timer_cancel timer_init timer_set_callback timer_start trace_printk
  trace_vprintk user_ringbuf_drain xdp_adjust_head xdp_adjust_meta xdp_adjust_tail xdp_get_buff_len
  xdp_load_bytes xdp_output xdp_store_bytes`).map((h) => `bpf_${h}`),
  // bpf_helpers.h and bpf_perf_event.h (libbpf 1.1), linux/pkt_cls.h
  ...words('bpf_printk bpf_tail_call_static bpf_user_pt_regs_t barrier barrier_var container_of offsetof tc_gen'),
  // bpf_helpers.h of later libbpf versions
  ...words('bpf_ksym_exists bpf_for_each bpf_for bpf_repeat bpf_iter_num_new bpf_iter_num_next bpf_iter_num_destroy likely unlikely'),
]);

/**
 * C library functions clang gives a meaning of its own even in a BPF program: `main` must take
 * `int argc` (a compile error), and `exit` and `abort` never return, so the program's
 * `return` becomes unreachable and the verifier rejects the object. (Other library names, such as
 * `log` or `time`, only draw a warning and work.)
 */
export const C_SPECIAL_FUNCTIONS: Readonly<Record<string, string>> = {
  main: 'main is the entry point of a C program: clang requires int argc as its first parameter',
  exit: 'clang treats exit() as the C library function, which never returns: the program would not return',
  abort: 'clang treats abort() as the C library function, which never returns: the program would not return',
};

/** Rust keywords (strict and reserved, every edition up to 2024): `fn fn(…)` does not parse. */
export const RUST_KEYWORDS: ReadonlySet<string> = new Set(
  words(`as async await break const continue crate dyn else enum extern false fn for if impl in let loop match mod
  move mut pub ref return self static struct super trait true type unsafe use where while abstract become box
  do final gen macro override priv try typeof unsized virtual yield`),
);

/** Names of a Rust program that its template or cargo already use. */
const RUST_RESERVED: Readonly<Record<string, string>> = {
  panic: 'the template defines the panic handler fn panic()',
  build: 'cargo forbids the binary name "build": it is a directory of cargo\'s target directory',
  deps: 'cargo forbids the binary name "deps": it is a directory of cargo\'s target directory',
  examples: 'cargo forbids the binary name "examples": it is a directory of cargo\'s target directory',
  incremental: 'cargo forbids the binary name "incremental": it is a directory of cargo\'s target directory',
};

/** Why `snake` cannot be the C identifier of a project, or undefined. */
function cNameProblem(snake: string): string | undefined {
  if (/^\d/.test(snake)) return `its C identifier "${snake}" starts with a digit`;
  if (C_KEYWORDS.has(snake)) return `its C identifier "${snake}" is a C keyword`;
  if (LIBBPF_NAMES.has(snake)) return `its C identifier "${snake}" is already declared by libbpf's bpf/bpf_helpers.h or the kernel headers the generated C includes`;
  if (Object.hasOwn(C_SPECIAL_FUNCTIONS, snake)) return `its C identifier "${snake}" is taken: ${C_SPECIAL_FUNCTIONS[snake]}`;
  return undefined;
}

/** Why a Rust program cannot be named `names`, or undefined (the templates call it). */
export function rustNameProblem(names: ProjectNames): string | undefined {
  const { snake } = names;
  if (RUST_KEYWORDS.has(snake)) return `"${names.name}" is not a valid name for a Rust BPF program: its Rust identifier "${snake}" is a Rust keyword`;
  if (Object.hasOwn(RUST_RESERVED, snake)) return `"${names.name}" is not a valid name for a Rust BPF program: ${RUST_RESERVED[snake]}`;
  return undefined;
}

export function projectNames(name: string): ProjectNames {
  if (!NAME.test(name)) {
    throw new Error(`"${name}" is not a valid BPF project name: use letters, digits, - and _, starting with a letter`);
  }
  // camelCase and snake_case become kebab-case, as Nx's names() does.
  const fileName = name
    .replace(/([a-z\d])([A-Z])/g, '$1-$2')
    .toLowerCase()
    .replace(/_/g, '-');
  const snake = fileName.replace(/-/g, '_');
  const problem = cNameProblem(snake);
  if (problem) throw new Error(`"${name}" is not a valid BPF project name: ${problem}; choose another name`);
  return { name, fileName, snake };
}
/**
 * A project directory relative to the workspace root, `/`-separated and normalized. Absolute
 * paths and paths that climb out of the workspace (`..`) are refused.
 */
export function projectDirectory(directory: string): string {
  const d = directory.trim().replace(/\\/g, '/');
  if (d === '') throw new Error('the project directory is empty: give a path relative to the workspace root, such as "packages/xdp-counter"');
  if (isAbsolute(d) || /^[A-Za-z]:\//.test(d)) {
    throw new Error(`the project directory "${directory}" is absolute: give a path relative to the workspace root, such as "packages/xdp-counter"`);
  }
  const n = posix.normalize(d).replace(/\/$/, '');
  if (n === '.' || n === '..' || n.startsWith('../') || d.split('/').includes('..')) {
    throw new Error(`the project directory "${directory}" leaves the workspace or is its root: give a subdirectory, such as "packages/xdp-counter"`);
  }
  return n;
}

/** A comma-separated list (or a list) as trimmed, non-empty items; `-` and `none` mean no items. */
export function parseList(value: string | readonly string[] | undefined): string[] {
  const items = Array.isArray(value) ? value : String(value ?? '').split(',');
  return items.map((s) => s.trim()).filter((s) => s !== '' && s !== '-' && s.toLowerCase() !== 'none');
}
