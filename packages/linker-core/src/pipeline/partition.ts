/**
 * Stage: split the optimized module into partitions whose objects, merged by libbpf's linker,
 * give every program the same kernel-side result as the single module.
 *
 * Why: LLVM's BPF backend emits BTF with work that grows with the square of the module
 * (BTFStringTable::addString walks every string so far, twice per line-info record), so code
 * generation of big modules with debug info is dominated by it; smaller modules avoid the
 * quadratic term and can be generated in parallel.
 *
 * The rule (nodes are joined with union-find; a partition is a set of joined groups):
 * - roots are the defined functions with non-local linkage; each takes every internal function it
 *   reaches (calls and address-taken callbacks), so static helpers may be copied into several
 *   partitions;
 * - a root and any non-local function its code refers to share a partition (a split-off
 *   declaration would get no extern BTF FUNC, and libbpf's linker refuses the merge);
 * - every non-local variable (maps, .data/.bss/.rodata globals, custom sections, license) lives
 *   in the data partition, which is merged first; the other partitions refer to them as externs;
 * - all users of an internal variable share a partition, and a section stays whole: internal
 *   variables of one section share a partition, which is the data partition when a non-local
 *   variable lives in that section too (a section spread over objects changes its layout);
 * - users of one extern function (kfunc) or `__ksym` variable share a partition (libbpf 1.1's
 *   linker fails to merge one declared in two objects), and so do the users of a map with contents (a
 *   prog array's programs: the linker would size an extern of it by its smaller BTF type);
 * - every partition drops `llvm.used`/`llvm.compiler.used` (clang's SEC() marks each program
 *   `used`), so an internal value they keep belongs to the data partition; a partition keeps
 *   exactly the definitions assigned to it (no globaldce needed), and no unused declaration.
 *
 * Before optimization (each partition then optimized on its own, in parallel), a partition must
 * give the optimizer exactly what the whole module gives it about every function it holds, so the
 * code is the same. Two more rules make that so:
 * - no static helper is copied: the groups that reach one share a partition, so the inliner,
 *   IPSCCP and dead-argument elimination see all of its callers (a copy with fewer callers is
 *   inlined or specialized differently);
 * - the users of a non-local constant share the data partition, where its initializer is (loads
 *   from a definition fold, from an extern they do not).
 * The used lists are kept there, filtered to the partition's definitions. Typical programs share
 * helpers, so this split often finds one group: the link then optimizes one module and splits it
 * afterwards (link.ts).
 */
import type { LlvmLibrary } from '../llvm/library';
import { LlvmContext } from '../llvm/context';
import { LlvmCallError, functions, globalAliases, globalVariables, isDeclaration, moduleInlineAsm, parseBitcodeLazily, sectionOf, valueName, writeBitcode } from '../llvm/module';
import { Linkage, type ModuleRef, type UseRef, type ValueRef } from '../llvm/types';

/** `--partitions`: off, auto (by module size), or an exact count. */
export type PartitionSetting = 'off' | 'auto' | number;

/**
 * Below this many basic blocks in defined functions, `auto` keeps one module. Measured on the
 * bench's programs (bench/ case p, 2 cores): splitting costs about 60 ms (workers, merge) and
 * breaks even near 300 blocks; at 550 blocks (25 programs of 21 functions) a split link takes
 * 0.8x of one module's time when the partitions are optimized apart and 0.85-0.9x when helpers
 * are shared (split after optimization).
 */
export const AUTO_MIN_BLOCKS = 500;
/** Blocks per partition aimed at by `auto`, and its bounds: 8-16 partitions measured best on 200-400 programs. */
const AUTO_BLOCKS_PER_PARTITION = 600;
const AUTO_MAX_PARTITIONS = 16;

export interface PartitionSummary {
  /** Index in the merge order; partition 0 holds the non-local variables. */
  index: number;
  /** Externally visible functions defined here (programs, global functions). */
  roots: string[];
  /** Defined functions in the partition, copies of static helpers included. */
  functions: number;
  /** Variables defined here. */
  variables: number;
  /** Basic blocks of its functions (the size measure). */
  blocks: number;
}

