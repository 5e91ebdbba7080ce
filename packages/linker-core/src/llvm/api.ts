/**
 * koffi declarations of the LLVM C API functions the linker uses, grouped by purpose. Every
 * function here exists in LLVM 19 unless marked optional (resolved only when present).
 * Nothing outside llvm/ imports koffi for LLVM.
 */
import koffi, { type LibraryHandle, type TypeObject } from 'koffi';
import type {
  AttributeRef,
  BasicBlockRef,
  BuilderRef,
  BytesRef,
  ContextRef,
  CStringRef,
  DbgRecordRef,
  UseRef,
  DIBuilderRef,
  DiagnosticInfoRef,
  ErrorRef,
  MemoryBufferRef,
  MetadataEntriesRef,
  MetadataRef,
  ModuleRef,
  PassBuilderOptionsRef,
  TargetMachineRef,
  TargetRef,
  TypeRef,
  ValueRef,
} from './types';

type Out<T> = [T | null];

/** Prototypes of the callbacks LLVM calls back into. */
export const DiagnosticHandlerProto = koffi.proto('void BpfLinkerDiagnosticHandler(void *info, void *ctx)');
export const FatalErrorHandlerProto = koffi.proto('void BpfLinkerFatalErrorHandler(const char *reason)');

export interface LlvmApi {
  // Init and global state
  LLVMGetVersion(major: Out<number>, minor: Out<number>, patch: Out<number>): void;
  LLVMInitializeBPFTarget(): void;
  LLVMInitializeBPFTargetMC(): void;
  LLVMInitializeBPFTargetInfo(): void;
  LLVMInitializeBPFAsmPrinter(): void;
  LLVMInitializeBPFAsmParser(): void;
  LLVMInitializeBPFDisassembler(): void;
  LLVMParseCommandLineOptions(argc: number, argv: string[], overview: string): void;
  LLVMInstallFatalErrorHandler(handler: bigint): void;
  /** Back to LLVM's own handler (print, then abort), which needs no callback into JavaScript. */
  LLVMResetFatalErrorHandler(): void;

  // Context and diagnostics
  LLVMContextCreate(): ContextRef;
  LLVMContextDispose(c: ContextRef): void;
  LLVMContextSetDiagnosticHandler(c: ContextRef, handler: bigint | null, ctx: null): void;
  LLVMGetDiagInfoSeverity(info: DiagnosticInfoRef): number;
  LLVMGetDiagInfoDescription(info: DiagnosticInfoRef): CStringRef;
  LLVMDisposeMessage(msg: CStringRef): void;
  LLVMGetMDKindIDInContext(c: ContextRef, name: string, len: number): number;

  // Memory buffers
  LLVMCreateMemoryBufferWithMemoryRangeCopy(data: Uint8Array, len: number, name: string): MemoryBufferRef;
  LLVMGetBufferStart(b: MemoryBufferRef): BytesRef;
  LLVMGetBufferSize(b: MemoryBufferRef): number;
  LLVMDisposeMemoryBuffer(b: MemoryBufferRef): void;

  // Reading modules
  LLVMParseBitcodeInContext2(c: ContextRef, b: MemoryBufferRef, out: Out<ModuleRef>): number;
  /** Lazy: function bodies are read when materialized (by linking it). The module owns the buffer. */
  LLVMGetBitcodeModuleInContext2(c: ContextRef, b: MemoryBufferRef, out: Out<ModuleRef>): number;
  /** Takes ownership of the buffer. */
  LLVMParseIRInContext(c: ContextRef, b: MemoryBufferRef, out: Out<ModuleRef>, msg: Out<CStringRef>): number;

  // Modules and linking
  LLVMModuleCreateWithNameInContext(name: string, c: ContextRef): ModuleRef;
  LLVMDisposeModule(m: ModuleRef): void;
  LLVMLinkModules2(dest: ModuleRef, src: ModuleRef): number;
  LLVMGetTarget(m: ModuleRef): string;
  LLVMGetDataLayoutStr(m: ModuleRef): string;
  LLVMAddFunction(m: ModuleRef, name: string, type: TypeRef): ValueRef;
  LLVMGlobalGetValueType(v: ValueRef): TypeRef;
  LLVMGetModuleInlineAsm(m: ModuleRef, len: Out<number>): BytesRef | null;
  LLVMSetModuleInlineAsm2(m: ModuleRef, asm: string | null, len: number): void;
  LLVMStripModuleDebugInfo(m: ModuleRef): number;
  LLVMVerifyModule(m: ModuleRef, action: number, msg: Out<CStringRef>): number;
  LLVMDeleteFunction(f: ValueRef): void;
  LLVMDeleteGlobal(g: ValueRef): void;
  LLVMAddGlobal(m: ModuleRef, type: TypeRef, name: string): ValueRef;
  LLVMConstArray2(elementType: TypeRef, values: ValueRef[], count: number): ValueRef;
  LLVMSetSection(v: ValueRef, section: string): void;
  LLVMGetInitializer(g: ValueRef): ValueRef | null;
  /** NULL makes the variable a declaration. */
  LLVMSetInitializer(g: ValueRef, init: ValueRef | null): void;
  LLVMIsGlobalConstant(g: ValueRef): number;
  LLVMIsNull(v: ValueRef): number;
  LLVMCountBasicBlocks(f: ValueRef): number;
  LLVMTypeOf(v: ValueRef): TypeRef;
  LLVMGetPoison(t: TypeRef): ValueRef;
  LLVMReplaceAllUsesWith(old: ValueRef, replacement: ValueRef): void;
  LLVMInt32TypeInContext(c: ContextRef): TypeRef;
  LLVMConstInt(t: TypeRef, n: number, signExtend: number): ValueRef;
  /** `behavior`: LLVMModuleFlagBehavior (Warning = 1). */
  LLVMAddModuleFlag(m: ModuleRef, behavior: number, key: string, keyLen: number, value: MetadataRef): void;

