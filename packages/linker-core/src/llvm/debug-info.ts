/**
 * Debug-info metadata access and the BTF sanitizer. This is the only place that knows raw MDNode
 * operand positions, which are LLVM-internal and differ between versions (see `diOperandLayout`).
 *
 * The BPF backend turns DWARF metadata into .BTF; the kernel's BTF checker then rejects much of
 * what rustc emits (generic names, named pointers, out-of-order members, data-carrying enums).
 * `sanitizeDebugInfo` rewrites the metadata in place, in one walk over everything reachable from
 * the module's globals, functions, instructions and debug records.
 *
 * Debug info that comes only from clang's C (`isClangC`) needs none of those rules: pointers are
 * anonymous, members come in offset order, C has no data-carrying enums, and names are C
 * identifiers (the rare `$`, non-ASCII or over-long one is left as in clang's own object). For C
 * the stage only repoints the subprograms made local-to-unit (`repointSubprograms`), and skips
 * the walk when there are none.
 */
import koffi from 'koffi';
import { MAX_KSYM_NAME_LEN, needsSanitizing, sanitizeName } from '../btf/sanitize-name';
import { decodeCString } from './api';
import type { LlvmContext } from './context';
import type { LlvmLibrary } from './library';
import { basicBlocks, functions, globalVariables, instructions } from './module';
import { Linkage, type MetadataEntriesRef, type MetadataRef, type ModuleRef, type ValueRef } from './types';

/** Raw operand indexes of the debug-info nodes we read or rewrite. */
export interface DiOperandLayout {
  /** Scope of any DIType (null at file scope in C). */
  typeScope: number;
  /** Name of any DIType (an MDString). */
  typeName: number;
  /** DICompositeType elements (an MDTuple). */
  compositeElements: number;
  /** DIDerivedType baseType. */
  derivedBaseType: number;
  subprogram: { scope: number; name: number; linkageName: number; type: number; unit: number; retainedNodes: number };
  location: { scope: number; inlinedAt: number };
}

/**
 * LLVM 21 made DIType's size and offset metadata operands (3 and 4), which moved
 * DICompositeType's elements from 4 to 6 and DIDerivedType's baseType from 3 to 5. Checked by
 * reading the nodes back on LLVM 19 and 22 (test/debug-info/layout.test.ts).
 */
export function diOperandLayout(major: number): DiOperandLayout {
  const newer = major >= 21;
  return {
    typeScope: 1,
    typeName: 2,
    compositeElements: newer ? 6 : 4,
    derivedBaseType: newer ? 5 : 3,
    subprogram: { scope: 1, name: 2, linkageName: 3, type: 4, unit: 5, retainedNodes: 7 },
    location: { scope: 0, inlinedAt: 1 },
  };
}

/** llvm-c/DebugInfo.h LLVMMetadataKind (0-based; LLVM 21 only appended kinds). */
export const MetadataKind = {
  MDString: 0,
  ConstantAsMetadata: 1,
  LocalAsMetadata: 2,
  DistinctMDOperandPlaceholder: 3,
  MDTuple: 4,
  DILocation: 5,
  DIExpression: 6,
  DIGlobalVariableExpression: 7,
  GenericDINode: 8,
  DISubrange: 9,
  DIEnumerator: 10,
  DIBasicType: 11,
  DIDerivedType: 12,
  DICompositeType: 13,
  DISubroutineType: 14,
  DIFile: 15,
  DICompileUnit: 16,
  DISubprogram: 17,
  DILexicalBlock: 18,
  DILexicalBlockFile: 19,
  DINamespace: 20,
  DIModule: 21,
  DITemplateTypeParameter: 22,
  DITemplateValueParameter: 23,
  DIGlobalVariable: 24,
  DILocalVariable: 25,
  DILabel: 26,
} as const;

export const DwarfTag = {
  enumerationType: 0x04,
  typedef: 0x16,
  member: 0x0d,
  pointerType: 0x0f,
  structureType: 0x13,
  unionType: 0x17,
  variantPart: 0x33,
} as const;

export const DIFlag = { FwdDecl: 4, Prototyped: 256 } as const;

/** llvm-c/Core.h LLVMDbgRecordKind */
const DbgRecordKind = { Label: 0 } as const;

/** Typed operand access on metadata nodes (seen through MetadataAsValue). */
export class DebugInfo {
  readonly layout: DiOperandLayout;
  private buffer = new BigUint64Array(64);

  constructor(
    readonly lib: LlvmLibrary,
    readonly ctx: LlvmContext,
  ) {
    this.layout = diOperandLayout(lib.version.major);
  }

  asValue(md: MetadataRef): ValueRef {
    return this.lib.api.LLVMMetadataAsValue(this.ctx.ref, md);
  }

  asMetadata(v: ValueRef): MetadataRef {
    return this.lib.api.LLVMValueAsMetadata(v);
  }

  kind(node: ValueRef): number {
    return this.lib.api.LLVMGetMetadataKind(this.asMetadata(node));
  }

  /**
   * Every operand of an MDNode in two FFI calls; null operands are 0n. A ConstantAsMetadata
   * operand comes back as the constant, anything else as its MetadataAsValue (uniqued, so the
   * pointer identifies the metadata).
   */
  operands(node: ValueRef): bigint[] {
    const { api } = this.lib;
    const n = api.LLVMGetMDNodeNumOperands(node);
    if (n === 0) return [];
    if (n > this.buffer.length) this.buffer = new BigUint64Array(Math.max(n, this.buffer.length * 2));
    api.LLVMGetMDNodeOperands(node, this.buffer);
    return Array.from(this.buffer.subarray(0, n));
  }