export interface PartitionPlan {
  partitions: PartitionSummary[];
  /** Per partition: indexes (module order) of the functions and variables it defines. */
  members: { functions: Set<number>; variables: Set<number> }[];
  /** Static helpers copied into more than one partition (never before optimization). */
  duplicated: string[];
  stage: PartitionStage;
}

/** When the module is split: after optimization (helpers may be copied), or before it (partitions are optimized on their own). */
export type PartitionStage = 'after-optimization' | 'before-optimization';

export type PartitionDecision = { split: true; plan: PartitionPlan; reason: string } | { split: false; reason: string };

const LOCAL = new Set<number>([Linkage.Internal, Linkage.Private]);

class UnionFind {
  private readonly parent: number[] = [];
  add(): number {
    this.parent.push(this.parent.length);
    return this.parent.length - 1;
  }
  find(x: number): number {
    while (this.parent[x] !== x) {
      this.parent[x] = this.parent[this.parent[x]];
      x = this.parent[x];
    }
    return x;
  }
  /** The smaller index becomes the representative, so the result does not depend on call order. */
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return;
    if (ra < rb) this.parent[rb] = ra;
    else this.parent[ra] = rb;
  }
}

/**
 * The section a variable's bytes end up in, coarsely: its explicit section, else the class LLVM
 * would choose (read-only, zero-initialized, data). Coarser than LLVM only joins more, which is safe.
 */
function sectionKey(lib: LlvmLibrary, g: ValueRef): string {
  const explicit = sectionOf(lib, g);
  if (explicit) return explicit;
  if (lib.api.LLVMIsGlobalConstant(g) !== 0) return '<rodata>';
  const init = lib.api.LLVMGetInitializer(g);
  return init === null || lib.api.LLVMIsNull(init) !== 0 ? '<bss>' : '<data>';
}

/**
 * For each global value, who refers to it: functions (from instructions) and variables (from
 * initializers), through constant expressions. Walking uses of the globals costs one call per
 * reference, far fewer than walking every instruction operand.
 */
function referrers(lib: LlvmLibrary, globals: ValueRef[]): Map<ValueRef, Set<ValueRef>> {
  const { api } = lib;
  const out = new Map<ValueRef, Set<ValueRef>>();
  const constantUsers = new Map<ValueRef, Set<ValueRef>>();
  const usersOf = (v: ValueRef, into: Set<ValueRef>, depth: number): void => {
    for (let u: UseRef | null = api.LLVMGetFirstUse(v); u !== null; u = api.LLVMGetNextUse(u)) {
      const user = api.LLVMGetUser(u);
      if (api.LLVMIsAInstruction(user) !== null) {
        const block = api.LLVMGetInstructionParent(user);
        const f = block === null ? null : api.LLVMGetBasicBlockParent(block);
        if (f !== null) into.add(f);
      } else if (api.LLVMIsAGlobalValue(user) !== null) {
        into.add(user);
      } else if (api.LLVMIsAConstant(user) !== null && depth < 64) {
        let cached = constantUsers.get(user);
        if (cached === undefined) {
          cached = new Set();
          constantUsers.set(user, cached);
          usersOf(user, cached, depth + 1);
        }
        for (const c of cached) into.add(c);
      }
    }
  };
  for (const g of globals) {
    const set = new Set<ValueRef>();
    usersOf(g, set, 0);
    out.set(g, set);
  }
  return out;
}

