/**
 * C fixtures for the object-reader tests, compiled with real clang at test time, and the
 * reference tools (bpftool, llvm-objdump) whose output the readers are checked against.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LlvmMajor, MULTIARCH_INCLUDE, llvmTool, makeTempDir, writeSource } from '../support/toolchain';

export const SEED_DIR = join(__dirname, '../../../../examples/seed');

/** A bounded loop that must stay a loop (a back-edge in the output). */
export const LOOP_C = `
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
volatile int sink;
SEC("xdp")
int loop_prog(struct xdp_md *ctx)
{
	int sum = 0;
#pragma clang loop unroll(disable)
	for (int i = 0; i < ctx->data_end - ctx->data && i < 64; i++) {
		sum += i * (int)ctx->ingress_ifindex;
		sink = sum;
	}
	return sum & 3;
}
char LICENSE[] SEC("license") = "GPL";
`;

/** A static and a global helper, neither inlined, called from one program. */
export const LINKAGE_C = `
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
static __noinline int static_helper(int x) { return x * 3 + 1; }
__noinline int global_helper(int x) { return __builtin_bswap32(x) ^ 0x55; }
SEC("tc")
int linkage_prog(struct __sk_buff *skb)
{
	return static_helper(skb->len) + global_helper(skb->mark);
}
char LICENSE[] SEC("license") = "Dual BSD/GPL";
`;

/** Every BTF kind clang emits for C, plus globals in .data/.bss/.rodata and a CO-RE access. */
export const ZOO_C = `
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#define __user __attribute__((btf_type_tag("user")))

typedef unsigned int u32_t;
enum color { RED = 0, GREEN = 1, BLUE = -2 };
enum big { HUGE = 0xffffffffffULL, SMALL = 1 };
enum ucolor { UA = 0xffffffffU, UB = 7 };
struct bits { unsigned a:3; unsigned b:5; int c; long long d:40; };
union un { int i; float f; char c[3]; };
struct fwd_only;
struct outer {
	struct bits b;
	union un u;
	enum color col;
	enum big big;
	enum ucolor uc;
	const volatile u32_t *p;
	struct fwd_only *fwd;
	double dbl;
	int __user *tagged;
	struct { int x; } anon;
	int arr[4][2];
	char last;
} __attribute__((btf_decl_tag("zoo_tag")));

struct task { int pid; int tgid; } __attribute__((preserve_access_index));

struct outer global_outer;
int counter = 3;
const volatile int rodata_knob = 7;
static int static_var;

static __noinline int static_helper(int *restrict x) { return *x + static_var++; }
__noinline int global_helper(struct outer *o) { return o->b.c + o->u.i + o->b.b; }
__noinline int core_read(struct task *t) { return t->tgid; }

SEC("tc")
int zoo_prog(struct __sk_buff *skb)
{
	int v = skb->len;
	return static_helper(&v) + global_helper(&global_outer) + counter + rodata_knob +
	       core_read((struct task *)(long)skb->data);
}
char LICENSE[] SEC("license") = "GPL";
`;

/** A pre-BTF map definition in a "maps" section. */
export const LEGACY_MAP_C = `
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct legacy_map_def { unsigned int type, key_size, value_size, max_entries, map_flags; };
struct legacy_map_def SEC("maps") old_hash = { BPF_MAP_TYPE_HASH, 4, 16, 1024, 1 };
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u64);
	__type(value, struct bpf_spin_lock);
	__uint(map_flags, 1);
} new_hash SEC(".maps");
SEC("xdp")
int maps_prog(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 k2 = 0;
	return bpf_map_lookup_elem(&old_hash, &k) != 0 && bpf_map_lookup_elem(&new_hash, &k2) != 0;
}
char LICENSE[] SEC("license") = "GPL";
`;

/** cpu v4 instructions: sign-extending loads and moves, signed division, bswap, gotol-capable jumps. */
export const V4_C = `
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("tc")
int v4_prog(struct __sk_buff *skb)
{
	long a = (long)(signed char)skb->len;
	int b = (int)skb->mark / (int)(skb->priority | 1);
	long c = (long)(short)skb->hash % (long)((long)skb->tc_index | 1);
	__u32 d = __builtin_bswap32(skb->ifindex);
	return (int)(a + b + c + d);
}
char LICENSE[] SEC("license") = "GPL";
`;

/** Like upstream's tests/c/anon.c: an anonymous struct behind a typedef stays anonymous. */
export const ANON_C = `
typedef struct {
	int x;
} incognito;
int use_incognito(incognito *i) { return i->x; }
`;

