// The program of the seed example: two programs that use the library's helper.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern int lib_count(__u32 key);

SEC("xdp")
int xdp_prog(struct xdp_md *ctx)
{
	lib_count(0);
	return XDP_PASS;
}

SEC("kprobe/do_nanosleep")
int kprobe_prog(void *ctx)
{
	lib_count(1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