/** Decides whether and how to split; never splits what it cannot split safely. */
export function planPartitions(lib: LlvmLibrary, m: ModuleRef, setting: PartitionSetting, stage: PartitionStage): PartitionDecision {
  const { api } = lib;
  if (setting === 'off') return { split: false, reason: '--partitions off' };
  if (globalAliases(lib, m).next().done !== true) return { split: false, reason: 'the module has global aliases' };
  if (moduleInlineAsm(lib, m).trim() !== '') return { split: false, reason: 'the module has module-level inline assembly' };

  const fns = [...functions(lib, m)];
  const vars = [...globalVariables(lib, m)];
  const fnIndex = new Map(fns.map((f, i) => [f, i]));
  const varIndex = new Map(vars.map((g, i) => [g, i]));
  const defined = fns.map((f) => !isDeclaration(lib, f));
  const blocks = fns.map((f, i) => (defined[i] ? api.LLVMCountBasicBlocks(f) : 0));
  const totalBlocks = blocks.reduce((a, b) => a + b, 0);
  if (setting === 'auto' && totalBlocks < AUTO_MIN_BLOCKS) {
    return { split: false, reason: `auto: ${totalBlocks} basic blocks, below the threshold of ${AUTO_MIN_BLOCKS}` };
  }
  const local = (v: ValueRef) => LOCAL.has(api.LLVMGetLinkage(v));
  const appending = (g: ValueRef) => api.LLVMGetLinkage(g) === Linkage.Appending;

  // Nodes: 0 = the data partition; then one per root function and one per internal variable.
  const uf = new UnionFind();
  const DATA = uf.add();
  const fnNode = new Map<number, number>();
  const varNode = new Map<number, number>();
  fns.forEach((f, i) => {
    if (defined[i] && !local(f)) fnNode.set(i, uf.add());
  });
  vars.forEach((g, i) => {
    if (isDeclaration(lib, g)) return;
    varNode.set(i, local(g) && !appending(g) ? uf.add() : DATA);
  });

  // Who refers to what, as node → the internal functions and other globals it reaches.
  // Extern functions (kfuncs) and kernel symbols (`__ksym` variables, `void` ones included):
  // libbpf 1.1's linker cannot merge one declared in two objects ("failed to resolve size of
  // underlying type"), so their users share a partition.
  const kernelExterns = [
    ...fns.filter((f, i) => !defined[i] && !valueName(lib, f).startsWith('llvm.')),
    ...vars.filter((g) => isDeclaration(lib, g) && sectionOf(lib, g) === '.ksyms'),
  ];
  const uses = referrers(lib, [...fns.filter((_, i) => defined[i]), ...kernelExterns, ...vars.filter((g) => !isDeclaration(lib, g))]);
  const nodeOf = (referrer: ValueRef): number | undefined => {
    const fi = fnIndex.get(referrer);
    if (fi !== undefined) return fnNode.get(fi);
    const vi = varIndex.get(referrer);
    return vi !== undefined ? varNode.get(vi) : undefined;
  };
  // `llvm.used`/`llvm.compiler.used` are dropped from every partition: harmless for non-local
  // values (kept as definitions anyway). An internal value they list (clang lists every static
  // variable with a section attribute) stays in the data partition, where the code that uses it
  // keeps it; one that nothing else uses would be lost, so such a module is not split.
  const listedInternals: ValueRef[] = [];
  for (const [v, rs] of uses) {
    if (!local(v)) continue;
    const list = [...rs].find((r) => varIndex.has(r) && appending(r));
    if (list === undefined) continue;
    if ([...rs].every((r) => varIndex.has(r) && appending(r))) {
      return { split: false, reason: `${valueName(lib, list)} keeps the internal ${valueName(lib, v) || 'value'}, which nothing else uses (__attribute__((used)) on a static)` };
    }
    listedInternals.push(v);
  }
  /** The nodes whose code reaches a value, through internal functions (not the used lists). */
  const reachedBy = new Map<ValueRef, Set<number>>();
  const nodesReaching = (v: ValueRef, visiting: Set<ValueRef>): Set<number> => {
    const known = reachedBy.get(v);
    if (known) return known;
    const out = new Set<number>();
    if (visiting.has(v)) return out;
    visiting.add(v);
    for (const r of uses.get(v) ?? []) {
      if (varIndex.has(r) && appending(r)) continue;
      const n = nodeOf(r);
      if (n !== undefined) out.add(n);
      else if (fnIndex.has(r) && local(r)) for (const x of nodesReaching(r, visiting)) out.add(x);
    }
    visiting.delete(v);
    // Memoized only outside a cycle's walk, where the set is complete.
    if (visiting.size === 0) reachedBy.set(v, out);
    return out;
  };
  const joinAll = (nodes: Iterable<number>, also?: number) => {
    let first = also;
    for (const n of nodes) {
      if (first === undefined) first = n;
      else uf.union(first, n);
    }
  };
  // A non-local function shares a partition with every node reaching it.
  for (const [i, node] of fnNode) joinAll(nodesReaching(fns[i], new Set()), node);
  // An internal variable shares a partition with every node reaching it.
  for (const [i, node] of varNode) if (node !== DATA) joinAll(nodesReaching(vars[i], new Set()), node);
  for (const e of kernelExterns) joinAll(nodesReaching(e, new Set()));
  // A map with contents (a prog array's programs, a map-in-map's maps) is bigger than its BTF
  // type, and libbpf's linker sizes an extern by its type: its users stay with its definition.
  for (const [i, node] of varNode) {
    if (node !== DATA || sectionOf(lib, vars[i]) !== '.maps') continue;
    const init = api.LLVMGetInitializer(vars[i]);
    if (init !== null && api.LLVMIsNull(init) === 0) joinAll(nodesReaching(vars[i], new Set()), DATA);
  }
  if (stage === 'before-optimization') {
    // One copy of each static helper: every group reaching it shares a partition.
    fns.forEach((f, i) => {
      if (defined[i] && local(f)) joinAll(nodesReaching(f, new Set()));
    });
    // A non-local constant's initializer is seen where it is defined: its users join it there.
    vars.forEach((g, i) => {
      if (varNode.get(i) === DATA && !appending(g) && api.LLVMIsGlobalConstant(g) !== 0) joinAll(nodesReaching(g, new Set()), DATA);
    });
  }
  for (const v of listedInternals) {
    const vi = varIndex.get(v);
    if (vi !== undefined) uf.union(DATA, varNode.get(vi)!);
    joinAll(nodesReaching(v, new Set()), DATA);
  }
  // Sections stay whole.
  const bySection = new Map<string, number[]>();
  const dataSections = new Set<string>();
  for (const [i, node] of varNode) {
    const key = sectionKey(lib, vars[i]);
    if (node === DATA) {
      if (!appending(vars[i])) dataSections.add(key);
      continue;
    }
    bySection.set(key, [...(bySection.get(key) ?? []), node]);
  }
  for (const [key, nodes] of bySection) joinAll(nodes, dataSections.has(key) ? DATA : undefined);

  // Each group's functions: its roots plus the internal functions they reach.
  const groups = new Map<number, { roots: number[]; vars: number[] }>();
  const group = (rep: number) => {
    let g = groups.get(rep);
    if (!g) groups.set(rep, (g = { roots: [], vars: [] }));
    return g;
  };
  group(uf.find(DATA));
  for (const [i, node] of fnNode) group(uf.find(node)).roots.push(i);
  for (const [i, node] of varNode) group(uf.find(node)).vars.push(i);

  const calleesOf = internalCallees(lib, fns, defined, fnIndex, local);
  const closure = (g: { roots: number[]; vars: number[] }): Set<number> => {
    const out = new Set<number>();
    const stack = [...g.roots];
    for (const v of g.vars) for (const f of calleesOf(vars[v])) stack.push(f);
    while (stack.length > 0) {
      const i = stack.pop()!;
      if (out.has(i)) continue;
      out.add(i);
      for (const c of calleesOf(fns[i])) stack.push(c);
    }
    return out;
  };
  const dataRep = uf.find(DATA);
  const ordered = [...groups.entries()].map(([rep, g]) => {
    const fs = closure(g);
    let size = 0;
    for (const f of fs) size += blocks[f];
    return { rep, g, fs, size };
  });
  const codeGroups = ordered.filter((x) => x.rep !== dataRep && x.g.roots.length > 0).length;
  const wanted = setting === 'auto' ? Math.min(AUTO_MAX_PARTITIONS, Math.max(2, Math.round(totalBlocks / AUTO_BLOCKS_PER_PARTITION))) : setting;
  if (codeGroups + 1 < 2 || wanted < 2) {
    return { split: false, reason: `${setting === 'auto' ? 'auto' : `--partitions ${setting}`}: the module's functions cannot be separated (${codeGroups} independent group${codeGroups === 1 ? '' : 's'})` };
  }
  // Greedy packing, biggest group first into the lightest partition; the data group is partition 0.
  const bins: { size: number; groups: typeof ordered }[] = Array.from({ length: wanted }, () => ({ size: 0, groups: [] }));
  const data = ordered.find((x) => x.rep === dataRep)!;
  // No non-local variable and nothing joined to them: partition 0 is then an ordinary one.
  if (data.g.vars.length > 0 || data.g.roots.length > 0) {
    bins[0].groups.push(data);
    bins[0].size += data.size;
  }
  const rest = ordered.filter((x) => x.rep !== dataRep).sort((a, b) => b.size - a.size || a.rep - b.rep);
  for (const x of rest) {
    let best = 0;
    for (let b = 1; b < bins.length; b++) if (bins[b].size < bins[best].size) best = b;
    bins[best].groups.push(x);
    bins[best].size += x.size;
  }
  const used = bins.filter((b) => b.groups.length > 0);
  const members = used.map((b) => {
    const functionsIn = new Set<number>();
    const variablesIn = new Set<number>();
    for (const x of b.groups) {
      for (const f of x.fs) functionsIn.add(f);
      for (const v of x.g.vars) variablesIn.add(v);
    }
    return { functions: functionsIn, variables: variablesIn };
  });
  const copies = new Map<number, number>();
  for (const p of members) for (const f of p.functions) copies.set(f, (copies.get(f) ?? 0) + 1);
  const duplicated = [...copies].filter(([, n]) => n > 1).map(([f]) => valueName(lib, fns[f])).sort();
  const partitions = used.map((b, index) => {
    const p = members[index];
    const roots = b.groups.flatMap((x) => x.g.roots).sort((a, c) => a - c).map((i) => valueName(lib, fns[i]));
    let size = 0;
    for (const f of p.functions) size += blocks[f];
    return { index, roots, functions: p.functions.size, variables: p.variables.size, blocks: size };
  });
  if (partitions.filter((p) => p.functions > 0).length < 2) {
    return { split: false, reason: 'all functions fall into one partition' };
  }
  // Without copies, shared helpers can tie most of the code into one group: then the partition
  // holding it would be optimized and generated alone, and optimizing the whole module and
  // splitting it afterwards (copying helpers) is faster.
  const biggest = Math.max(...ordered.map((x) => x.size));
  const coded = ordered.reduce((sum, x) => sum + x.size, 0);
  if (stage === 'before-optimization' && biggest * 2 > coded) {
    return { split: false, reason: `one group of programs holds ${Math.round((biggest / coded) * 100)}% of the code (they share static helpers)` };
  }
  const why = setting === 'auto' ? `auto: ${totalBlocks} basic blocks (threshold ${AUTO_MIN_BLOCKS})` : `--partitions ${setting}`;
  const optimized = stage === 'before-optimization' ? ', optimized in parallel' : '';
  return { split: true, plan: { partitions, members, duplicated, stage }, reason: `${why}; ${partitions.length} partitions of ${codeGroups} independent groups${optimized}` };
}