  // Iteration
  LLVMGetFirstGlobal(m: ModuleRef): ValueRef | null;
  LLVMGetNextGlobal(v: ValueRef): ValueRef | null;
  LLVMGetFirstGlobalAlias(m: ModuleRef): ValueRef | null;
  LLVMGetNextGlobalAlias(v: ValueRef): ValueRef | null;
  LLVMGetFirstFunction(m: ModuleRef): ValueRef | null;
  LLVMGetNextFunction(v: ValueRef): ValueRef | null;
  LLVMGetFirstBasicBlock(f: ValueRef): BasicBlockRef | null;
  LLVMGetNextBasicBlock(b: BasicBlockRef): BasicBlockRef | null;
  LLVMGetFirstInstruction(b: BasicBlockRef): ValueRef | null;
  LLVMGetNextInstruction(i: ValueRef): ValueRef | null;
  LLVMCountParams(f: ValueRef): number;
  /** Data placed before a function's entry (`prefix`) or at its start (`prologue`): never valid BPF code. */
  LLVMHasPrefixData(f: ValueRef): number;
  LLVMHasPrologueData(f: ValueRef): number;
  LLVMGetParam(f: ValueRef, i: number): ValueRef;

  // Symbols and attributes
  LLVMGetValueName2(v: ValueRef, len: Out<number>): BytesRef | null;
  LLVMGetLinkage(v: ValueRef): number;
  LLVMSetLinkage(v: ValueRef, linkage: number): void;
  LLVMSetVisibility(v: ValueRef, visibility: number): void;
  LLVMIsDeclaration(v: ValueRef): number;
  LLVMGetNamedFunction(m: ModuleRef, name: string): ValueRef | null;
  LLVMGetSection(v: ValueRef): string | null;
  LLVMGetEnumAttributeKindForName(name: string, len: number): number;
  LLVMRemoveEnumAttributeAtIndex(f: ValueRef, idx: number, kind: number): void;
  LLVMRemoveCallSiteEnumAttribute(call: ValueRef, idx: number, kind: number): void;
  /** `idx` LLVMAttributeFunctionIndex (0xFFFFFFFF) for the function's own attributes ("target-cpu"). */
  LLVMGetStringAttributeAtIndex(f: ValueRef, idx: number, key: string, keyLen: number): AttributeRef | null;
  /** Not NUL-terminated: read `len` bytes. */
  LLVMGetStringAttributeValue(a: AttributeRef, len: Out<number>): BytesRef | null;

  // Value and metadata plumbing
  LLVMIsAMDNode(v: ValueRef): ValueRef | null;
  LLVMIsAMDString(v: ValueRef): ValueRef | null;
  LLVMIsAFunction(v: ValueRef): ValueRef | null;
  LLVMIsAUser(v: ValueRef): ValueRef | null;
  LLVMIsAGlobalObject(v: ValueRef): ValueRef | null;
  LLVMIsAInstruction(v: ValueRef): ValueRef | null;
  LLVMGetNumOperands(v: ValueRef): number;
  LLVMGetOperand(v: ValueRef, i: number): ValueRef | null;
  LLVMSetOperand(v: ValueRef, i: number, op: ValueRef): void;
  LLVMMetadataAsValue(c: ContextRef, md: MetadataRef): ValueRef;
  LLVMValueAsMetadata(v: ValueRef): MetadataRef;
  LLVMGetMetadataKind(md: MetadataRef): number;
  LLVMGetMDString(v: ValueRef, len: Out<number>): BytesRef | null;
  LLVMMDStringInContext2(c: ContextRef, s: Uint8Array, len: number): MetadataRef;
  LLVMMDNodeInContext2(c: ContextRef, mds: MetadataRef[] | null, count: number): MetadataRef;
  LLVMReplaceMDNodeOperandWith(v: ValueRef, i: number, md: MetadataRef): void;
  LLVMGlobalCopyAllMetadata(v: ValueRef, count: Out<number>): MetadataEntriesRef | null;
  LLVMInstructionGetAllMetadataOtherThanDebugLoc(v: ValueRef, count: Out<number>): MetadataEntriesRef | null;
  LLVMValueMetadataEntriesGetMetadata(e: MetadataEntriesRef, i: number): MetadataRef;
  LLVMValueMetadataEntriesGetKind(e: MetadataEntriesRef, i: number): number;
  LLVMDisposeValueMetadataEntries(e: MetadataEntriesRef): void;
  LLVMInstructionGetDebugLoc(v: ValueRef): MetadataRef | null;
  LLVMInstructionSetDebugLoc(v: ValueRef, md: MetadataRef | null): void;
  LLVMGetMDNodeNumOperands(v: ValueRef): number;
  /** Fills `dest` (at least LLVMGetMDNodeNumOperands entries) with the operands as values; 0n for null. */
  LLVMGetMDNodeOperands(v: ValueRef, dest: BigUint64Array): void;
  LLVMGetNamedMetadataNumOperands(m: ModuleRef, name: string): number;
  /** Fills `dest` with the operands of named metadata (`llvm.dbg.cu`) as MetadataAsValue. */
  LLVMGetNamedMetadataOperands(m: ModuleRef, name: string, dest: BigUint64Array): void;
  LLVMIsACallInst(v: ValueRef): ValueRef | null;
  /** Free with LLVMDisposeMessage. */
  LLVMPrintValueToString(v: ValueRef): CStringRef;
  LLVMGetFirstUse(v: ValueRef): UseRef | null;
  LLVMGetNextUse(u: UseRef): UseRef | null;
  LLVMGetUser(u: UseRef): ValueRef;
  LLVMGetInstructionParent(v: ValueRef): BasicBlockRef | null;
  LLVMGetBasicBlockParent(b: BasicBlockRef): ValueRef | null;
  LLVMIsAGlobalVariable(v: ValueRef): ValueRef | null;
  LLVMIsAGlobalValue(v: ValueRef): ValueRef | null;
  LLVMIsAConstant(v: ValueRef): ValueRef | null;
  LLVMGetComdat(v: ValueRef): bigint | null;

