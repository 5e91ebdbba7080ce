/** Files of small BPF workspaces that build tests write to temporary directories. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** libs/counters: a library with an array map and `counters_record()`, its header public. */
export const COUNTERS_LIBRARY: Record<string, string> = {
  'libs/counters/bpf.config.json': JSON.stringify({ library: { name: 'counters', sources: ['src/*.c'], publicIncludeDirs: ['include'] } }),
  'libs/counters/include/counters.h': '#pragma once\n#include <linux/types.h>\nint counters_record(__u32 key);\n',
  'libs/counters/src/counters.c': `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "counters.h"
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} counters_hits SEC(".maps");
__noinline int counters_record(__u32 key) {
  __u64 *v = bpf_map_lookup_elem(&counters_hits, &key);
  if (!v) return 0;
  __sync_fetch_and_add(v, 1);
  return 1;
}
`,
};

/** Writes `files` (workspace-relative path → text) below `root`; returns `root`. */
export function writeWorkspace(root: string, files: Record<string, string>): string {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}