  operand(node: ValueRef, i: number): ValueRef | null {
    return this.lib.api.LLVMGetOperand(node, i);
  }

  /** Where the characters of an MDString value are (empty for anything else). */
  mdStringRaw(v: ValueRef | bigint | null): RawString {
    if (!v) return NO_STRING;
    const len: [number | null] = [0];
    const ptr = this.lib.api.LLVMGetMDString(v as ValueRef, len);
    return { ptr, len: len[0] ?? 0 };
  }

  /** Where the name of a DIType is. */
  typeNameRaw(md: MetadataRef): RawString {
    const len: [number | null] = [0];
    const ptr = this.lib.api.LLVMDITypeGetName(md, len);
    return { ptr, len: len[0] ?? 0 };
  }

  /** The text of an MDString operand ('' when absent). */
  stringOperand(node: ValueRef, i: number): string {
    return rawText(this.mdStringRaw(this.operand(node, i)));
  }

  setOperand(node: ValueRef, i: number, md: MetadataRef | null): void {
    this.lib.api.LLVMReplaceMDNodeOperandWith(node, i, md as MetadataRef);
  }

  mdString(text: string): MetadataRef {
    const bytes = Buffer.from(text, 'utf8');
    return this.lib.api.LLVMMDStringInContext2(this.ctx.ref, bytes, bytes.length);
  }

  tuple(items: MetadataRef[]): MetadataRef {
    return this.lib.api.LLVMMDNodeInContext2(this.ctx.ref, items.length ? items : null, items.length);
  }

  tag(md: MetadataRef): number {
    return this.lib.api.LLVMGetDINodeTag(md);
  }
}

/** Characters owned by LLVM (MDStrings live as long as their context): a pointer and a length. */
export interface RawString {
  ptr: bigint | null;
  len: number;
}

const NO_STRING: RawString = { ptr: null, len: 0 };
const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder();

/** The exact bytes (a view of LLVM's memory: about 1 µs, so only when needed). */
export function rawBytes(s: RawString): Uint8Array {
  return s.ptr === null || s.len === 0 ? EMPTY : new Uint8Array(koffi.view(s.ptr, s.len));
}

/** The text, decoded as UTF-8. */
export function rawText(s: RawString): string {
  return utf8.decode(rawBytes(s));
}

const IDENTIFIER = /^[0-9A-Za-z_]*$/;

/**
 * The sanitized name, or undefined when the name is already acceptable. The common case is
 * decided on a string decode (about 5x cheaper than a byte view); anything else is sanitized from
 * the exact bytes.
 */
function sanitizedName(s: RawString): string | undefined {
  if (s.ptr === null || s.len === 0) return undefined;
  if (s.len <= MAX_KSYM_NAME_LEN) {
    // koffi stops at a NUL; the length check sends such names to the byte path.
    const text = koffi.decode(s.ptr, 'char', s.len) as string;
    if (text.length === s.len && IDENTIFIER.test(text)) return undefined;
  }
  const bytes = rawBytes(s);
  return needsSanitizing(bytes) ? sanitizeName(bytes) : undefined;
}

function* metadataEntries(lib: LlvmLibrary, entries: MetadataEntriesRef | null, count: number): Generator<MetadataRef> {
  if (entries === null) return;
  try {
    for (let i = 0; i < count; i++) yield lib.api.LLVMValueMetadataEntriesGetMetadata(entries, i);
  } finally {
    lib.api.LLVMDisposeValueMetadataEntries(entries);
  }
}

/** The operands of the node being visited, read in one batch (0n for a null operand). */
export interface OperandView {
  readonly length: number;
  get(i: number): bigint;
}

export interface MetadataVisitor {
  /**
   * Operands to replace wherever they are met (keyed by the old node's MetadataAsValue), e.g.
   * old subprograms by their local copies. Replacements are applied in MDNode operands and call
   * operands, and the new node is walked like any other.
   */
  replacements?: ReadonlyMap<bigint, MetadataRef>;
  /**
   * Compile units (MetadataAsValue) whose functions get their instruction locations rebuilt
   * without Key Instructions atoms (see `makeSubprogramsLocal`).
   */
  dropAtomsInUnits?: ReadonlySet<bigint>;
  /**
   * When given, only these definitions (from `liveDefinitions`) are walked, with every
   * declaration; the others are deleted by the optimizer before code generation.
   */
  live?: ReadonlySet<bigint>;
  /**
   * C only (see `isClangC`): the operands of a struct, union, enum or typedef without a scope
   * are not walked. Such a type is declared at file scope, and in C a file-scope type can
   * only refer to file-scope types: no subprogram, lexical block or local variable is reachable
   * through it (a type declared in a function has that subprogram or a lexical block as its scope,
   * and is walked). In a vmlinux.h program this leaves out most of the kernel's type graph.
   */
  skipFileScopeTypes?: boolean;
  /**
   * Called once per MDNode, before its operands are walked (not called on nodes that cannot
   * reference other nodes: DIFile, DIBasicType, DIEnumerator, DIExpression). Returns true when
   * it changed the node's operands, which are then read again.
   */
  node?(node: ValueRef, md: MetadataRef, kind: number, operands: OperandView): boolean | void;
}

