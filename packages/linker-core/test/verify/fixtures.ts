/**
 * Objects for the verify tests: the seed example linked by bpf-linker, and small programs the
 * verifier accepts or rejects, compiled by clang-22 at test time. Also the probe that decides
 * whether this machine lets us load programs, and a view of what the kernel holds.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultLinkOptions, isLinkError, linkSync, verifyObject } from '@bpf-linker/core';
import { compileC, makeTempDir, writeSource } from '../support/toolchain';

export const SEED_DIR = join(__dirname, '../../../../examples/seed');

const HEADERS = '#include <linux/types.h>\n#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n';

/** Reads one byte past the 4 it checked: `invalid access to packet`. */
export const PACKET_OVERRUN_C = `${HEADERS}
SEC("xdp")
int overrun(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (data + 4 > end)
		return XDP_DROP;
	return ((volatile __u8 *)data)[8];
}
char LICENSE[] SEC("license") = "GPL";
`;

/** Two programs in one section: the first one is rejected, the second is fine. */
export const ONE_OF_TWO_C = `${HEADERS}
SEC("xdp")
int vfy_bad(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (data + 4 > end)
		return XDP_DROP;
	return ((volatile __u8 *)data)[8];
}
SEC("xdp")
int vfy_good(struct xdp_md *ctx)
{
	return XDP_PASS;
}
SEC("tc")
int vfy_also_good(struct __sk_buff *skb)
{
	return skb->len > 64;
}
char LICENSE[] SEC("license") = "GPL";
`;

/** A map that asks libbpf to pin it under /sys/fs/bpf by name. */
export const PINNED_MAP_C = (mapName: string) => `${HEADERS}
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ${mapName} SEC(".maps");
SEC("socket")
int vfy_pin_prog(void *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&${mapName}, &k);
	return v ? (int)*v : 0;
}
char LICENSE[] SEC("license") = "GPL";
`;

const TRIVIAL_C = `__attribute__((section("socket"), used)) int vfy_probe(void *c) { return 0; }
char _l[] __attribute__((section("license"), used)) = "GPL";
`;

let dir: string | undefined;
export function workDir(): string {
  return (dir ??= makeTempDir('bpfl-verify-'));
}

/** clang-22 -O2 -g -c: an ELF object straight from clang. */
export function compileObject(name: string, source: string): Uint8Array {
  const src = writeSource(workDir(), `${name}.c`, source);
  return readFileSync(compileC({ major: 22, source: src, out: join(workDir(), `${name}.o`), mode: 'obj' }));
}

/** The given C sources compiled to bitcode by clang-22 and linked by bpf-linker (with BTF). */
export function linkC(name: string, sources: { path: string }[] | string): Uint8Array {
  const paths = typeof sources === 'string' ? [writeSource(workDir(), `${name}.c`, sources)] : sources.map((s) => s.path);
  const inputs = paths.map((source, i) => compileC({ major: 22, source, out: join(workDir(), `${name}.${i}.bc`), mode: 'bc' }));
  return linkSync(defaultLinkOptions({ inputs, btf: true })).bytes;
}

export function seedObject(): Uint8Array {
  return linkC('seed', [{ path: join(SEED_DIR, 'program.c') }, { path: join(SEED_DIR, 'lib.c') }]);
}

let probed: string | null | undefined;

/** Why programs cannot be loaded here (as root, bpf() allowed), or null when they can. */
export function verifyUnavailable(): string | null {
  if (probed !== undefined) return probed;
  try {
    const r = verifyObject(compileObject('probe', TRIVIAL_C));
    probed = r.accepted ? null : `the kernel rejected a trivial socket filter: ${r.programs[0]?.reason}`;
  } catch (e) {
    probed = isLinkError(e) ? `${e.code}: ${e.message}` : String(e);
  }
  return probed;
}

/** Programs and maps the kernel holds, as `id:name`. */
export function kernelObjects(): { programs: string[]; maps: string[] } {
  const list = (what: 'prog' | 'map') =>
    (JSON.parse(execFileSync('bpftool', ['-j', what, 'show'], { encoding: 'utf8' })) as { id: number; name?: string }[]).map(
      (o) => `${o.id}:${o.name ?? ''}`,
    );
  return { programs: list('prog'), maps: list('map') };
}
