/**
 * Stage: keep debug info for BTF (--btf) or strip it. With --btf:
 *  A. every function about to be internalized (and not dead) gets a local-to-unit subprogram so its BTF FUNC is
 *     `static`; a global FUNC would be verified by the kernel on its own (scalar return, checked
 *     arguments) and real programs would be rejected;
 *  B. one walk over the metadata reachable from what survives optimization repoints the old
 *     subprograms and makes the rest acceptable to the kernel's BTF checker (names, pointers,
 *     member order, data-carrying enums). Definitions that will be internal and unreachable are
 *     deleted by the optimizer before code generation, so their debug info is not walked.
 */
import type { Logger } from '../log';
import type { LlvmContext } from '../llvm/context';
import { DebugInfo, liveDefinitions, makeSubprogramsLocal, sanitizeDebugInfo, type SanitizeReport } from '../llvm/debug-info';
import type { ModuleRef } from '../llvm/types';
import type { ExportDecision } from './exports';

export interface DebugInfoResult {
  /** Functions whose subprogram was made local-to-unit (internalized ones that survive optimization). */
  localizedSubprograms: string[];
  stripped: boolean;
  /** What the sanitizer did (--btf only). */
  sanitized?: SanitizeReport;
}

export function prepareDebugInfo(ctx: LlvmContext, m: ModuleRef, exports: ExportDecision, btf: boolean, logger: Logger): DebugInfoResult {
  if (!btf) {
    ctx.lib.api.LLVMStripModuleDebugInfo(m);
    logger.debug('debug info stripped (no --btf)');
    return { localizedSubprograms: [], stripped: true };
  }
  const di = new DebugInfo(ctx.lib, ctx);
  const start = process.hrtime.bigint();
  const live = liveDefinitions(ctx.lib, m, new Set(exports.toInternalize.map((s) => s.value)));
  // Dead functions keep their debug info untouched (and consistent): they are deleted before
  // code generation, and their subprograms, if inlined somewhere, need no BTF linkage.
  const fns = exports.toInternalize.filter((s) => s.isFunction && live.has(s.value)).map((s) => s.value);
  const local = makeSubprogramsLocal(di, m, fns);
  if (local.changed.length) logger.debug(`subprograms made local-to-unit: ${local.changed.join(', ')}`);
  const report = sanitizeDebugInfo(di, m, local, live);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (report.emptiedEnums.length > 0) {
    logger.warn(`debug info was not emitted for the following types: ${report.emptiedEnums.join(', ')}`);
  }
  logger.debug(
    `debug info sanitized in ${ms.toFixed(1)} ms: ${report.definitions} definitions walked (${report.skippedDead} dead skipped), ` +
      `${report.nodes} nodes, ${report.instructions} instructions, ` +
      `${report.debugRecords} debug records (${report.records}), ${report.replaced} subprogram references repointed, ` +
      `${report.renamed} names escaped, ${report.unnamedPointers} pointer names removed, ` +
      `${report.reorderedComposites} member lists sorted, ${report.emptiedEnums.length} data-carrying enums emptied`,
  );
  return { localizedSubprograms: local.changed, stripped: false, sanitized: report };
}
