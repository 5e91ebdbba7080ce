/**
 * Stage: keep debug info for BTF (--btf) or strip it. With --btf:
 *  A. every function about to be internalized (and not dead) gets a local-to-unit subprogram so its BTF FUNC is
 *     `static`; a global FUNC would be verified by the kernel on its own (scalar return, checked
 *     arguments) and real programs would be rejected. So do the memory builtins the module
 *     defines (`ExportDecision.btfStatic`): their symbols stay global so LLVM's libcalls resolve,
 *     but as global FUNCs the kernel refuses them (`Global function memmove() doesn't return
 *     scalar`) in every loader but Aya's, which patches the BTF;
 *  B. one walk over the metadata reachable from what survives optimization repoints the old
 *     subprograms and makes the rest acceptable to the kernel's BTF checker (names, pointers,
 *     member order, data-carrying enums). Definitions that will be internal and unreachable are
 *     deleted by the optimizer before code generation, so their debug info is not walked.
 *
 * Those rules are for rustc's debug info. When every compile unit is clang's C (`isClangC`), B
 * only repoints the subprograms A replaced, without entering file-scope types, and a link that
 * internalizes no function (the default mode) does no walk at all: the stage then costs the
 * printing of each compile unit, well under a millisecond. BPF_LINKER_BTF_RULES=all applies every
 * rule to C as well (as before the C path existed; for comparisons).
 */
import type { Logger } from '../log';
import type { LlvmContext } from '../llvm/context';
import {
  DebugInfo,
  isClangC,
  liveDefinitions,
  makeSubprogramsLocal,
  repointSubprograms,
  sanitizeDebugInfo,
  type LocalizedSubprograms,
  type SanitizeReport,
} from '../llvm/debug-info';
import type { ModuleRef } from '../llvm/types';
import type { ExportDecision } from './exports';

export interface DebugInfoResult {
  /**
   * Functions whose subprogram was made local-to-unit: internalized ones that survive
   * optimization, and the memory builtins kept for libcalls (`ExportDecision.btfStatic`).
   */
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
  const c = process.env.BPF_LINKER_BTF_RULES !== 'all' && isClangC(ctx.lib, m);
  const internalizedFunctions = exports.toInternalize.filter((s) => s.isFunction);
  let local: LocalizedSubprograms | undefined;
  let live: Set<bigint> | undefined;
  // Without functions to make static step A has nothing to do, and for C neither has step B.
  if (!c || internalizedFunctions.length > 0 || exports.btfStatic.length > 0) {
    live = liveDefinitions(ctx.lib, m, new Set(exports.toInternalize.map((s) => s.value)));
    // Dead functions keep their debug info untouched (and consistent): they are deleted before
    // code generation, and their subprograms, if inlined somewhere, need no BTF linkage. The
    // builtins are kept, so always live.
    const liveSet = live;
    const toLocalize = internalizedFunctions.filter((s) => liveSet.has(s.value)).map((s) => s.value);
    local = makeSubprogramsLocal(di, m, [...toLocalize, ...exports.btfStatic.map((s) => s.value)]);
    if (local.changed.length) logger.debug(`subprograms made local-to-unit: ${local.changed.join(', ')}`);
    if (exports.btfStatic.length > 0) {
      logger.debug(`memory builtins kept global but static in BTF (libcalls resolve, the kernel checks them in their callers): ${exports.btfStatic.map((s) => s.name).join(', ')}`);
    }
  }
  const report = c ? repointSubprograms(di, m, local, live) : sanitizeDebugInfo(di, m, local, live);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (report.emptiedEnums.length > 0) {
    logger.warn(`debug info was not emitted for the following types: ${report.emptiedEnums.join(', ')}`);
  }
  if (report.rules === 'c') {
    logger.debug(
      report.nodes === 0
        ? `debug info is clang's C: no rule applies and no subprogram was replaced, nothing walked (${ms.toFixed(1)} ms)`
        : `debug info is clang's C: subprogram references repointed in ${ms.toFixed(1)} ms (no other rule applies): ` +
            `${report.definitions} definitions walked (${report.skippedDead} dead skipped), ${report.nodes} nodes ` +
            `(${report.fileScopeTypes} file-scope types not entered), ${report.instructions} instructions, ` +
            `${report.debugRecords} debug records (${report.records}), ${report.replaced} references repointed`,
    );
  } else {
    logger.debug(
      `debug info sanitized in ${ms.toFixed(1)} ms: ${report.definitions} definitions walked (${report.skippedDead} dead skipped), ` +
        `${report.nodes} nodes, ${report.instructions} instructions, ` +
        `${report.debugRecords} debug records (${report.records}), ${report.replaced} subprogram references repointed, ` +
        `${report.renamed} names escaped, ${report.unnamedPointers} pointer names removed, ` +
        `${report.reorderedComposites} member lists sorted, ${report.emptiedEnums.length} data-carrying enums emptied`,
    );
  }
  return { localizedSubprograms: local?.changed ?? [], stripped: false, sanitized: report };
}