const USED_LISTS = new Set(['llvm.used', 'llvm.compiler.used']);

/**
 * Replaces a used list (`[N x ptr]`, appending linkage) by one of the entries naming `keep`; the
 * list goes when none is left. The array's type changes with its length, so it is a new global.
 */
function filterUsedList(lib: LlvmLibrary, m: ModuleRef, list: ValueRef, keep: ReadonlySet<ValueRef>): void {
  const { api } = lib;
  const init = api.LLVMGetInitializer(list);
  const entries: ValueRef[] = [];
  const count = init === null ? 0 : api.LLVMGetNumOperands(init);
  for (let i = 0; i < count; i++) {
    const entry = api.LLVMGetOperand(init!, i)!;
    // An entry is the global itself, or a cast of it (another address space).
    const target = api.LLVMIsAGlobalValue(entry) !== null ? entry : api.LLVMIsAConstantExpr(entry) !== null ? api.LLVMGetOperand(entry, 0) : null;
    if (target !== null && keep.has(target)) entries.push(entry);
  }
  const name = valueName(lib, list);
  const section = sectionOf(lib, list);
  api.LLVMDeleteGlobal(list);
  if (entries.length === 0) return;
  const elementType = api.LLVMTypeOf(entries[0]);
  const replacement = api.LLVMAddGlobal(m, api.LLVMArrayType2(elementType, entries.length), name);
  api.LLVMSetInitializer(replacement, api.LLVMConstArray2(elementType, entries, entries.length));
  api.LLVMSetLinkage(replacement, Linkage.Appending);
  if (section !== undefined) api.LLVMSetSection(replacement, section);
}