  // Debug-info readers and builders
  LLVMGetDINodeTag(md: MetadataRef): number;
  LLVMDITypeGetName(md: MetadataRef, len: Out<number>): BytesRef | null;
  LLVMDITypeGetFlags(md: MetadataRef): number;
  LLVMDITypeGetOffsetInBits(md: MetadataRef): number | bigint;
  LLVMDIScopeGetFile(md: MetadataRef): MetadataRef | null;
  LLVMDISubprogramGetLine(md: MetadataRef): number;
  LLVMDILocationGetLine(md: MetadataRef): number;
  LLVMDILocationGetColumn(md: MetadataRef): number;
  LLVMDILocationGetInlinedAt(md: MetadataRef): MetadataRef | null;
  LLVMDIBuilderCreateDebugLocation(c: ContextRef, line: number, column: number, scope: MetadataRef, inlinedAt: MetadataRef | null): MetadataRef;
  LLVMGetSubprogram(f: ValueRef): MetadataRef | null;
  LLVMSetSubprogram(f: ValueRef, sp: MetadataRef): void;
  LLVMCreateDIBuilder(m: ModuleRef): DIBuilderRef;
  LLVMDisposeDIBuilder(b: DIBuilderRef): void;
  LLVMDIBuilderFinalizeSubprogram(b: DIBuilderRef, sp: MetadataRef): void;
  LLVMDIBuilderCreateFunction(
    b: DIBuilderRef,
    scope: MetadataRef | null,
    name: string,
    nameLen: number,
    linkageName: string,
    linkageNameLen: number,
    file: MetadataRef | null,
    line: number,
    type: MetadataRef | null,
    isLocalToUnit: number,
    isDefinition: number,
    scopeLine: number,
    flags: number,
    isOptimized: number,
  ): MetadataRef;

  // Building instructions (the CO-RE access rewrite)
  LLVMCreateBuilderInContext(c: ContextRef): BuilderRef;
  LLVMPositionBuilderBefore(b: BuilderRef, inst: ValueRef): void;
  LLVMDisposeBuilder(b: BuilderRef): void;
  LLVMBuildCall2(b: BuilderRef, fnType: TypeRef, fn: ValueRef, args: ValueRef[], count: number, name: string): ValueRef;
  LLVMLookupIntrinsicID(name: string, len: number): number;
  LLVMGetIntrinsicDeclaration(m: ModuleRef, id: number, paramTypes: TypeRef[], count: number): ValueRef;
  LLVMCreateTypeAttribute(c: ContextRef, kind: number, type: TypeRef): AttributeRef;
  LLVMAddCallSiteAttribute(call: ValueRef, idx: number, a: AttributeRef): void;
  LLVMSetMetadata(inst: ValueRef, kind: number, md: ValueRef): void;
  LLVMInstructionEraseFromParent(inst: ValueRef): void;
  LLVMGetGEPSourceElementType(gep: ValueRef): TypeRef;
  LLVMIsAGetElementPtrInst(v: ValueRef): ValueRef | null;
  LLVMIsAAllocaInst(v: ValueRef): ValueRef | null;
  LLVMIsALoadInst(v: ValueRef): ValueRef | null;
  LLVMIsAStoreInst(v: ValueRef): ValueRef | null;
  LLVMIsAConstantInt(v: ValueRef): ValueRef | null;
  LLVMIsAConstantExpr(v: ValueRef): ValueRef | null;
  LLVMGetConstOpcode(v: ValueRef): number;
  LLVMConstIntGetSExtValue(v: ValueRef): number | bigint;
  LLVMGetCalledValue(call: ValueRef): ValueRef | null;
  LLVMStructTypeInContext(c: ContextRef, types: TypeRef[] | null, count: number, packed: number): TypeRef;
  LLVMArrayType2(elem: TypeRef, count: number): TypeRef;
  LLVMIntTypeInContext(c: ContextRef, bits: number): TypeRef;
  LLVMPointerTypeInContext(c: ContextRef, addressSpace: number): TypeRef;
  LLVMGetTypeKind(t: TypeRef): number;
  LLVMGetIntTypeWidth(t: TypeRef): number;
  LLVMDITypeGetSizeInBits(md: MetadataRef): number | bigint;

