/**
 * Pointer types of the LLVM C API. koffi 3 represents pointers as bigint; the brands keep a
 * context from being passed where a module is expected. `null` is the C NULL.
 */
declare const brand: unique symbol;
type Ref<B extends string> = bigint & { readonly [brand]: B };

export type ContextRef = Ref<'Context'>;
export type ModuleRef = Ref<'Module'>;
export type ValueRef = Ref<'Value'>;
export type MetadataRef = Ref<'Metadata'>;
export type BasicBlockRef = Ref<'BasicBlock'>;
export type MemoryBufferRef = Ref<'MemoryBuffer'>;
export type TargetRef = Ref<'Target'>;
export type TargetMachineRef = Ref<'TargetMachine'>;
export type PassBuilderOptionsRef = Ref<'PassBuilderOptions'>;
export type ErrorRef = Ref<'Error'>;
export type DIBuilderRef = Ref<'DIBuilder'>;
export type BuilderRef = Ref<'Builder'>;
export type DiagnosticInfoRef = Ref<'DiagnosticInfo'>;
export type MetadataEntriesRef = Ref<'ValueMetadataEntries'>;
export type DbgRecordRef = Ref<'DbgRecord'>;
export type UseRef = Ref<'Use'>;
export type TypeRef = Ref<'Type'>;
export type AttributeRef = Ref<'Attribute'>;
/** A C string owned by LLVM (free with LLVMDisposeMessage / LLVMDisposeErrorMessage). */
export type CStringRef = Ref<'CString'>;
/** A pointer into LLVM-owned bytes (not NUL-terminated; comes with a length). */
export type BytesRef = Ref<'Bytes'>;

export interface LlvmVersion {
  major: number;
  minor: number;
  patch: number;
}

export function formatVersion(v: LlvmVersion): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

export function compareVersions(a: LlvmVersion, b: LlvmVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** llvm-c/Core.h LLVMLinkage */
export const Linkage = { External: 0, AvailableExternally: 1, LinkOnceAny: 2, LinkOnceODR: 3, WeakAny: 5, WeakODR: 6, Appending: 7, Internal: 8, Private: 9, ExternalWeak: 12, Common: 14 } as const;
/** llvm-c/Core.h LLVMVisibility */
export const Visibility = { Default: 0, Hidden: 1, Protected: 2 } as const;
/** llvm-c/Core.h LLVMDiagnosticSeverity */
export const DiagnosticSeverity = { Error: 0, Warning: 1, Remark: 2, Note: 3 } as const;
/** llvm-c/TargetMachine.h */
export const CodeGenFileType = { Assembly: 0, Object: 1 } as const;
export const CodeGenOptLevel = { None: 0, Less: 1, Default: 2, Aggressive: 3 } as const;
export const RelocMode = { Default: 0 } as const;
export const CodeModel = { Default: 0 } as const;
/** llvm-c/Core.h LLVMAttributeFunctionIndex (~0u) */
export const AttributeFunctionIndex = 0xffffffff;
