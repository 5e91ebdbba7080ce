/**
 * Stage: keep debug info for BTF (--btf) or strip it. With --btf, every function about to be
 * internalized gets a local-to-unit subprogram so its BTF FUNC is `static`; a global FUNC
 * would be verified by the kernel on its own (scalar return, checked arguments) and real
 * programs would be rejected.
 */
import type { Logger } from '../log';
import type { LlvmContext } from '../llvm/context';
import { DebugInfo, makeSubprogramsLocal } from '../llvm/debug-info';
import type { ModuleRef } from '../llvm/types';
import type { ExportDecision } from './exports';

export interface DebugInfoResult {
  /** Functions whose subprogram was made local-to-unit. */
  localizedSubprograms: string[];
  stripped: boolean;
}

export function prepareDebugInfo(ctx: LlvmContext, m: ModuleRef, exports: ExportDecision, btf: boolean, logger: Logger): DebugInfoResult {
  if (!btf) {
    ctx.lib.api.LLVMStripModuleDebugInfo(m);
    logger.debug('debug info stripped (no --btf)');
    return { localizedSubprograms: [], stripped: true };
  }
  const di = new DebugInfo(ctx.lib, ctx);
  const fns = exports.toInternalize.filter((s) => s.isFunction).map((s) => s.value);
  const localized = makeSubprogramsLocal(di, m, fns);
  if (localized.length) logger.debug(`subprograms made local-to-unit: ${localized.join(', ')}`);
  return { localizedSubprograms: localized, stripped: false };
}