  // Target and optimization
  LLVMGetTargetFromTriple(triple: string, out: Out<TargetRef>, err: Out<CStringRef>): number;
  LLVMCreateTargetMachine(
    t: TargetRef,
    triple: string,
    cpu: string,
    features: string,
    level: number,
    reloc: number,
    codeModel: number,
  ): TargetMachineRef | null;
  LLVMDisposeTargetMachine(tm: TargetMachineRef): void;
  LLVMCreatePassBuilderOptions(): PassBuilderOptionsRef;
  LLVMDisposePassBuilderOptions(o: PassBuilderOptionsRef): void;
  LLVMRunPasses(m: ModuleRef, passes: string, tm: TargetMachineRef | null, o: PassBuilderOptionsRef): ErrorRef | null;
  LLVMGetErrorMessage(e: ErrorRef): CStringRef;
  LLVMDisposeErrorMessage(msg: CStringRef): void;

  // Output
  LLVMTargetMachineEmitToMemoryBuffer(
    tm: TargetMachineRef,
    m: ModuleRef,
    fileType: number,
    err: Out<CStringRef>,
    out: Out<MemoryBufferRef>,
  ): number;
  LLVMWriteBitcodeToMemoryBuffer(m: ModuleRef): MemoryBufferRef;
  LLVMPrintModuleToString(m: ModuleRef): CStringRef;
}

/** Declared only when the loaded library has them (not all of them exist in LLVM 19). */
export interface OptionalLlvmApi {
  /** LLVM >= 22: does not take ownership of the buffer. */
  LLVMParseIRInContext2?(c: ContextRef, b: MemoryBufferRef, out: Out<ModuleRef>, msg: Out<CStringRef>): number;
  /** LLVM 19-22 ("soon to be deprecated"): converts between debug records and intrinsics. */
  LLVMIsNewDbgInfoFormat?(m: ModuleRef): number;
  LLVMSetIsNewDbgInfoFormat?(m: ModuleRef, useNewFormat: number): void;
  /** Debug records (LLVM >= 21 for the full set). */
  LLVMGetFirstDbgRecord?(inst: ValueRef): DbgRecordRef | null;
  LLVMGetNextDbgRecord?(r: DbgRecordRef): DbgRecordRef | null;
  LLVMDbgRecordGetKind?(r: DbgRecordRef): number;
  LLVMDbgRecordGetDebugLoc?(r: DbgRecordRef): MetadataRef | null;
  LLVMDbgVariableRecordGetVariable?(r: DbgRecordRef): MetadataRef | null;
  LLVMDbgVariableRecordGetValue?(r: DbgRecordRef, operand: number): ValueRef | null;
  LLVMDbgVariableRecordGetExpression?(r: DbgRecordRef): MetadataRef | null;
}