export interface WalkStats {
  /** Distinct MDNodes visited. */
  nodes: number;
  instructions: number;
  debugRecords: number;
  /** Operands replaced through `replacements`. */
  replaced: number;
  /** How debug records were reached: the record API, a conversion to intrinsics, or not at all. */
  records: 'api' | 'intrinsics' | 'none';
  /** Instruction locations rebuilt without Key Instructions atoms. */
  locationsRebuilt: number;
  /** Definitions walked, and definitions skipped as dead. */
  definitions: number;
  skippedDead: number;
  /** File-scope types whose operands were not walked (`skipFileScopeTypes`). */
  fileScopeTypes: number;
}

/** The statistics of a walk that did not happen. */
function noWalk(): WalkStats {
  return { nodes: 0, instructions: 0, debugRecords: 0, replaced: 0, records: 'none', locationsRebuilt: 0, definitions: 0, skippedDead: 0, fileScopeTypes: 0 };
}

/** Kinds below MDTuple are not nodes (MDString, ConstantAsMetadata, LocalAsMetadata, placeholders); DIArgList is not one either. */
const DIArgListKind = 34;
function isNodeKind(kind: number): boolean {
  return kind >= MetadataKind.MDTuple && kind !== DIArgListKind;
}
/** Nodes whose operands are only strings and constants: nothing to walk below them. */
const LEAF_KINDS: ReadonlySet<number> = new Set([MetadataKind.DIFile, MetadataKind.DIBasicType, MetadataKind.DIEnumerator, MetadataKind.DIExpression]);

/** Tags of the types C declares with a name in a scope: struct, union, enum, typedef. */
function isDeclaredTypeTag(tag: number): boolean {
  return tag === DwarfTag.structureType || tag === DwarfTag.unionType || tag === DwarfTag.enumerationType || tag === DwarfTag.typedef;
}

const TWO_32 = 4294967296;
const SEEN = 1;
const REPLACE = 2;

/**
 * An open-addressing set of pointers (as 32-bit halves) with a small state per entry. A
 * Set<bigint> costs a BigInt per probe; the walk probes every operand it reads.
 */
class PointerTable {
  private bits: number;
  private mask: number;
  private lo: Uint32Array;
  private hi: Uint32Array;
  /** Per slot: 0 = empty, else the state given to `fill`. */
  state: Uint8Array;
  /** Per slot: the value given to `fill`. */
  value: Int32Array;
  private size = 0;

  /** Starts with 2^bits slots (grown at half full); a big module has some 10^5 nodes. */
  constructor(bits = 16) {
    this.bits = bits;
    this.mask = (1 << bits) - 1;
    this.lo = new Uint32Array(1 << bits);
    this.hi = new Uint32Array(1 << bits);
    this.state = new Uint8Array(1 << bits);
    this.value = new Int32Array(1 << bits);
  }

  /** The slot holding (hi, lo), or the empty slot where it would go (state 0). */
  find(hi: number, lo: number): number {
    const { lo: L, hi: H, state, mask } = this;
    let i = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> (32 - this.bits);
    while (state[i] !== 0 && (L[i] !== lo || H[i] !== hi)) i = (i + 1) & mask;
    return i;
  }

  /** Fills an empty slot from `find`. Slots are invalid afterwards (the table may grow). */
  fill(slot: number, hi: number, lo: number, state: number, value = 0): void {
    this.lo[slot] = lo;
    this.hi[slot] = hi;
    this.state[slot] = state;
    this.value[slot] = value;
    if (++this.size * 2 > this.state.length) this.grow();
  }

  private grow(): void {
    const { lo, hi, state, value } = this;
    this.bits++;
    const cap = 1 << this.bits;
    this.mask = cap - 1;
    this.lo = new Uint32Array(cap);
    this.hi = new Uint32Array(cap);
    this.state = new Uint8Array(cap);
    this.value = new Int32Array(cap);
    for (let j = 0; j < state.length; j++) {
      if (state[j] === 0) continue;
      const slot = this.find(hi[j], lo[j]);
      this.lo[slot] = lo[j];
      this.hi[slot] = hi[j];
      this.state[slot] = state[j];
      this.value[slot] = value[j];
    }
  }
}

function high(p: bigint): number {
  return (Number(p) / TWO_32) >>> 0;
}
function low(p: bigint): number {
  return Number(p) >>> 0; // ToUint32 is exact: pointers are below 2^53
}

/** The module's compile units (`llvm.dbg.cu`), as MetadataAsValue. */
export function compileUnits(lib: LlvmLibrary, m: ModuleRef): ValueRef[] {
  const n = lib.api.LLVMGetNamedMetadataNumOperands(m, 'llvm.dbg.cu');
  if (n === 0) return [];
  const buf = new BigUint64Array(n);
  lib.api.LLVMGetNamedMetadataOperands(m, 'llvm.dbg.cu', buf);
  return Array.from(buf, (v) => v as ValueRef);
}

/** DW_LANG_C89, DW_LANG_C, DW_LANG_C99, DW_LANG_C11, DW_LANG_C17, or DWARF 6's DW_LNAME_C (not C++, Objective-C). */
const C_LANGUAGE = /(?:\blanguage: DW_LANG_C(?:89|99|11|17)?|\bsourceLanguageName: DW_LNAME_C)[,)]/;
/** `Debian clang version 22.1.8 (…)`, `clang version 19.1.7`; rustc writes `clang LLVM (rustc version …)`. */
const CLANG_PRODUCER = /\bproducer: "[^"]*\bclang version /;

