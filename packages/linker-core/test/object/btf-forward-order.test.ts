/**
 * canonicalForwardOrder on real objects: clang's `struct __sk_buff` points to `bpf_flow_keys` and
 * `bpf_sock`, which the program never defines, so LLVM appends a FWD for each, in an order that
 * depends on memory addresses. The same object with those FWDs in the other order (built here by
 * hand, as LLVM writes it on another run) must come out as the same bytes.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalForwardOrder } from '../../src/object/btf-forward-order';
import { defaultLinkOptions, linkSync, parseBtf, readElf, type BtfType } from '../../src';
import { LLVM_MAJORS, compileC, makeTempDir, writeSource, type LlvmMajor } from '../support/toolchain';

const SOURCE = `#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("socket") int len_of(struct __sk_buff *skb) { return skb->len; }
`;

/** Bytes of each record after the 12-byte header, as the kernel lays them out. */
function extraBytes(t: BtfType): number {
  switch (t.kind) {
    case 'INT':
    case 'VAR':
    case 'DECL_TAG':
      return 4;
    case 'ARRAY':
      return 12;
    case 'STRUCT':
    case 'UNION':
      return t.members.length * 12;
    case 'ENUM':
      return t.values.length * 8;
    case 'ENUM64':
      return t.values.length * 12;
    case 'FUNC_PROTO':
      return t.params.length * 8;
    case 'DATASEC':
      return t.vars.length * 12;
    default:
      return 0;
  }
}

interface Located {
  btfOffset: number;
  types: BtfType[];
  /** File offset of each type's record, by id. */
  at: Map<number, number>;
}

function locate(object: Uint8Array): Located {
  const elf = readElf(object);
  const section = elf.section('.BTF')!;
  const btf = parseBtf(elf.sectionData(section));
  const at = new Map<number, number>();
  let off = section.offset + btf.header.hdrLen + btf.header.typeOff;
  for (const t of btf.types) {
    at.set(t.id, off);
    off += 12 + extraBytes(t);
  }
  return { btfOffset: section.offset, types: btf.types, at };
}

/** The trailing FWD ids. */
function tailForwards(types: BtfType[]): number[] {
  const ids: number[] = [];
  for (let i = types.length - 1; i >= 0 && types[i].kind === 'FWD'; i--) ids.unshift(types[i].id);
  return ids;
}

/** `object` with two FWD records exchanged and every PTR to them retargeted: LLVM's other order. */
function swapForwards(object: Uint8Array, a: number, b: number): Uint8Array {
  const { types, at } = locate(object);
  const out = object.slice();
  const v = new DataView(out.buffer);
  for (let w = 0; w < 12; w += 4) {
    const [x, y] = [v.getUint32(at.get(a)! + w, true), v.getUint32(at.get(b)! + w, true)];
    v.setUint32(at.get(a)! + w, y, true);
    v.setUint32(at.get(b)! + w, x, true);
  }
  for (const t of types) {
    if (t.kind !== 'PTR' || (t.typeId !== a && t.typeId !== b)) continue;
    v.setUint32(at.get(t.id)! + 8, t.typeId === a ? b : a, true);
  }
  return out;
}

/** What each pointer points to, by name: the meaning the reordering must keep. */
function pointees(object: Uint8Array): string[] {
  const { types } = locate(object);
  const byId = new Map(types.map((t) => [t.id, t]));
  return types.filter((t): t is Extract<BtfType, { kind: 'PTR' }> => t.kind === 'PTR').map((t) => `${t.id}->${byId.get(t.typeId)?.kind ?? 'void'} ${byId.get(t.typeId)?.name ?? ''}`);
}

describe.each(LLVM_MAJORS)('canonicalForwardOrder (clang-%i)', (major: LlvmMajor) => {
  let object: Uint8Array;

  beforeAll(() => {
    const dir = makeTempDir('bpfl-fwd-order-');
    const bc = compileC({ major, source: writeSource(dir, 'skb.c', SOURCE), out: join(dir, 'skb.bc'), mode: 'bc' });
    object = linkSync(defaultLinkOptions({ inputs: [bc], btf: true, partitions: 'off' })).bytes;
  });

  it('gives LLVM`s two orders of the trailing FWDs the same bytes, and keeps what every pointer points to', () => {
    const forwards = tailForwards(locate(object).types);
    expect(forwards.length).toBeGreaterThanOrEqual(2);
    const other = swapForwards(object, forwards[0], forwards[1]);
    expect(Buffer.from(other).equals(Buffer.from(object))).toBe(false);
    const [x, y] = [canonicalForwardOrder(object), canonicalForwardOrder(other)];
    expect(Buffer.from(x).equals(Buffer.from(y))).toBe(true);
    // Pointers name the same structs (by name; their ids may move).
    const names = (o: Uint8Array) => pointees(o).map((p) => p.replace(/^\d+->/, '')).sort();
    expect(names(x)).toEqual(names(object));
    expect(names(y)).toEqual(names(other));
    // Canonical is a fixed point.
    expect(Buffer.from(canonicalForwardOrder(x)).equals(Buffer.from(x))).toBe(true);
  });

  it('orders the FWDs by their first reference', () => {
    const { types } = locate(canonicalForwardOrder(object));
    const forwards = tailForwards(types);
    const firstUse = forwards.map((id) => types.find((t) => t.kind === 'PTR' && t.typeId === id)!.id);
    expect(firstUse).toEqual([...firstUse].sort((a, b) => a - b));
  });

  it('leaves an object without trailing FWDs, or not an ELF, as it is (the same array)', () => {
    const noElf = new Uint8Array([1, 2, 3]);
    expect(canonicalForwardOrder(noElf)).toBe(noElf);
    const canonical = canonicalForwardOrder(object);
    expect(canonicalForwardOrder(canonical)).toBe(canonical);
  });
});