const DECLARATIONS: Record<keyof LlvmApi, string> = {
  LLVMGetVersion: 'void LLVMGetVersion(_Out_ unsigned int *major, _Out_ unsigned int *minor, _Out_ unsigned int *patch)',
  LLVMInitializeBPFTarget: 'void LLVMInitializeBPFTarget()',
  LLVMInitializeBPFTargetMC: 'void LLVMInitializeBPFTargetMC()',
  LLVMInitializeBPFTargetInfo: 'void LLVMInitializeBPFTargetInfo()',
  LLVMInitializeBPFAsmPrinter: 'void LLVMInitializeBPFAsmPrinter()',
  LLVMInitializeBPFAsmParser: 'void LLVMInitializeBPFAsmParser()',
  LLVMInitializeBPFDisassembler: 'void LLVMInitializeBPFDisassembler()',
  LLVMParseCommandLineOptions: 'void LLVMParseCommandLineOptions(int argc, const char **argv, const char *overview)',
  LLVMInstallFatalErrorHandler: 'void LLVMInstallFatalErrorHandler(void *handler)',
  LLVMResetFatalErrorHandler: 'void LLVMResetFatalErrorHandler()',

  LLVMContextCreate: 'void *LLVMContextCreate()',
  LLVMContextDispose: 'void LLVMContextDispose(void *c)',
  LLVMContextSetDiagnosticHandler: 'void LLVMContextSetDiagnosticHandler(void *c, void *handler, void *ctx)',
  LLVMGetDiagInfoSeverity: 'int LLVMGetDiagInfoSeverity(void *info)',
  LLVMGetDiagInfoDescription: 'void *LLVMGetDiagInfoDescription(void *info)',
  LLVMDisposeMessage: 'void LLVMDisposeMessage(void *msg)',
  LLVMGetMDKindIDInContext: 'unsigned int LLVMGetMDKindIDInContext(void *c, const char *name, unsigned int len)',

  LLVMCreateMemoryBufferWithMemoryRangeCopy:
    'void *LLVMCreateMemoryBufferWithMemoryRangeCopy(const uint8_t *data, size_t len, const char *name)',
  LLVMGetBufferStart: 'void *LLVMGetBufferStart(void *b)',
  LLVMGetBufferSize: 'size_t LLVMGetBufferSize(void *b)',
  LLVMDisposeMemoryBuffer: 'void LLVMDisposeMemoryBuffer(void *b)',

  LLVMParseBitcodeInContext2: 'int LLVMParseBitcodeInContext2(void *c, void *b, _Out_ void **m)',
  LLVMGetBitcodeModuleInContext2: 'int LLVMGetBitcodeModuleInContext2(void *c, void *b, _Out_ void **m)',
  LLVMParseIRInContext: 'int LLVMParseIRInContext(void *c, void *b, _Out_ void **m, _Out_ void **msg)',

  LLVMModuleCreateWithNameInContext: 'void *LLVMModuleCreateWithNameInContext(const char *name, void *c)',
  LLVMDisposeModule: 'void LLVMDisposeModule(void *m)',
  LLVMLinkModules2: 'int LLVMLinkModules2(void *dest, void *src)',
  LLVMGetTarget: 'const char *LLVMGetTarget(void *m)',
  LLVMGetDataLayoutStr: 'const char *LLVMGetDataLayoutStr(void *m)',
  LLVMAddFunction: 'void *LLVMAddFunction(void *m, const char *name, void *type)',
  LLVMGlobalGetValueType: 'void *LLVMGlobalGetValueType(void *v)',
  LLVMGetModuleInlineAsm: 'void *LLVMGetModuleInlineAsm(void *m, _Out_ size_t *len)',
  LLVMSetModuleInlineAsm2: 'void LLVMSetModuleInlineAsm2(void *m, const char *asm, size_t len)',
  LLVMStripModuleDebugInfo: 'int LLVMStripModuleDebugInfo(void *m)',
  LLVMVerifyModule: 'int LLVMVerifyModule(void *m, int action, _Out_ void **msg)',
  LLVMDeleteFunction: 'void LLVMDeleteFunction(void *f)',
  LLVMDeleteGlobal: 'void LLVMDeleteGlobal(void *g)',
  LLVMAddGlobal: 'void *LLVMAddGlobal(void *m, void *type, const char *name)',
  LLVMConstArray2: 'void *LLVMConstArray2(void *elementType, void **values, uint64_t count)',
  LLVMSetSection: 'void LLVMSetSection(void *v, const char *section)',
  LLVMGetInitializer: 'void *LLVMGetInitializer(void *g)',
  LLVMSetInitializer: 'void LLVMSetInitializer(void *g, void *init)',
  LLVMIsGlobalConstant: 'int LLVMIsGlobalConstant(void *g)',
  LLVMIsNull: 'int LLVMIsNull(void *v)',
  LLVMCountBasicBlocks: 'unsigned int LLVMCountBasicBlocks(void *f)',
  LLVMTypeOf: 'void *LLVMTypeOf(void *v)',
  LLVMGetPoison: 'void *LLVMGetPoison(void *t)',
  LLVMReplaceAllUsesWith: 'void LLVMReplaceAllUsesWith(void *old, void *replacement)',
  LLVMInt32TypeInContext: 'void *LLVMInt32TypeInContext(void *c)',
  LLVMConstInt: 'void *LLVMConstInt(void *t, unsigned long long n, int signExtend)',
  LLVMAddModuleFlag: 'void LLVMAddModuleFlag(void *m, int behavior, const char *key, size_t keyLen, void *value)',

  LLVMGetFirstGlobal: 'void *LLVMGetFirstGlobal(void *m)',
  LLVMGetNextGlobal: 'void *LLVMGetNextGlobal(void *v)',
  LLVMGetFirstGlobalAlias: 'void *LLVMGetFirstGlobalAlias(void *m)',
  LLVMGetNextGlobalAlias: 'void *LLVMGetNextGlobalAlias(void *v)',
  LLVMGetFirstFunction: 'void *LLVMGetFirstFunction(void *m)',
  LLVMGetNextFunction: 'void *LLVMGetNextFunction(void *v)',
  LLVMGetFirstBasicBlock: 'void *LLVMGetFirstBasicBlock(void *f)',
  LLVMGetNextBasicBlock: 'void *LLVMGetNextBasicBlock(void *b)',
  LLVMGetFirstInstruction: 'void *LLVMGetFirstInstruction(void *b)',
  LLVMGetNextInstruction: 'void *LLVMGetNextInstruction(void *i)',
  LLVMCountParams: 'unsigned int LLVMCountParams(void *f)',
  LLVMHasPrefixData: 'int LLVMHasPrefixData(void *f)',
  LLVMHasPrologueData: 'int LLVMHasPrologueData(void *f)',
  LLVMGetParam: 'void *LLVMGetParam(void *f, unsigned int i)',

  LLVMGetValueName2: 'void *LLVMGetValueName2(void *v, _Out_ size_t *len)',
  LLVMGetLinkage: 'int LLVMGetLinkage(void *v)',
  LLVMSetLinkage: 'void LLVMSetLinkage(void *v, int linkage)',
  LLVMSetVisibility: 'void LLVMSetVisibility(void *v, int visibility)',
  LLVMIsDeclaration: 'int LLVMIsDeclaration(void *v)',
  LLVMGetNamedFunction: 'void *LLVMGetNamedFunction(void *m, const char *name)',
  LLVMGetSection: 'const char *LLVMGetSection(void *v)',
  LLVMGetEnumAttributeKindForName: 'unsigned int LLVMGetEnumAttributeKindForName(const char *name, size_t len)',
  LLVMRemoveEnumAttributeAtIndex: 'void LLVMRemoveEnumAttributeAtIndex(void *f, unsigned int idx, unsigned int kind)',
  LLVMRemoveCallSiteEnumAttribute: 'void LLVMRemoveCallSiteEnumAttribute(void *c, unsigned int idx, unsigned int kind)',
  LLVMGetStringAttributeAtIndex: 'void *LLVMGetStringAttributeAtIndex(void *f, unsigned int idx, const char *k, unsigned int kLen)',
  LLVMGetStringAttributeValue: 'void *LLVMGetStringAttributeValue(void *a, _Out_ unsigned int *len)',

  LLVMIsAMDNode: 'void *LLVMIsAMDNode(void *v)',
  LLVMIsAMDString: 'void *LLVMIsAMDString(void *v)',
  LLVMIsAFunction: 'void *LLVMIsAFunction(void *v)',
  LLVMIsAUser: 'void *LLVMIsAUser(void *v)',
  LLVMIsAGlobalObject: 'void *LLVMIsAGlobalObject(void *v)',
  LLVMIsAInstruction: 'void *LLVMIsAInstruction(void *v)',
  LLVMGetNumOperands: 'int LLVMGetNumOperands(void *v)',
  LLVMGetOperand: 'void *LLVMGetOperand(void *v, unsigned int i)',
  LLVMSetOperand: 'void LLVMSetOperand(void *v, unsigned int i, void *op)',
  LLVMMetadataAsValue: 'void *LLVMMetadataAsValue(void *c, void *md)',
  LLVMValueAsMetadata: 'void *LLVMValueAsMetadata(void *v)',
  LLVMGetMetadataKind: 'unsigned int LLVMGetMetadataKind(void *md)',
  LLVMGetMDString: 'void *LLVMGetMDString(void *v, _Out_ unsigned int *len)',
  LLVMMDStringInContext2: 'void *LLVMMDStringInContext2(void *c, const uint8_t *s, size_t len)',
  LLVMMDNodeInContext2: 'void *LLVMMDNodeInContext2(void *c, void **mds, size_t count)',
  LLVMReplaceMDNodeOperandWith: 'void LLVMReplaceMDNodeOperandWith(void *v, unsigned int i, void *md)',
  LLVMGlobalCopyAllMetadata: 'void *LLVMGlobalCopyAllMetadata(void *v, _Out_ size_t *count)',
  LLVMInstructionGetAllMetadataOtherThanDebugLoc:
    'void *LLVMInstructionGetAllMetadataOtherThanDebugLoc(void *v, _Out_ size_t *count)',
  LLVMValueMetadataEntriesGetMetadata: 'void *LLVMValueMetadataEntriesGetMetadata(void *e, unsigned int i)',
  LLVMValueMetadataEntriesGetKind: 'unsigned int LLVMValueMetadataEntriesGetKind(void *e, unsigned int i)',
  LLVMDisposeValueMetadataEntries: 'void LLVMDisposeValueMetadataEntries(void *e)',
  LLVMInstructionGetDebugLoc: 'void *LLVMInstructionGetDebugLoc(void *v)',
  LLVMInstructionSetDebugLoc: 'void LLVMInstructionSetDebugLoc(void *v, void *md)',
  LLVMGetMDNodeNumOperands: 'unsigned int LLVMGetMDNodeNumOperands(void *v)',
  LLVMGetMDNodeOperands: 'void LLVMGetMDNodeOperands(void *v, void *dest)',
  LLVMGetNamedMetadataNumOperands: 'unsigned int LLVMGetNamedMetadataNumOperands(void *m, const char *name)',
  LLVMGetNamedMetadataOperands: 'void LLVMGetNamedMetadataOperands(void *m, const char *name, void *dest)',
  LLVMIsACallInst: 'void *LLVMIsACallInst(void *v)',
  LLVMPrintValueToString: 'void *LLVMPrintValueToString(void *v)',
  LLVMGetFirstUse: 'void *LLVMGetFirstUse(void *v)',
  LLVMGetNextUse: 'void *LLVMGetNextUse(void *u)',
  LLVMGetUser: 'void *LLVMGetUser(void *u)',
  LLVMGetInstructionParent: 'void *LLVMGetInstructionParent(void *v)',
  LLVMGetBasicBlockParent: 'void *LLVMGetBasicBlockParent(void *b)',
  LLVMIsAGlobalVariable: 'void *LLVMIsAGlobalVariable(void *v)',
  LLVMIsAGlobalValue: 'void *LLVMIsAGlobalValue(void *v)',
  LLVMIsAConstant: 'void *LLVMIsAConstant(void *v)',
  LLVMGetComdat: 'void *LLVMGetComdat(void *v)',

  LLVMGetDINodeTag: 'uint16_t LLVMGetDINodeTag(void *md)',
  LLVMDITypeGetName: 'void *LLVMDITypeGetName(void *md, _Out_ size_t *len)',
  LLVMDITypeGetFlags: 'int LLVMDITypeGetFlags(void *md)',
  LLVMDITypeGetOffsetInBits: 'uint64_t LLVMDITypeGetOffsetInBits(void *md)',
  LLVMDIScopeGetFile: 'void *LLVMDIScopeGetFile(void *md)',
  LLVMDISubprogramGetLine: 'unsigned int LLVMDISubprogramGetLine(void *md)',
  LLVMDILocationGetLine: 'unsigned int LLVMDILocationGetLine(void *md)',
  LLVMDILocationGetColumn: 'unsigned int LLVMDILocationGetColumn(void *md)',
  LLVMDILocationGetInlinedAt: 'void *LLVMDILocationGetInlinedAt(void *md)',
  LLVMDIBuilderCreateDebugLocation:
    'void *LLVMDIBuilderCreateDebugLocation(void *c, unsigned int line, unsigned int column, void *scope, void *inlinedAt)',
  LLVMGetSubprogram: 'void *LLVMGetSubprogram(void *f)',
  LLVMSetSubprogram: 'void LLVMSetSubprogram(void *f, void *sp)',
  LLVMCreateDIBuilder: 'void *LLVMCreateDIBuilder(void *m)',
  LLVMDisposeDIBuilder: 'void LLVMDisposeDIBuilder(void *b)',
  LLVMDIBuilderFinalizeSubprogram: 'void LLVMDIBuilderFinalizeSubprogram(void *b, void *sp)',
  LLVMDIBuilderCreateFunction:
    'void *LLVMDIBuilderCreateFunction(void *b, void *scope, const char *name, size_t nameLen, const char *linkageName, size_t linkageNameLen, void *file, unsigned int line, void *type, int isLocalToUnit, int isDefinition, unsigned int scopeLine, int flags, int isOptimized)',

  LLVMCreateBuilderInContext: 'void *LLVMCreateBuilderInContext(void *c)',
  LLVMPositionBuilderBefore: 'void LLVMPositionBuilderBefore(void *b, void *inst)',
  LLVMDisposeBuilder: 'void LLVMDisposeBuilder(void *b)',
  LLVMBuildCall2: 'void *LLVMBuildCall2(void *b, void *fnType, void *fn, void **args, unsigned int count, const char *name)',
  LLVMLookupIntrinsicID: 'unsigned int LLVMLookupIntrinsicID(const char *name, size_t len)',
  LLVMGetIntrinsicDeclaration: 'void *LLVMGetIntrinsicDeclaration(void *m, unsigned int id, void **paramTypes, size_t count)',
  LLVMCreateTypeAttribute: 'void *LLVMCreateTypeAttribute(void *c, unsigned int kind, void *type)',
  LLVMAddCallSiteAttribute: 'void LLVMAddCallSiteAttribute(void *call, unsigned int idx, void *a)',
  LLVMSetMetadata: 'void LLVMSetMetadata(void *inst, unsigned int kind, void *md)',
  LLVMInstructionEraseFromParent: 'void LLVMInstructionEraseFromParent(void *inst)',
  LLVMGetGEPSourceElementType: 'void *LLVMGetGEPSourceElementType(void *gep)',
  LLVMIsAGetElementPtrInst: 'void *LLVMIsAGetElementPtrInst(void *v)',
  LLVMIsAAllocaInst: 'void *LLVMIsAAllocaInst(void *v)',
  LLVMIsALoadInst: 'void *LLVMIsALoadInst(void *v)',
  LLVMIsAStoreInst: 'void *LLVMIsAStoreInst(void *v)',
  LLVMIsAConstantInt: 'void *LLVMIsAConstantInt(void *v)',
  LLVMIsAConstantExpr: 'void *LLVMIsAConstantExpr(void *v)',
  LLVMGetConstOpcode: 'int LLVMGetConstOpcode(void *v)',
  LLVMConstIntGetSExtValue: 'int64_t LLVMConstIntGetSExtValue(void *v)',
  LLVMGetCalledValue: 'void *LLVMGetCalledValue(void *call)',
  LLVMStructTypeInContext: 'void *LLVMStructTypeInContext(void *c, void **types, unsigned int count, int packed)',
  LLVMArrayType2: 'void *LLVMArrayType2(void *elem, uint64_t count)',
  LLVMIntTypeInContext: 'void *LLVMIntTypeInContext(void *c, unsigned int bits)',
  LLVMPointerTypeInContext: 'void *LLVMPointerTypeInContext(void *c, unsigned int addressSpace)',
  LLVMGetTypeKind: 'int LLVMGetTypeKind(void *t)',
  LLVMGetIntTypeWidth: 'unsigned int LLVMGetIntTypeWidth(void *t)',
  LLVMDITypeGetSizeInBits: 'uint64_t LLVMDITypeGetSizeInBits(void *md)',
  LLVMGetTargetFromTriple: 'int LLVMGetTargetFromTriple(const char *triple, _Out_ void **t, _Out_ void **err)',
  LLVMCreateTargetMachine:
    'void *LLVMCreateTargetMachine(void *t, const char *triple, const char *cpu, const char *features, int level, int reloc, int codeModel)',
  LLVMDisposeTargetMachine: 'void LLVMDisposeTargetMachine(void *tm)',
  LLVMCreatePassBuilderOptions: 'void *LLVMCreatePassBuilderOptions()',
  LLVMDisposePassBuilderOptions: 'void LLVMDisposePassBuilderOptions(void *o)',
  LLVMRunPasses: 'void *LLVMRunPasses(void *m, const char *passes, void *tm, void *o)',
  LLVMGetErrorMessage: 'void *LLVMGetErrorMessage(void *e)',
  LLVMDisposeErrorMessage: 'void LLVMDisposeErrorMessage(void *msg)',

  LLVMTargetMachineEmitToMemoryBuffer:
    'int LLVMTargetMachineEmitToMemoryBuffer(void *tm, void *m, int fileType, _Out_ void **err, _Out_ void **out)',
  LLVMWriteBitcodeToMemoryBuffer: 'void *LLVMWriteBitcodeToMemoryBuffer(void *m)',
  LLVMPrintModuleToString: 'void *LLVMPrintModuleToString(void *m)',
};

