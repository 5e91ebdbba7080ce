/**
 * The raw operand positions of `diOperandLayout`, checked by reading real clang-19/clang-22
 * debug info back through the loaded libLLVM of the same version: each position must hold the
 * node kind and content the sanitizer expects, and the other version's position must not.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlvmContext } from '../../src/llvm/context';
import { DebugInfo, DwarfTag, MetadataKind, diOperandLayout, rawText } from '../../src/llvm/debug-info';
import { loadLlvmLibrary } from '../../src/llvm/library';
import { functions, parseBitcode, valueName } from '../../src/llvm/module';
import type { ModuleRef, ValueRef } from '../../src/llvm/types';
import { LLVM_MAJORS, compileC, makeTempDir, writeSource } from '../support/toolchain';

const SOURCE = `
struct pair { int first; char *second; };
__attribute__((noinline)) int take(struct pair *p, int scale) {
  int local = p->first * scale;
  return local + p->second[0];
}
`;

describe.each(LLVM_MAJORS)('LLVM %i', (major) => {
  let ctx: LlvmContext;
  let di: DebugInfo;
  let m: ModuleRef;
  const layout = diOperandLayout(major);
  const other = diOperandLayout(major === 19 ? 22 : 19);

  beforeAll(() => {
    const dir = makeTempDir(`bpfl-layout-${major}-`);
    const bc = compileC({ major, source: writeSource(dir, 'layout.c', SOURCE), out: join(dir, 'layout.bc'), mode: 'bc' });
    const lib = loadLlvmLibrary(`/usr/lib/llvm-${major}/lib/libLLVM.so.${major}.1`);
    expect(lib.version.major).toBe(major);
    ctx = new LlvmContext(lib);
    di = new DebugInfo(lib, ctx);
    m = parseBitcode(ctx, readFileSync(bc), 'layout.bc');
  });
  afterAll(() => {
    if (m !== undefined) ctx.lib.api.LLVMDisposeModule(m);
    ctx?.dispose();
  });

  const op = (node: ValueRef, i: number) => {
    const v = di.operands(node)[i];
    return v ? (v as ValueRef) : null;
  };
  const kindOf = (v: ValueRef | null) => (v === null ? -1 : di.kind(v));
  const subprogram = () => {
    const f = [...functions(ctx.lib, m)].find((fn) => valueName(ctx.lib, fn) === 'take')!;
    return di.asValue(ctx.lib.api.LLVMGetSubprogram(f)!);
  };

  it('DISubprogram: scope, name, linkageName, type, unit, retainedNodes', () => {
    const sp = subprogram();
    expect(di.kind(sp)).toBe(MetadataKind.DISubprogram);
    const s = layout.subprogram;
    expect(kindOf(op(sp, s.scope))).toBe(MetadataKind.DIFile);
    expect(di.stringOperand(sp, s.name)).toBe('take');
    expect(op(sp, s.linkageName)).toBeNull(); // C has none
    expect(kindOf(op(sp, s.type))).toBe(MetadataKind.DISubroutineType);
    expect(kindOf(op(sp, s.unit))).toBe(MetadataKind.DICompileUnit);
    const retained = op(sp, s.retainedNodes)!;
    expect(di.kind(retained)).toBe(MetadataKind.MDTuple);
    const vars = di.operands(retained).map((v) => v as ValueRef);
    expect(vars.map((v) => di.kind(v))).toEqual(vars.map(() => MetadataKind.DILocalVariable));
    expect(vars.map((v) => di.stringOperand(v, 1))).toEqual(['p', 'scale', 'local']);
  });

  it('DIDerivedType baseType and DICompositeType elements', () => {
    const sp = subprogram();
    const fnType = op(sp, layout.subprogram.type)!;
    // DISubroutineType: types is the last operand; [return, params...]
    const typesOps = di.operands(fnType);
    const types = di.operands(typesOps[typesOps.length - 1] as ValueRef);
    const ptr = types[1] as ValueRef;
    expect(di.kind(ptr)).toBe(MetadataKind.DIDerivedType);
    expect(di.tag(di.asMetadata(ptr))).toBe(DwarfTag.pointerType);
    const struct = op(ptr, layout.derivedBaseType)!;
    expect(di.kind(struct)).toBe(MetadataKind.DICompositeType);
    expect(di.tag(di.asMetadata(struct))).toBe(DwarfTag.structureType);
    expect(di.stringOperand(struct, layout.typeName)).toBe('pair');
    expect(rawText(di.typeNameRaw(di.asMetadata(struct)))).toBe('pair');
    const elements = op(struct, layout.compositeElements)!;
    expect(di.kind(elements)).toBe(MetadataKind.MDTuple);
    const members = di.operands(elements).map((v) => v as ValueRef);
    expect(members.map((v) => di.stringOperand(v, layout.typeName))).toEqual(['first', 'second']);
    expect(members.map((v) => Number(ctx.lib.api.LLVMDITypeGetOffsetInBits(di.asMetadata(v))))).toEqual([0, 64]);
    // The other version's positions hold something else.
    expect(kindOf(op(struct, other.compositeElements))).not.toBe(MetadataKind.MDTuple);
    expect(op(ptr, other.derivedBaseType)).not.toBe(struct);
  });
});
