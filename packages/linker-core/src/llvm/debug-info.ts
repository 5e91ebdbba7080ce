/**
 * Debug-info metadata access. This is the only place that knows raw MDNode operand positions,
 * which are LLVM-internal and differ between versions.
 */
import { decodeString } from './api';
import type { LlvmContext } from './context';
import type { LlvmLibrary } from './library';
import { basicBlocks, functions, globalVariables, instructions } from './module';
import type { MetadataEntriesRef, MetadataRef, ModuleRef, ValueRef } from './types';

/** Raw operand indexes of the debug-info nodes we read or rewrite. */
export interface DiOperandLayout {
  typeName: number;
  compositeElements: number;
  derivedBaseType: number;
  subprogram: { scope: number; name: number; linkageName: number; type: number; unit: number; retainedNodes: number };
}

/** LLVM 21 inserted operands into DICompositeType and DIDerivedType (elements 4 → 6, baseType 3 → 5). */
export function diOperandLayout(major: number): DiOperandLayout {
  const newer = major >= 21;
  return {
    typeName: 2,
    compositeElements: newer ? 6 : 4,
    derivedBaseType: newer ? 5 : 3,
    subprogram: { scope: 1, name: 2, linkageName: 3, type: 4, unit: 5, retainedNodes: 7 },
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
} as const;

export const DwarfTag = {
  enumerationType: 0x04,
  pointerType: 0x0f,
  structureType: 0x13,
  unionType: 0x17,
  variantPart: 0x33,
} as const;

export const DIFlag = { FwdDecl: 4, Prototyped: 256 } as const;

/** Typed operand access on metadata nodes (seen through MetadataAsValue). */
export class DebugInfo {
  readonly layout: DiOperandLayout;

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

  isNode(v: ValueRef): boolean {
    return this.lib.api.LLVMIsAMDNode(v) !== null;
  }

  kind(node: ValueRef): number {
    return this.lib.api.LLVMGetMetadataKind(this.asMetadata(node));
  }

  operand(node: ValueRef, i: number): ValueRef | null {
    return this.lib.api.LLVMGetOperand(node, i);
  }

  operandMetadata(node: ValueRef, i: number): MetadataRef | null {
    const v = this.operand(node, i);
    return v === null ? null : this.asMetadata(v);
  }

  operandCount(node: ValueRef): number {
    return this.lib.api.LLVMGetNumOperands(node);
  }

  /** The text of an MDString operand ('' when absent). */
  stringOperand(node: ValueRef, i: number): string {
    const v = this.operand(node, i);
    if (v === null || this.lib.api.LLVMIsAMDString(v) === null) return '';
    const len: [number | null] = [0];
    const p = this.lib.api.LLVMGetMDString(v, len);
    return decodeString(p, len[0] ?? 0);
  }

  setOperand(node: ValueRef, i: number, md: MetadataRef): void {
    this.lib.api.LLVMReplaceMDNodeOperandWith(node, i, md);
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

function* metadataEntries(lib: LlvmLibrary, entries: MetadataEntriesRef | null, count: number): Generator<MetadataRef> {
  if (entries === null) return;
  try {
    for (let i = 0; i < count; i++) yield lib.api.LLVMValueMetadataEntriesGetMetadata(entries, i);
  } finally {
    lib.api.LLVMDisposeValueMetadataEntries(entries);
  }
}

export interface MetadataVisitor {
  /**
   * Called for an operand before it is entered; returning a metadata ref replaces the operand
   * (e.g. an old subprogram by its local copy) and the replacement is not walked.
   */
  replace?(operand: ValueRef): MetadataRef | undefined;
  /** Called once per MDNode, before its operands are walked. */
  node?(node: ValueRef, kind: number): void;
}

/**
 * Depth-first walk over every metadata node reachable from the module's globals, functions,
 * instructions and their attachments; each node is visited once (MetadataAsValue is uniqued,
 * so the value pointer identifies the node).
 */
export function walkModuleMetadata(di: DebugInfo, m: ModuleRef, visitor: MetadataVisitor): void {
  const { lib } = di;
  const { api } = lib;
  const visited = new Set<bigint>();
  const stack: ValueRef[] = [];

  const enter = (root: ValueRef) => {
    stack.push(root);
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (visited.has(node)) continue;
      visited.add(node);
      visitor.node?.(node, di.kind(node));
      const n = di.operandCount(node);
      for (let i = 0; i < n; i++) {
        const op = api.LLVMGetOperand(node, i);
        if (op === null || api.LLVMIsAMDNode(op) === null) continue;
        const replacement = visitor.replace?.(op);
        if (replacement !== undefined) {
          di.setOperand(node, i, replacement);
          continue;
        }
        if (!visited.has(op)) stack.push(op);
      }
    }
  };
  const enterMetadata = (md: MetadataRef | null) => {
    if (md === null) return;
    const v = di.asValue(md);
    if (api.LLVMIsAMDNode(v) !== null) enter(v);
  };

  const count: [number | null] = [0];
  for (const g of globalVariables(lib, m)) {
    for (const md of metadataEntries(lib, api.LLVMGlobalCopyAllMetadata(g, count), count[0] ?? 0)) enterMetadata(md);
  }
  for (const f of functions(lib, m)) {
    for (const md of metadataEntries(lib, api.LLVMGlobalCopyAllMetadata(f, count), count[0] ?? 0)) enterMetadata(md);
    for (const b of basicBlocks(lib, f)) {
      for (const inst of instructions(lib, b)) {
        const loc = api.LLVMInstructionGetDebugLoc(inst);
        if (loc !== null) {
          const locValue = di.asValue(loc);
          const replacement = visitor.replace?.(locValue);
          if (replacement !== undefined) api.LLVMInstructionSetDebugLoc(inst, replacement);
          else enter(locValue);
        }
        const n = api.LLVMGetNumOperands(inst);
        for (let i = 0; i < n; i++) {
          const op = api.LLVMGetOperand(inst, i);
          if (op !== null && api.LLVMIsAMDNode(op) !== null) {
            const replacement = visitor.replace?.(op);
            if (replacement !== undefined) api.LLVMSetOperand(inst, i, di.asValue(replacement));
            else enter(op);
          }
        }
        for (const md of metadataEntries(lib, api.LLVMInstructionGetAllMetadataOtherThanDebugLoc(inst, count), count[0] ?? 0)) {
          enterMetadata(md);
        }
      }
    }
  }
}

/**
 * Gives each function a copy of its DISubprogram marked local-to-unit, so the BPF backend
 * emits its BTF FUNC as `static`: the verifier then checks it in its caller's context instead
 * of as a global function with its own rules. References to the old nodes are repointed.
 * Returns the names of the functions changed.
 */
export function makeSubprogramsLocal(di: DebugInfo, m: ModuleRef, fns: ValueRef[]): string[] {
  const { api } = di.lib;
  const sp = di.layout.subprogram;
  const replacements = new Map<bigint, MetadataRef>();
  const changed: string[] = [];
  const builder = api.LLVMCreateDIBuilder(m);
  try {
    for (const f of fns) {
      const old = api.LLVMGetSubprogram(f);
      if (old === null) continue;
      const oldValue = di.asValue(old);
      if (replacements.has(oldValue)) continue;
      const name = di.stringOperand(oldValue, sp.name);
      const linkageName = di.stringOperand(oldValue, sp.linkageName);
      const line = api.LLVMDISubprogramGetLine(old);
      // Flags are not readable through the C API (LLVMDITypeGetFlags on a subprogram returns
      // its line number); Prototyped is what clang and rustc set for these functions.
      const created = api.LLVMDIBuilderCreateFunction(
        builder,
        di.operandMetadata(oldValue, sp.scope),
        name,
        Buffer.byteLength(name),
        linkageName,
        Buffer.byteLength(linkageName),
        api.LLVMDIScopeGetFile(old),
        line,
        di.operandMetadata(oldValue, sp.type),
        1,
        1,
        line,
        DIFlag.Prototyped,
        1,
      );
      api.LLVMDIBuilderFinalizeSubprogram(builder, created);
      api.LLVMSetSubprogram(f, created);
      const createdValue = di.asValue(created);
      const unit = di.operandMetadata(oldValue, sp.unit);
      if (unit !== null) di.setOperand(createdValue, sp.unit, unit);
      // Local variables (parameter names in BTF) move to the new node; the old one keeps an
      // empty list so LLVM does not count it as an abstract subprogram with variables.
      const retained = di.operandMetadata(oldValue, sp.retainedNodes);
      if (retained !== null) di.setOperand(createdValue, sp.retainedNodes, retained);
      di.setOperand(oldValue, sp.retainedNodes, di.tuple([]));
      replacements.set(oldValue, created);
      changed.push(name);
    }
  } finally {
    api.LLVMDisposeDIBuilder(builder);
  }
  if (replacements.size > 0) {
    walkModuleMetadata(di, m, { replace: (op) => replacements.get(op) });
  }
  return changed;
}