export interface FixtureSpec {
  /** The source: a file path, or text written to `<name>.c`. */
  source: { path: string } | { text: string };
  flags?: string[];
  target?: 'bpf' | 'bpfel' | 'bpfeb';
}

export const FIXTURES = {
  lib: { source: { path: join(SEED_DIR, 'lib.c') } },
  program: { source: { path: join(SEED_DIR, 'program.c') } },
  loop: { source: { text: LOOP_C } },
  loopV1: { source: { text: LOOP_C }, flags: ['-mcpu=v1'] },
  loopV3: { source: { text: LOOP_C }, flags: ['-mcpu=v3'] },
  loopEb: { source: { text: LOOP_C }, target: 'bpfeb' },
  linkage: { source: { text: LINKAGE_C } },
  zoo: { source: { text: ZOO_C } },
  zooEb: { source: { text: ZOO_C }, target: 'bpfeb' },
  maps: { source: { text: LEGACY_MAP_C } },
  v4: { source: { text: V4_C }, flags: ['-mcpu=v4'] },
  anon: { source: { text: ANON_C } },
} satisfies Record<string, FixtureSpec>;

export type FixtureName = keyof typeof FIXTURES;

const dirs = new Map<LlvmMajor, string>();
const built = new Map<string, string>();

/** Compiles a fixture (`-g -O2 -c`, an ELF object with BTF) once per LLVM major and returns its path. */
export function fixture(major: LlvmMajor, name: FixtureName): string {
  const key = `${major}:${name}`;
  const done = built.get(key);
  if (done) return done;
  let dir = dirs.get(major);
  if (!dir) dirs.set(major, (dir = makeTempDir(`bpfl-object-${major}-`)));
  const spec: FixtureSpec = FIXTURES[name];
  const src = 'path' in spec.source ? spec.source.path : writeSource(dir, `${name}.c`, spec.source.text);
  const out = join(dir, `${name}.o`);
  execFileSync(
    llvmTool(major, 'clang'),
    ['-target', spec.target ?? 'bpf', MULTIARCH_INCLUDE, '-g', '-O2', ...(spec.flags ?? []), '-c', src, '-o', out],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  built.set(key, out);
  return out;
}

export const readBytes = (path: string): Uint8Array => new Uint8Array(readFileSync(path));

export function sourceText(name: FixtureName): string {
  const spec: FixtureSpec = FIXTURES[name];
  return 'path' in spec.source ? readFileSync(spec.source.path, 'utf8') : spec.source.text;
}

// ---------------------------------------------------------------------------------------
// bpftool

/** One type of `bpftool -j btf dump file`; integers too big for a double arrive as strings. */
export type BpftoolType = Record<string, unknown> & { id: number; kind: string; name: string };

export function bpftoolTypes(path: string): BpftoolType[] {
  const text = execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', path], { encoding: 'utf8' });
  // Quote integers that would lose precision as doubles (ENUM64 values).
  const safe = text.replace(/(:\s*)(-?\d{16,})(?=[,}\]])/g, '$1"$2"');
  return (JSON.parse(safe) as { types: BpftoolType[] }).types;
}

// ---------------------------------------------------------------------------------------
// llvm-objdump

export interface ObjdumpInsn {
  section: string;
  index: number;
  bytes: number[];
  text: string;
}

/** `llvm-objdump -d --mcpu=v1` (so 32-bit loads/stores print rN in every LLVM version, as formatInsn does). */
export function objdumpInsns(major: LlvmMajor, path: string): ObjdumpInsn[] {
  const text = execFileSync(llvmTool(major, 'llvm-objdump'), ['-d', '--mcpu=v1', path], { encoding: 'utf8' });
  const out: ObjdumpInsn[] = [];
  let section = '';
  for (const line of text.split('\n')) {
    const sec = /^Disassembly of section (.*):$/.exec(line);
    if (sec) section = sec[1];
    // "      12:\tbf 10 00 00 00 00 00 00\tr0 = r1"
    const m = /^\s*(\d+):\t((?:[0-9a-f]{2} ?)+)\t(.*)$/.exec(line);
    if (!m) continue;
    out.push({
      section,
      index: Number(m[1]),
      bytes: m[2].trim().split(' ').map((x) => parseInt(x, 16)),
      text: m[3].trim().replace(/\s+<[^<>]*>$/, ''),
    });
  }
  return out;
}
