/**
 * Debug-info types read into plain data: what a pointer points to, a struct's or union's members
 * with their offsets, an array's element type and length. The CO-RE stage maps byte offsets to
 * member paths with it. Operand positions come from `diOperandLayout` (debug-info.ts); nodes are
 * read lazily and cached, because a kernel type graph reachable from one struct can be large.
 */
import { DebugInfo, MetadataKind, rawText } from './debug-info';
import type { MetadataRef, ValueRef } from './types';

export type DiType = DiComposite | DiArray | DiPointer | DiScalar | DiOther;

export interface DiComposite {
  kind: 'struct' | 'union';
  name: string;
  bits: number;
  md: MetadataRef;
  /** The members, in the order of the node's elements (their index is the BTF member index). */
  members(): DiMember[];
}

export interface DiMember {
  name: string;
  index: number;
  offsetBits: number;
  bits: number;
  bitField: boolean;
  md: MetadataRef;
  type(): DiType;
}

export interface DiArray {
  kind: 'array';
  bits: number;
  md: MetadataRef;
  element(): DiType;
  /** Elements (size / element size; 0 for an empty or flexible array). */
  count(): number;
}

export interface DiPointer {
  kind: 'pointer';
  bits: number;
  md: MetadataRef;
  pointee(): DiType | undefined;
}

export interface DiScalar {
  kind: 'scalar';
  name: string;
  bits: number;
  md: MetadataRef;
}

export interface DiOther {
  kind: 'other';
  bits: number;
  md: MetadataRef;
}

const TAG = {
  arrayType: 0x01,
  classType: 0x02,
  enumerationType: 0x04,
  member: 0x0d,
  pointerType: 0x0f,
  referenceType: 0x10,
  structureType: 0x13,
  typedef: 0x16,
  unionType: 0x17,
  constType: 0x26,
  volatileType: 0x35,
  restrictType: 0x37,
  rvalueReferenceType: 0x42,
  atomicType: 0x47,
} as const;
const TRANSPARENT_TAGS: ReadonlySet<number> = new Set([TAG.typedef, TAG.constType, TAG.volatileType, TAG.restrictType, TAG.atomicType]);
const POINTER_TAGS: ReadonlySet<number> = new Set([TAG.pointerType, TAG.referenceType, TAG.rvalueReferenceType]);
/** llvm/IR/DebugInfoFlags.def: DIFlagBitField (1 << 19). */
const FLAG_BIT_FIELD = 1 << 19;
/** DIVariable operands: scope, name, file, type (the same in LLVM 19 to 22). */
const VARIABLE_TYPE = 3;

export class DiTypes {
  private cache = new Map<bigint, DiType>();

  constructor(readonly di: DebugInfo) {}

  /** The type of a DILocalVariable (or DIGlobalVariable), with typedefs and qualifiers skipped. */
  variableType(variable: MetadataRef): DiType | undefined {
    const ops = this.di.operands(this.di.asValue(variable));
    const t = ops[VARIABLE_TYPE];
    return t ? this.type(this.di.asMetadata(t as ValueRef)) : undefined;
  }

  /** The type a node describes, with typedefs and qualifiers skipped. */
  type(md: MetadataRef): DiType {
    const key = md as bigint;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const t = this.read(md, 0);
    this.cache.set(key, t);
    return t;
  }

  private baseType(md: MetadataRef): MetadataRef | null {
    const ops = this.di.operands(this.di.asValue(md));
    const b = ops[this.di.layout.derivedBaseType];
    return b ? this.di.asMetadata(b as ValueRef) : null;
  }

  private bits(md: MetadataRef): number {
    return Number(this.di.lib.api.LLVMDITypeGetSizeInBits(md));
  }

  private name(md: MetadataRef): string {
    return rawText(this.di.typeNameRaw(md));
  }

  private read(md: MetadataRef, depth: number): DiType {
    const { api } = this.di.lib;
    const kind = api.LLVMGetMetadataKind(md);
    if (kind === MetadataKind.DIBasicType) return { kind: 'scalar', name: this.name(md), bits: this.bits(md), md };
    if (kind !== MetadataKind.DIDerivedType && kind !== MetadataKind.DICompositeType) return { kind: 'other', bits: 0, md };
    const tag = this.di.tag(md);
    if (TRANSPARENT_TAGS.has(tag)) {
      const base = this.baseType(md);
      if (!base || depth > 64) return { kind: 'other', bits: this.bits(md), md };
      return this.read(base, depth + 1);
    }
    if (POINTER_TAGS.has(tag)) {
      const base = this.baseType(md);
      return { kind: 'pointer', bits: this.bits(md) || 64, md, pointee: () => (base ? this.type(base) : undefined) };
    }
    if (tag === TAG.enumerationType) return { kind: 'scalar', name: this.name(md), bits: this.bits(md), md };
    if (tag === TAG.arrayType) {
      const bits = this.bits(md);
      const base = this.baseType(md);
      const element = () => (base ? this.type(base) : ({ kind: 'other', bits: 0, md } as DiOther));
      return {
        kind: 'array',
        bits,
        md,
        element,
        count: () => {
          const e = element().bits;
          return e > 0 ? Math.floor(bits / e) : 0;
        },
      };
    }
    if (tag === TAG.structureType || tag === TAG.classType || tag === TAG.unionType) {
      let members: DiMember[] | undefined;
      return {
        kind: tag === TAG.unionType ? 'union' : 'struct',
        name: this.name(md),
        bits: this.bits(md),
        md,
        members: () => (members ??= this.members(md)),
      };
    }
    return { kind: 'other', bits: this.bits(md), md };
  }

  private members(md: MetadataRef): DiMember[] {
    const { api } = this.di.lib;
    const ops = this.di.operands(this.di.asValue(md));
    const elements = ops[this.di.layout.compositeElements];
    if (!elements) return [];
    const out: DiMember[] = [];
    const list = this.di.operands(elements as ValueRef);
    list.forEach((e, index) => {
      if (!e) return;
      const m = this.di.asMetadata(e as ValueRef);
      if (api.LLVMGetMetadataKind(m) !== MetadataKind.DIDerivedType || this.di.tag(m) !== TAG.member) return;
      const base = this.baseType(m);
      let type: DiType | undefined;
      out.push({
        name: this.name(m),
        index,
        offsetBits: Number(api.LLVMDITypeGetOffsetInBits(m)),
        bits: this.bits(m),
        bitField: (api.LLVMDITypeGetFlags(m) & FLAG_BIT_FIELD) !== 0,
        md: m,
        type: () => (type ??= base ? this.type(base) : { kind: 'other', bits: 0, md: m }),
      });
    });
    return out;
  }
}