/** The internal functions a function's code (or a variable's initializer) refers to. */
function internalCallees(
  lib: LlvmLibrary,
  fns: ValueRef[],
  defined: boolean[],
  fnIndex: Map<ValueRef, number>,
  local: (v: ValueRef) => boolean,
): (v: ValueRef) => number[] {
  // Inverted from the referrers of each internal function: one walk for all of them.
  const internal = fns.filter((f, i) => defined[i] && local(f));
  const uses = referrers(lib, internal);
  const byReferrer = new Map<ValueRef, number[]>();
  for (const f of internal) {
    for (const r of uses.get(f) ?? []) byReferrer.set(r, [...(byReferrer.get(r) ?? []), fnIndex.get(f)!]);
  }
  return (v) => byReferrer.get(v) ?? [];
}

/**
 * Partition `index` of `plan` as bitcode. The optimized module's bitcode is read again lazily
 * (no function body is parsed yet), everything the partition does not define is deleted or, for
 * the other non-local variables, made a declaration (an extern), and what is left is linked into
 * an empty module: that reads only the partition's bodies, and moves only the declarations still
 * referred to. Far cheaper than cloning the whole module per partition. (The worker generates
 * it without DWARF, which the merge would drop: llvm/codegen-workers.ts.)
 */
export function partitionBitcode(lib: LlvmLibrary, moduleBitcode: Uint8Array, plan: PartitionPlan, index: number): Uint8Array {
  // A context of its own, gone with the partition: every read of the module makes new distinct
  // metadata (the debug info), which a context keeps until it is disposed.
  const ctx = new LlvmContext(lib);
  try {
    return buildPartition(ctx, moduleBitcode, plan, index);
  } finally {
    ctx.dispose();
  }
}