/**
 * Whether all of the module's debug info comes from clang compiling C: every compile unit has a
 * C language and a clang producer. Other front ends that claim C for their units (Zig does) keep
 * every rule; so does a module that links C with Rust or C++. A module without compile units
 * has no debug info of any language. The language is not readable through LLVM's C API, so each
 * unit is printed (well under 0.1 ms) until one is not clang's C.
 */
export function isClangC(lib: LlvmLibrary, m: ModuleRef): boolean {
  for (const cu of compileUnits(lib, m)) {
    const printed = printedNode(lib, cu);
    if (!C_LANGUAGE.test(printed) || !CLANG_PRODUCER.test(printed)) return false;
  }
  return true;
}

/** The compile units whose language is Rust (their MetadataAsValue), which the CO-RE stage rewrites. */
export function rustCompileUnits(lib: LlvmLibrary, m: ModuleRef): Set<bigint> {
  return new Set(compileUnits(lib, m).filter((cu) => RUST_LANGUAGE.test(printedNode(lib, cu))));
}

const RUST_LANGUAGE = /\blanguage: DW_LANG_Rust\b|\bsourceLanguageName: DW_LNAME_Rust\b/;

/** A metadata node as LLVM prints it (its own fields; operands as references). */
function printedNode(lib: LlvmLibrary, node: ValueRef): string {
  const text = lib.api.LLVMPrintValueToString(node);
  try {
    return decodeCString(text);
  } finally {
    lib.api.LLVMDisposeMessage(text);
  }
}

/**
 * The definitions (functions and global variables) that can still exist after internalization
 * and the optimization pipeline: everything else is internal and unreachable, so GlobalDCE
 * deletes it and its debug info never reaches BTF. A linked Rust program carries all of core,
 * of which a few dozen functions survive; walking only these makes the walk proportional to
 * the program, not to core.
 *
 * Conservative by construction: roots are definitions that stay visible (not local, not in
 * `internalized`), comdat members (kept together), and anything with a user we do not follow
 * (aliases, a function's personality, ...). A definition used by an instruction is live when
 * that instruction's function is; used by a global's initializer (through any constants), when
 * that global is. Declarations are not definitions: the walk always takes them.
 */
export function liveDefinitions(lib: LlvmLibrary, m: ModuleRef, internalized: ReadonlySet<bigint>): Set<bigint> {
  const { api } = lib;
  const ROOT = 0n;
  /** Owner → the definitions it uses. */
  const edges = new Map<bigint, bigint[]>();
  const constantOwners = new Map<bigint, bigint[]>();
  const roots: bigint[] = [];

  /** Appends the owners of `v`'s uses: a function, a global variable, or ROOT. */
  const ownersOf = (v: ValueRef, out: bigint[]) => {
    for (let u = api.LLVMGetFirstUse(v); u !== null; u = api.LLVMGetNextUse(u)) {
      const user = api.LLVMGetUser(u);
      if (api.LLVMIsAInstruction(user) !== null) {
        const block = api.LLVMGetInstructionParent(user);
        const fn = block === null ? null : api.LLVMGetBasicBlockParent(block);
        out.push(fn ?? ROOT);
      } else if (api.LLVMIsAGlobalVariable(user) !== null) {
        out.push(user); // v is (part of) its initializer
      } else if (api.LLVMIsAGlobalValue(user) === null && api.LLVMIsAConstant(user) !== null) {
        let owners = constantOwners.get(user);
        if (owners === undefined) {
          owners = [];
          constantOwners.set(user, owners);
          ownersOf(user, owners);
        }
        for (const o of owners) out.push(o);
      } else {
        out.push(ROOT);
      }
    }
  };

  const consider = (v: ValueRef) => {
    if (api.LLVMIsDeclaration(v) !== 0) return;
    const linkage = api.LLVMGetLinkage(v);
    const local = linkage === Linkage.Internal || linkage === Linkage.Private;
    if ((!local && !internalized.has(v)) || api.LLVMGetComdat(v) !== null) roots.push(v);
    const owners: bigint[] = [];
    ownersOf(v, owners);
    for (const o of owners) {
      if (o === ROOT) roots.push(v);
      else {
        const list = edges.get(o);
        if (list === undefined) edges.set(o, [v]);
        else list.push(v);
      }
    }
  };
  for (const g of globalVariables(lib, m)) consider(g);
  for (const f of functions(lib, m)) consider(f);

  const live = new Set<bigint>();
  const stack = roots;
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (live.has(v)) continue;
    live.add(v);
    for (const used of edges.get(v) ?? []) if (!live.has(used)) stack.push(used);
  }
  return live;
}

/**
 * Depth-first walk over every metadata node reachable from the module's global variables and
 * functions: their attachments, instruction locations, call operands and call attachments, and
 * debug records. Each node is visited once: MetadataAsValue is uniqued, so its pointer
 * identifies the node.
 *
 * The cost is FFI calls, so: a node's operands are read in one batch; each distinct operand is
 * classified once (two calls), and known roots (locations, variables) not at all; nodes made of
 * strings and constants are not read; consecutive instructions sharing a location are entered
 * once. The non-debug attachments of non-call instructions (tbaa, range, prof...) are not read:
 * only calls carry DI-bearing attachments (`llvm.preserve.*.access.index`, `heapallocsite`), and
 * only calls have metadata operands.
 */
