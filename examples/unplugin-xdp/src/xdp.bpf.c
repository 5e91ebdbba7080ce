/* Counts packets per IP protocol in a per-CPU array and lets every packet pass. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "counter.h"

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, COUNTED_PROTOCOLS);
  __type(key, __u32);
  __type(value, __u64);
} packets_by_protocol SEC(".maps");

SEC("xdp")
int count_protocols(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
    return XDP_PASS;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > data_end)
    return XDP_PASS;
  __u32 key = ip->protocol;
  __u64 *count = bpf_map_lookup_elem(&packets_by_protocol, &key);
  if (count)
    *count += 1;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
