/** Stage: give internal linkage to everything the export decision did not keep. */
import type { Logger } from '../log';
import type { LlvmLibrary } from '../llvm/library';
import { basicBlocks, functions, instructions, moduleInlineAsm, valueName } from '../llvm/module';
import { AttributeFunctionIndex, Linkage, Visibility, type ModuleRef } from '../llvm/types';
import type { ExportDecision } from './exports';

export function internalize(lib: LlvmLibrary, m: ModuleRef, exports: ExportDecision, logger: Logger): string[] {
  const { api } = lib;
  // rustc's __rust_probestack is x86 inline asm that the BPF backend cannot assemble.
  if (moduleInlineAsm(lib, m).includes('__rust_probestack')) {
    api.LLVMSetModuleInlineAsm2(m, null, 0);
    logger.debug('dropped module inline asm (__rust_probestack)');
  }
  for (const s of exports.toInternalize) {
    api.LLVMSetLinkage(s.value, Linkage.Internal);
    api.LLVMSetVisibility(s.value, Visibility.Default);
  }
  if (exports.toInternalize.length) logger.debug(`internalized: ${exports.toInternalize.map((s) => s.name).join(', ')}`);
  return exports.toInternalize.map((s) => s.name);
}

/**
 * --ignore-inline-never: lets the inliner inline everything (kernels without bpf-to-bpf calls).
 * rustc (1.9x) marks the call sites of an `#[inline(never)]` function `noinline` as well, so the
 * attribute goes from calls too, not only from functions as upstream does.
 */
export function removeNoInline(lib: LlvmLibrary, m: ModuleRef): number {
  const { api } = lib;
  const kind = api.LLVMGetEnumAttributeKindForName('noinline', 'noinline'.length);
  let n = 0;
  for (const f of functions(lib, m)) {
    if (valueName(lib, f).startsWith('llvm.')) continue;
    api.LLVMRemoveEnumAttributeAtIndex(f, AttributeFunctionIndex, kind);
    n++;
    for (const b of basicBlocks(lib, f)) {
      for (const i of instructions(lib, b)) {
        if (api.LLVMIsACallInst(i) !== null) api.LLVMRemoveCallSiteEnumAttribute(i, AttributeFunctionIndex, kind);
      }
    }
  }
  return n;
}