const OPTIONAL_DECLARATIONS: Record<keyof OptionalLlvmApi, string> = {
  LLVMParseIRInContext2: 'int LLVMParseIRInContext2(void *c, void *b, _Out_ void **m, _Out_ void **msg)',
  LLVMIsNewDbgInfoFormat: 'int LLVMIsNewDbgInfoFormat(void *m)',
  LLVMSetIsNewDbgInfoFormat: 'void LLVMSetIsNewDbgInfoFormat(void *m, int useNewFormat)',
  LLVMGetFirstDbgRecord: 'void *LLVMGetFirstDbgRecord(void *inst)',
  LLVMGetNextDbgRecord: 'void *LLVMGetNextDbgRecord(void *r)',
  LLVMDbgRecordGetKind: 'int LLVMDbgRecordGetKind(void *r)',
  LLVMDbgRecordGetDebugLoc: 'void *LLVMDbgRecordGetDebugLoc(void *r)',
  LLVMDbgVariableRecordGetValue: 'void *LLVMDbgVariableRecordGetValue(void *r, unsigned int operand)',
  LLVMDbgVariableRecordGetExpression: 'void *LLVMDbgVariableRecordGetExpression(void *r)',
  LLVMDbgVariableRecordGetVariable: 'void *LLVMDbgVariableRecordGetVariable(void *r)',
};