export function walkModuleMetadata(di: DebugInfo, m: ModuleRef, visitor: MetadataVisitor): WalkStats {
  const { lib } = di;
  const { api } = lib;
  const stats = noWalk();
  const skipFileScopeTypes = visitor.skipFileScopeTypes === true;
  const { typeScope } = di.layout;
  const live = visitor.live;
  /** Whether a definition is walked (declarations always are). */
  const walked = (v: ValueRef): boolean => {
    if (live === undefined || live.has(v) || api.LLVMIsDeclaration(v) !== 0) {
      stats.definitions++;
      return true;
    }
    stats.skippedDead++;
    return false;
  };
  /** Operand values (MetadataAsValue pointers, or constants) already classified, and replacements. */
  const values = new PointerTable();
  /** Root metadata (locations, variables, attachments) already entered, keyed by MetadataRef. */
  const roots = new PointerTable();
  const replacementMds: MetadataRef[] = [];
  for (const [old, md] of visitor.replacements ?? []) {
    const slot = values.find(high(old), low(old));
    if (values.state[slot] === 0) {
      values.fill(slot, high(old), low(old), REPLACE, replacementMds.length);
      replacementMds.push(md);
    }
  }

  const stackValue: ValueRef[] = [];
  const stackMd: MetadataRef[] = [];
  const stackKind: number[] = [];
  let buf64 = new BigUint64Array(64);
  let buf32 = new Uint32Array(buf64.buffer);
  let count = 0;
  const ops: OperandView = {
    get length() {
      return count;
    },
    get: (i: number) => buf64[i],
  };
  const read = (node: ValueRef) => {
    count = api.LLVMGetMDNodeNumOperands(node);
    if (count === 0) return;
    if (count > buf64.length) {
      buf64 = new BigUint64Array(Math.max(count, buf64.length * 2));
      buf32 = new Uint32Array(buf64.buffer);
    }
    api.LLVMGetMDNodeOperands(node, buf64);
  };

  /** Queues a node unless already seen; `md` and `kind` when the caller knows them. */
  const pushValue = (v: ValueRef, md: MetadataRef, kind: number) => {
    const h = high(v);
    const l = low(v);
    const slot = values.find(h, l);
    if (values.state[slot] !== 0) return;
    values.fill(slot, h, l, SEEN);
    stackValue.push(v);
    stackMd.push(md);
    stackKind.push(kind);
  };

  const replacementFor = (slot: number): MetadataRef => {
    const md = replacementMds[values.value[slot]];
    pushValue(di.asValue(md), md, api.LLVMGetMetadataKind(md));
    stats.replaced++;
    return md;
  };

  const drain = () => {
    while (stackValue.length > 0) {
      const node = stackValue.pop()!;
      const md = stackMd.pop()!;
      const kind = stackKind.pop()!;
      stats.nodes++;
      if (LEAF_KINDS.has(kind)) continue;
      read(node);
      if (visitor.node && visitor.node(node, md, kind, ops)) read(node);
      if (
        skipFileScopeTypes &&
        (kind === MetadataKind.DICompositeType || kind === MetadataKind.DIDerivedType) &&
        count > typeScope &&
        buf64[typeScope] === 0n &&
        isDeclaredTypeTag(api.LLVMGetDINodeTag(md))
      ) {
        stats.fileScopeTypes++;
        continue;
      }
      for (let i = 0; i < count; i++) {
        const l = buf32[2 * i];
        const h = buf32[2 * i + 1];
        if (l === 0 && h === 0) continue;
        const slot = values.find(h, l);
        const state = values.state[slot];
        if (state === SEEN) continue;
        if (state === REPLACE) {
          di.setOperand(node, i, replacementFor(slot));
          continue;
        }
        values.fill(slot, h, l, SEEN);
        // A node operand is a MetadataAsValue, or the constant of a ConstantAsMetadata, whose
        // wrapper exists already: ValueAsMetadata creates nothing here.
        const op = buf64[i] as ValueRef;
        const opMd = api.LLVMValueAsMetadata(op);
        const opKind = api.LLVMGetMetadataKind(opMd);
        if (!isNodeKind(opKind)) continue;
        stackValue.push(op);
        stackMd.push(opMd);
        stackKind.push(opKind);
      }
    }
  };

  /** Enters root metadata known to be an MDNode (kind computed when not given). */
  const enterRoot = (md: MetadataRef | null, kind = -1) => {
    if (md === null) return;
    const h = high(md);
    const l = low(md);
    const slot = roots.find(h, l);
    if (roots.state[slot] !== 0) return;
    roots.fill(slot, h, l, SEEN);
    pushValue(di.asValue(md), md, kind >= 0 ? kind : api.LLVMGetMetadataKind(md));
    drain();
  };

  // Key Instructions (clang >= 21): a location with an atom group must have a subprogram with
  // Key Instructions enabled, which DIBuilder's C API cannot create. In the functions of the
  // units concerned, every location is rebuilt without atoms (DWARF line tables then ignore
  // atoms; BTF line info never uses them).
  const dropAtomsInUnits = visitor.dropAtomsInUnits ?? new Set<bigint>();
  const rebuiltLocations = new Map<bigint, MetadataRef>();
  const inAtomUnit = (f: ValueRef): boolean => {
    if (dropAtomsInUnits.size === 0) return false;
    const sp = api.LLVMGetSubprogram(f);
    if (sp === null) return false;
    const unit = di.operands(di.asValue(sp))[di.layout.subprogram.unit];
    return unit !== undefined && dropAtomsInUnits.has(unit);
  };
  const withoutAtoms = (inst: ValueRef, loc: MetadataRef): MetadataRef => {
    let fresh = rebuiltLocations.get(loc);
    if (fresh === undefined) {
      const ops = di.operands(di.asValue(loc));
      const scope = ops[di.layout.location.scope];
      const inlinedAt = ops[di.layout.location.inlinedAt];
      fresh = api.LLVMDIBuilderCreateDebugLocation(
        di.ctx.ref,
        api.LLVMDILocationGetLine(loc),
        api.LLVMDILocationGetColumn(loc),
        api.LLVMValueAsMetadata(scope as ValueRef),
        inlinedAt ? api.LLVMValueAsMetadata(inlinedAt as ValueRef) : null,
      );
      rebuiltLocations.set(loc, fresh);
    }
    if (fresh !== loc) {
      api.LLVMInstructionSetDebugLoc(inst, fresh);
      stats.locationsRebuilt++;
    }
    return fresh;
  };

  const entryCount: [number | null] = [0];
  const attachments = (entries: MetadataEntriesRef | null) => {
    for (const md of metadataEntries(lib, entries, entryCount[0] ?? 0)) enterRoot(md);
  };

  // Debug records are not instructions. LLVM >= 21 lists them through the C API; LLVM 19 and 20
  // can only show them as llvm.dbg.* intrinsic calls, so the module is converted for the walk.
  const recordApi =
    api.LLVMGetFirstDbgRecord && api.LLVMGetNextDbgRecord && api.LLVMDbgRecordGetKind && api.LLVMDbgRecordGetDebugLoc && api.LLVMDbgVariableRecordGetVariable
      ? {
          first: api.LLVMGetFirstDbgRecord,
          next: api.LLVMGetNextDbgRecord,
          kind: api.LLVMDbgRecordGetKind,
          loc: api.LLVMDbgRecordGetDebugLoc,
          variable: api.LLVMDbgVariableRecordGetVariable,
        }
      : undefined;
  let convertedToIntrinsics = false;
  if (recordApi) stats.records = 'api';
  else if (api.LLVMIsNewDbgInfoFormat && api.LLVMSetIsNewDbgInfoFormat) {
    if (api.LLVMIsNewDbgInfoFormat(m)) {
      api.LLVMSetIsNewDbgInfoFormat(m, 0);
      convertedToIntrinsics = true;
    }
    stats.records = 'intrinsics';
  }

  try {
    for (const g of globalVariables(lib, m)) {
      if (walked(g)) attachments(api.LLVMGlobalCopyAllMetadata(g, entryCount));
    }
    for (const f of functions(lib, m)) {
      if (!walked(f)) continue;
      attachments(api.LLVMGlobalCopyAllMetadata(f, entryCount));
      const dropAtoms = inAtomUnit(f);
      let lastLoc: MetadataRef | null = null;
      for (const b of basicBlocks(lib, f)) {
        for (const inst of instructions(lib, b)) {
          stats.instructions++;
          // A DILocation: its scope chain is repointed inside the walk.
          let loc = api.LLVMInstructionGetDebugLoc(inst);
          if (loc !== null && dropAtoms) loc = withoutAtoms(inst, loc);
          if (loc !== null && loc !== lastLoc) {
            lastLoc = loc;
            enterRoot(loc, MetadataKind.DILocation);
          }
          if (api.LLVMIsACallInst(inst) !== null) {
            const n = api.LLVMGetNumOperands(inst);
            for (let i = 0; i < n; i++) {
              const op = api.LLVMGetOperand(inst, i);
              if (op === null) continue;
              const h = high(op);
              const l = low(op);
              const slot = values.find(h, l);
              const state = values.state[slot];
              if (state === SEEN) continue;
              if (state === REPLACE) {
                api.LLVMSetOperand(inst, i, di.asValue(replacementFor(slot)));
                drain();
                continue;
              }
              values.fill(slot, h, l, SEEN);
              // Values, and metadata wrapping values, are not nodes; ValueAsMetadata would create
              // wrappers for them, so ask IsAMDNode first.
              if (api.LLVMIsAMDNode(op) === null) continue;
              const opMd = api.LLVMValueAsMetadata(op);
              stackValue.push(op);
              stackMd.push(opMd);
              stackKind.push(api.LLVMGetMetadataKind(opMd));
              drain();
            }
            attachments(api.LLVMInstructionGetAllMetadataOtherThanDebugLoc(inst, entryCount));
          }
          if (recordApi) {
            for (let r = recordApi.first(inst); r !== null; r = recordApi.next(r)) {
              stats.debugRecords++;
              const rloc = recordApi.loc(r);
              if (rloc !== null && rloc !== lastLoc) enterRoot(rloc, MetadataKind.DILocation);
              if (recordApi.kind(r) !== DbgRecordKind.Label) enterRoot(recordApi.variable(r), MetadataKind.DILocalVariable);
            }
          }
        }
      }
    }
  } finally {
    if (convertedToIntrinsics) api.LLVMSetIsNewDbgInfoFormat!(m, 1);
  }
  return stats;
}

