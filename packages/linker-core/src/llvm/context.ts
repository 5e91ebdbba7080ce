/**
 * An LLVM context whose diagnostics reach us instead of stderr. LLVM's default handler prints
 * and exits on errors, so every context gets our handler before anything is parsed.
 */
import { DiagnosticHandlerProto, decodeCString, registerCallback, unregisterCallback } from './api';
import type { LlvmLibrary } from './library';
import { DiagnosticSeverity, type ContextRef, type DiagnosticInfoRef } from './types';

export type DiagnosticLevel = 'error' | 'warning' | 'remark' | 'note';

export interface LlvmDiagnostic {
  level: DiagnosticLevel;
  message: string;
}

const LEVELS: Record<number, DiagnosticLevel> = {
  [DiagnosticSeverity.Error]: 'error',
  [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Remark]: 'remark',
  [DiagnosticSeverity.Note]: 'note',
};

export class LlvmContext {
  readonly ref: ContextRef;
  /** Every diagnostic since creation, in order. */
  readonly diagnostics: LlvmDiagnostic[] = [];
  private readonly callback: bigint;
  private disposed = false;

  constructor(
    readonly lib: LlvmLibrary,
    private readonly onDiagnostic: (d: LlvmDiagnostic) => void = () => {},
  ) {
    const { api } = lib;
    this.ref = api.LLVMContextCreate();
    this.callback = registerCallback(((info: DiagnosticInfoRef) => {
      const level = LEVELS[api.LLVMGetDiagInfoSeverity(info)] ?? 'note';
      const msgPtr = api.LLVMGetDiagInfoDescription(info);
      const message = decodeCString(msgPtr);
      api.LLVMDisposeMessage(msgPtr);
      const d = { level, message };
      this.diagnostics.push(d);
      this.onDiagnostic(d);
    }) as (...a: never[]) => void, DiagnosticHandlerProto);
    api.LLVMContextSetDiagnosticHandler(this.ref, this.callback, null);
  }

  /** Diagnostics recorded since `mark` (an index from `this.diagnostics.length`). */
  since(mark: number): LlvmDiagnostic[] {
    return this.diagnostics.slice(mark);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.lib.api.LLVMContextDispose(this.ref);
    unregisterCallback(this.callback);
  }
}