export type LlvmFunctions = LlvmApi & OptionalLlvmApi;

/**
 * The koffi declarations of the named required functions, for code that loads the library again
 * in another thread (codegen workers) and must declare exactly what this file declares.
 */
export function llvmDeclarations<K extends keyof LlvmApi>(names: readonly K[]): Record<K, string> {
  const out = {} as Record<K, string>;
  for (const n of names) out[n] = DECLARATIONS[n];
  return out;
}

/** Declares every function; a missing required symbol is an error naming it. */
export function declareLlvmApi(lib: LibraryHandle): LlvmFunctions {
  const api: Record<string, unknown> = {};
  for (const [name, decl] of Object.entries(DECLARATIONS)) {
    try {
      api[name] = lib.func(decl);
    } catch (e) {
      throw new Error(`the library does not export ${name} (${(e as Error).message})`);
    }
  }
  for (const [name, decl] of Object.entries(OPTIONAL_DECLARATIONS)) {
    try {
      api[name] = lib.func(decl);
    } catch {
      // absent in older LLVM: callers check before use
    }
  }
  return api as unknown as LlvmFunctions;
}

/** Copies `len` bytes at `ptr` (LLVM-owned memory) into a JS buffer. */
export function copyBytes(ptr: BytesRef | bigint | null, len: number): Uint8Array {
  if (ptr === null || len === 0) return new Uint8Array(0);
  return new Uint8Array(koffi.view(ptr, len).slice(0));
}