export interface LocalizedSubprograms {
  /** Names of the functions whose subprogram was replaced. */
  changed: string[];
  /** Old subprogram (MetadataAsValue) → its local copy; the walk repoints the remaining references. */
  replacements: Map<bigint, MetadataRef>;
  /**
   * Compile units (MetadataAsValue) of replaced subprograms that had Key Instructions enabled
   * (clang >= 21 at -O1 and up). The copies cannot have it, so the walk removes the atoms from
   * the locations of these units' functions, or the module would fail verification.
   */
  keyInstructionUnits: Set<bigint>;
}

/**
 * Whether a subprogram has Key Instructions enabled. The flag is not an operand and the C API
 * has no getter, so the node is printed (about 10 µs; done once per compile unit).
 */
function hasKeyInstructions(di: DebugInfo, sp: ValueRef): boolean {
  const { api } = di.lib;
  const text = api.LLVMPrintValueToString(sp);
  try {
    return decodeCString(text).includes('keyInstructions: true');
  } finally {
    api.LLVMDisposeMessage(text);
  }
}

/**
 * Step A: gives each function a copy of its DISubprogram marked local-to-unit, so the BPF
 * backend emits its BTF FUNC as `static`: the verifier then checks it in its caller's context
 * instead of as a global function with its own rules. Only the function's own link is set here;
 * every other reference to the old node (scopes of locations, variables, lexical blocks) is
 * repointed by the walk through the returned `replacements`.
 */
