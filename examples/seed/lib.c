// The "library" of the seed example: a map and a helper that counts into it.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

__noinline int lib_count(__u32 key)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &key);
	if (!v)
		return 0;
	__sync_fetch_and_add(v, 1);
	return (int)*v;
}