function buildPartition(ctx: LlvmContext, moduleBitcode: Uint8Array, plan: PartitionPlan, index: number): Uint8Array {
  const lib = ctx.lib;
  const { api } = lib;
  const keep = plan.members[index];
  const source = parseBitcodeLazily(ctx, moduleBitcode, 'optimized');
  let sourceOwned = true;
  const dest = api.LLVMModuleCreateWithNameInContext(`partition-${index}`, ctx.ref);
  try {
    // Bitcode lists globals in the module's order, so indexes name the same values.
    const fns = [...functions(lib, source)];
    const vars = [...globalVariables(lib, source)];
    const doomed: ValueRef[] = [];
    const usedLists: ValueRef[] = [];
    vars.forEach((g, i) => {
      if (isDeclaration(lib, g)) return;
      const linkage = api.LLVMGetLinkage(g);
      if (linkage === Linkage.Appending) (plan.stage === 'before-optimization' && USED_LISTS.has(valueName(lib, g)) ? usedLists : doomed).push(g);
      else if (keep.variables.has(i)) return;
      else if (LOCAL.has(linkage)) doomed.push(g);
      else {
        // Defined in the data partition: an extern here.
        api.LLVMSetInitializer(g, null);
        api.LLVMSetLinkage(g, Linkage.External);
      }
    });
    fns.forEach((f, i) => {
      if (!isDeclaration(lib, f) && !keep.functions.has(i)) doomed.push(f);
    });
    // Before optimization the used lists still matter (what the optimizer may delete or change):
    // each keeps the entries this partition defines.
    const defines = new Set<ValueRef>([...fns.filter((_, i) => keep.functions.has(i)), ...vars.filter((_, i) => keep.variables.has(i))]);
    for (const list of usedLists) filterUsedList(lib, source, list, defines);
    // Only other doomed values refer to them (bodies not read yet refer to nothing): cut every
    // reference first, then delete.
    for (const v of doomed) api.LLVMReplaceAllUsesWith(v, api.LLVMGetPoison(api.LLVMTypeOf(v)));
    for (const v of doomed) {
      if (api.LLVMIsAFunction(v) !== null) api.LLVMDeleteFunction(v);
      else api.LLVMDeleteGlobal(v);
    }
    sourceOwned = false;
    if (api.LLVMLinkModules2(dest, source) !== 0) throw new LlvmCallError(`cannot build partition ${index}`);
    return writeBitcode(lib, dest);
  } finally {
    if (sourceOwned) api.LLVMDisposeModule(source);
    api.LLVMDisposeModule(dest);
  }
}
