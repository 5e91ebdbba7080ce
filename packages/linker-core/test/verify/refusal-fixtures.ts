/**
 * Objects whose first program the kernel refuses (it never reaches the verifier) while the
 * programs after it load, for the REFUSED-versus-REJECTED verify tests. Compiled by clang-22 at
 * test time, like the other verify fixtures.
 */

const HEADERS = '#include <linux/types.h>\n#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n';

/** The fentry target that no kernel has: libbpf finds no BTF for it and fails the load with ESRCH. */
export const MISSING_FUNCTION = 'no_such_function_xyz';

/** First an fentry program on a function the kernel does not have, then an XDP program that is fine. */
export const MISSING_TARGET_C = `${HEADERS}
SEC("fentry/${MISSING_FUNCTION}")
int vfy_no_target(void *ctx)
{
	return 0;
}
SEC("xdp")
int vfy_after(struct xdp_md *ctx)
{
	return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`;

/** A refused program, a rejected one (reads past the checked packet bound) and an accepted one. */
export const REFUSED_REJECTED_ACCEPTED_C = `${HEADERS}
SEC("fentry/${MISSING_FUNCTION}")
int vfy_no_target(void *ctx)
{
	return 0;
}
SEC("xdp")
int vfy_overrun(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (data + 4 > end)
		return XDP_DROP;
	return ((volatile __u8 *)data)[8];
}
SEC("socket")
int vfy_fine(struct __sk_buff *skb)
{
	return 0;
}
char LICENSE[] SEC("license") = "GPL";
`;

/**
 * First an XDP program, then a socket filter. With CAP_BPF alone (no CAP_NET_ADMIN) the kernel
 * refuses the XDP program with EPERM and loads the socket filter, which needs only CAP_BPF.
 */
export const NET_ADMIN_FIRST_C = `${HEADERS}
SEC("xdp")
int vfy_needs_admin(struct xdp_md *ctx)
{
	return XDP_PASS;
}
SEC("socket")
int vfy_socket(struct __sk_buff *skb)
{
	return 0;
}
char LICENSE[] SEC("license") = "GPL";
`;

/** Only an XDP program: with CAP_BPF alone no program of it may be loaded at all. */
export const NET_ADMIN_ONLY_C = `${HEADERS}
SEC("xdp")
int vfy_needs_admin(struct xdp_md *ctx)
{
	return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
`;