/** Decodes a length-carrying string (no NUL terminator needed). */
export function decodeString(ptr: BytesRef | bigint | null, len: number): string {
  if (ptr === null || len === 0) return '';
  return Buffer.from(koffi.view(ptr, len)).toString('utf8');
}

/** Decodes a NUL-terminated C string. */
export function decodeCString(ptr: CStringRef | bigint | null): string {
  if (ptr === null) return '';
  return koffi.decode.string(ptr);
}

export function registerCallback(fn: (...args: never[]) => void, proto: TypeObject): bigint {
  return koffi.register(fn as unknown as (...args: unknown[]) => unknown, koffi.pointer(proto));
}

export function unregisterCallback(cb: bigint): void {
  koffi.unregister(cb);
}

export function loadSharedLibrary(path: string): LibraryHandle {
  return koffi.load(path);
}

let libcExit: ((code: number) => void) | undefined;

/**
 * Ends the process at once with `code` (libc `_exit`). After a fatal error LLVM would call
 * exit() or abort() itself, running destructors of a half-broken state (exit status 134);
 * callers must have written their messages synchronously before.
 */
export function exitImmediately(code: number): never {
  libcExit ??= koffi.load('libc.so.6').func('void _exit(int code)') as (code: number) => void;
  libcExit(code);
  throw new Error('unreachable: _exit returned');
}

let libcTrim: ((pad: number) => number) | null | undefined;

/**
 * Gives the pages of freed memory back to the system (glibc `malloc_trim`): memory freed in the
 * middle of the heap (a disposed module's) stays in the process otherwise, while other threads,
 * with heaps of their own, grow. Does nothing where there is no glibc.
 */
export function returnFreedMemory(): void {
  if (libcTrim === undefined) {
    try {
      libcTrim = koffi.load('libc.so.6').func('int malloc_trim(size_t pad)') as (pad: number) => number;
    } catch {
      libcTrim = null;
    }
  }
  libcTrim?.(0);
}

interface Libc {
  dup(fd: number): number;
  dup2(from: number, to: number): number;
  close(fd: number): number;
}
let libc: Libc | undefined;

/**
 * Runs `fn` with file descriptor 2 pointing at `fd`, then restores it. libLLVM writes some
 * messages straight to stderr (the verifier's dump of invalid debug info, which for a corrupt
 * input can be megabytes of raw memory): they are captured, so the caller decides what to show.
 */
export function withStderrRedirected<T>(fd: number, fn: () => T): T {
  libc ??= (() => {
    const l = koffi.load('libc.so.6');
    return { dup: l.func('int dup(int fd)'), dup2: l.func('int dup2(int from, int to)'), close: l.func('int close(int fd)') } as unknown as Libc;
  })();
  const saved = libc.dup(2);
  if (saved < 0 || libc.dup2(fd, 2) < 0) {
    if (saved >= 0) libc.close(saved);
    return fn();
  }
  realStderr = saved;
  try {
    return fn();
  } finally {
    realStderr = 2;
    libc.dup2(saved, 2);
    libc.close(saved);
  }
}

let realStderr = 2;

/** The terminal's stderr, also while withStderrRedirected points fd 2 elsewhere (for fatal-error messages). */
export function userStderrFd(): number {
  return realStderr;
}