export function makeSubprogramsLocal(di: DebugInfo, m: ModuleRef, fns: ValueRef[]): LocalizedSubprograms {
  const { api } = di.lib;
  const sp = di.layout.subprogram;
  const replacements = new Map<bigint, MetadataRef>();
  const changed: string[] = [];
  const keyInstructionUnits = new Set<bigint>();
  if (fns.length === 0) return { changed, replacements, keyInstructionUnits };
  /** Compile units already checked for Key Instructions (LLVM >= 21 has them). */
  const unitsChecked = new Set<bigint>();
  const checkUnits = di.lib.version.major >= 21;
  const builder = api.LLVMCreateDIBuilder(m);
  try {
    for (const f of fns) {
      const old = api.LLVMGetSubprogram(f);
      if (old === null) continue;
      const oldValue = di.asValue(old);
      const already = replacements.get(oldValue);
      if (already !== undefined) {
        api.LLVMSetSubprogram(f, already);
        continue;
      }
      const ops = di.operands(oldValue);
      const md = (i: number) => (ops[i] ? di.asMetadata(ops[i] as ValueRef) : null);
      const name = rawText(di.mdStringRaw(ops[sp.name] ?? null));
      const linkageName = rawText(di.mdStringRaw(ops[sp.linkageName] ?? null));
      const line = api.LLVMDISubprogramGetLine(old);
      // Flags are not readable through the C API (LLVMDITypeGetFlags on a subprogram returns
      // its line number); Prototyped is what clang and rustc set for these functions.
      const created = api.LLVMDIBuilderCreateFunction(
        builder,
        md(sp.scope),
        name,
        Buffer.byteLength(name),
        linkageName,
        Buffer.byteLength(linkageName),
        api.LLVMDIScopeGetFile(old),
        line,
        md(sp.type),
        1,
        1,
        line,
        DIFlag.Prototyped,
        1,
      );
      api.LLVMDIBuilderFinalizeSubprogram(builder, created);
      api.LLVMSetSubprogram(f, created);
      const createdValue = di.asValue(created);
      const unit = md(sp.unit);
      if (unit !== null) di.setOperand(createdValue, sp.unit, unit);
      const unitValue = ops[sp.unit];
      if (checkUnits && unitValue && !unitsChecked.has(unitValue)) {
        unitsChecked.add(unitValue);
        if (hasKeyInstructions(di, oldValue)) keyInstructionUnits.add(unitValue);
      }
      // Local variables (parameter names in BTF) move to the new node; the old one keeps an
      // empty list so LLVM does not count it as an abstract subprogram with variables.
      const retained = md(sp.retainedNodes);
      if (retained !== null) di.setOperand(createdValue, sp.retainedNodes, retained);
      di.setOperand(oldValue, sp.retainedNodes, di.tuple([]));
      replacements.set(oldValue, created);
      changed.push(name);
    }
  } finally {
    api.LLVMDisposeDIBuilder(builder);
  }
  return { changed, replacements, keyInstructionUnits };
}

export interface SanitizeReport extends WalkStats {
  /**
   * `all`: every rule ran. `c`: the debug info is clang's C (`isClangC`), so only the references
   * to replaced subprograms were repointed, and nothing was walked when there were none.
   */
  rules: 'all' | 'c';
  /** Data-carrying enums emptied (their BTF is an empty STRUCT), by original name, first seen first. */
  emptiedEnums: string[];
  /** Type and subprogram names rewritten by the `_<HEX>_` rule. */
  renamed: number;
  /** Pointer types whose name was removed. */
  unnamedPointers: number;
  /** Composites whose members were reordered by offset or filtered to members. */
  reorderedComposites: number;
}

interface Member {
  md: MetadataRef;
  offset: number;
  index: number;
}

