/** Stage: produce the output bytes (object, assembly, IR text or bitcode). */
import type { OutputKind } from '../options';
import type { LlvmLibrary } from '../llvm/library';
import { printModule, writeBitcode } from '../llvm/module';
import { emitToMemory, type TargetMachine } from '../llvm/target';
import type { ModuleRef } from '../llvm/types';

export function emit(lib: LlvmLibrary, m: ModuleRef, tm: TargetMachine, kind: OutputKind): Uint8Array {
  switch (kind) {
    case 'obj':
    case 'asm':
      return emitToMemory(lib, tm, m, kind);
    case 'llvm-ir':
      return Buffer.from(printModule(lib, m), 'utf8');
    case 'llvm-bc':
      return writeBitcode(lib, m);
  }
}