/**
 * Step B: one walk that repoints the replaced subprograms of step A (and drops Key Instructions
 * atoms where step A asks for it) and applies the node rules:
 *  - DICompositeType struct/union, unless its flags are exactly FwdDecl: a data-carrying enum
 *    (an element is a DW_TAG_variant_part) gets no elements, so BTF has an empty STRUCT; any
 *    other keeps only its DIDerivedType elements, sorted by offset (the kernel needs ascending
 *    offsets); a name is sanitized;
 *  - DIDerivedType pointer: the name is removed (the kernel rejects named PTR);
 *  - DISubprogram: the name is sanitized (the linkage name is left alone).
 */
export function sanitizeDebugInfo(di: DebugInfo, m: ModuleRef, local?: LocalizedSubprograms, live?: ReadonlySet<bigint>): SanitizeReport {
  const { api } = di.lib;
  const layout = di.layout;
  const emptied = new Set<string>();
  let renamed = 0;
  let unnamedPointers = 0;
  let reorderedComposites = 0;
  let emptyString: MetadataRef | undefined;
  let emptyTuple: MetadataRef | undefined;

  const rename = (node: ValueRef, index: number, name: RawString): boolean => {
    const sanitized = sanitizedName(name);
    if (sanitized === undefined) return false;
    di.setOperand(node, index, di.mdString(sanitized));
    renamed++;
    return true;
  };

  const composite = (node: ValueRef, md: MetadataRef, ops: OperandView): boolean => {
    const tag = api.LLVMGetDINodeTag(md);
    if (tag !== DwarfTag.structureType && tag !== DwarfTag.unionType) return false;
    if (api.LLVMDITypeGetFlags(md) === DIFlag.FwdDecl) return false;
    let changed = false;
    const elements = layout.compositeElements < ops.length ? ops.get(layout.compositeElements) : 0n;
    if (elements) {
      const items = di.operands(elements as ValueRef);
      const members: Member[] = [];
      let dataCarrying = false;
      let present = 0;
      for (const item of items) {
        if (item === 0n) continue;
        present++;
        const itemMd = api.LLVMValueAsMetadata(item as ValueRef);
        const kind = api.LLVMGetMetadataKind(itemMd);
        if (kind === MetadataKind.DIDerivedType) {
          members.push({ md: itemMd, offset: Number(api.LLVMDITypeGetOffsetInBits(itemMd)), index: members.length });
        } else if (kind === MetadataKind.DICompositeType && api.LLVMGetDINodeTag(itemMd) === DwarfTag.variantPart) {
          dataCarrying = true;
          break;
        }
      }
      if (dataCarrying) {
        emptied.add(rawText(di.typeNameRaw(md)));
        emptyTuple ??= di.tuple([]);
        di.setOperand(node, layout.compositeElements, emptyTuple);
        changed = true;
      } else {
        members.sort((a, b) => a.offset - b.offset || a.index - b.index);
        const reordered = members.some((mem, i) => mem.index !== i);
        if (reordered || members.length !== present) {
          di.setOperand(node, layout.compositeElements, di.tuple(members.map((mem) => mem.md)));
          reorderedComposites++;
          changed = true;
        }
      }
    }
    if (rename(node, layout.typeName, di.typeNameRaw(md))) changed = true;
    return changed;
  };

  const stats = walkModuleMetadata(di, m, {
    replacements: local?.replacements,
    dropAtomsInUnits: local?.keyInstructionUnits,
    live,
    node(node, md, kind, ops) {
      switch (kind) {
        case MetadataKind.DICompositeType:
          return composite(node, md, ops);
        case MetadataKind.DIDerivedType: {
          if (api.LLVMGetDINodeTag(md) !== DwarfTag.pointerType) return false;
          if (di.typeNameRaw(md).len === 0) return false;
          emptyString ??= di.mdString('');
          di.setOperand(node, layout.typeName, emptyString);
          unnamedPointers++;
          return true;
        }
        case MetadataKind.DISubprogram: {
          return rename(node, layout.subprogram.name, di.mdStringRaw(layout.subprogram.name < ops.length ? ops.get(layout.subprogram.name) : null));
        }
        default:
          return false;
      }
    },
  });
  return { ...stats, rules: 'all', emptiedEnums: [...emptied], renamed, unnamedPointers, reorderedComposites };
}

/**
 * Step B for clang's C (`isClangC`): none of the node rules can change anything in C debug info
 * (C names are identifiers, clang names no pointer, lists only members, in declaration order, at
 * ascending offsets, and emits no variant parts), so the walk only repoints the subprograms that
 * step A replaced (dropping Key Instructions atoms where step A asks for it), and does not enter
 * file-scope types, which cannot reach a subprogram. Without replacements nothing is walked.
 *
 * One thing differs from `sanitizeDebugInfo`: a C name that is not a kernel identifier (`$` or
 * non-ASCII characters, which clang accepts in identifiers, or more than 128 bytes) stays as
 * clang wrote it, as in clang's own object.
 */
export function repointSubprograms(di: DebugInfo, m: ModuleRef, local?: LocalizedSubprograms, live?: ReadonlySet<bigint>): SanitizeReport {
  const untouched = { rules: 'c' as const, emptiedEnums: [], renamed: 0, unnamedPointers: 0, reorderedComposites: 0 };
  if (local === undefined || local.replacements.size === 0) return { ...noWalk(), ...untouched };
  const stats = walkModuleMetadata(di, m, {
    replacements: local.replacements,
    dropAtomsInUnits: local.keyInstructionUnits,
    live,
    skipFileScopeTypes: true,
  });
  return { ...stats, ...untouched };
}
