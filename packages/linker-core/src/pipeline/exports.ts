/**
 * Stage: decide which symbols stay visible outside the object.
 *  - explicit (--export / --export-symbols): those names plus the memory builtins;
 *  - default (no list, no --internalize): every symbol keeps the linkage its source gave it;
 *  - internalize (--internalize): the libbpf-visible interface (programs, maps, license,
 *    version, non-static globals in data sections) plus any list.
 * Declarations (kfunc/ksym externs) are never internalized, in any mode.
 *
 * The memory builtins the module defines (Rust's compiler_builtins does) stay global symbols so
 * LLVM's libcalls resolve, but their BTF FUNC is to be `static` (`btfStatic`): a global FUNC is
 * verified by the kernel on its own, and memcpy/memmove/memset return a pointer and take `void *`
 * arguments, which it refuses (`Global function memmove() doesn't return scalar`). Only Aya's
 * loader patches that BTF; libbpf and cilium/ebpf load it as it is. A builtin the user exported by
 * name (--export memmove, --export-symbols) is part of the product and keeps its global FUNC; with
 * --disable-memory-builtins they are ordinary functions.
 */
import type { LinkOptions } from '../options';
import { MEMORY_BUILTINS } from '../options';
import type { LlvmLibrary } from '../llvm/library';
import { functions, globalAliases, globalVariables, isDeclaration, sectionOf, valueName } from '../llvm/module';
import { Linkage, type ModuleRef, type ValueRef } from '../llvm/types';

export type ExportMode = 'explicit' | 'default' | 'internalize';

export interface ExportDecision {
  mode: ExportMode;
  /** Definitions to internalize, in module order. */
  toInternalize: { value: ValueRef; name: string; isFunction: boolean }[];
  /** Names kept visible (definitions only). */
  kept: string[];
  /**
   * Kept function definitions whose BTF FUNC must be `static` all the same: the memory builtins,
   * kept only so LLVM's libcalls resolve (not named by the user), in module order.
   */
  btfStatic: { value: ValueRef; name: string }[];
}

export function exportMode(options: Pick<LinkOptions, 'exports' | 'internalize'>): ExportMode {
  if (options.internalize) return 'internalize';
  return options.exports.length > 0 ? 'explicit' : 'default';
}

const MAP_SECTION = /^(\.maps|maps)$|^maps\//;
const DATA_SECTION = /^(\.data|\.rodata|\.bss)(\..*)?$|^\.kconfig$/;

/** Whether a definition belongs to the object's libbpf-visible interface (mode --internalize). */
export function isLibbpfInterface(section: string | undefined, isFunction: boolean): boolean {
  if (isFunction) return section !== undefined && section !== '' && section !== '.text';
  if (section === undefined || section === '') return true; // a non-static C global: .data/.bss/.rodata
  return MAP_SECTION.test(section) || section === 'license' || section === 'version' || DATA_SECTION.test(section);
}

function isLocal(linkage: number): boolean {
  return linkage === Linkage.Internal || linkage === Linkage.Private;
}

export function decideExports(lib: LlvmLibrary, m: ModuleRef, options: LinkOptions): ExportDecision {
  const mode = exportMode(options);
  const decision: ExportDecision = { mode, toInternalize: [], kept: [], btfStatic: [] };
  const named = new Set(options.exports);
  const list = new Set(named);
  if (mode !== 'default' && !options.disableMemoryBuiltins) for (const b of MEMORY_BUILTINS) list.add(b);

  const consider = (value: ValueRef, isFunction: boolean, isAlias = false) => {
    const name = valueName(lib, value);
    if (name.startsWith('llvm.')) return;
    if (!isAlias && isDeclaration(lib, value)) return;
    if (isLocal(lib.api.LLVMGetLinkage(value))) return;
    let keep: boolean;
    if (mode === 'default') keep = true;
    else if (list.has(name)) keep = true;
    else if (mode === 'internalize') keep = !isAlias && isLibbpfInterface(sectionOf(lib, value), isFunction);
    else keep = false;
    if (keep) {
      decision.kept.push(name);
      if (isFunction && !options.disableMemoryBuiltins && MEMORY_BUILTINS.includes(name) && !named.has(name)) {
        decision.btfStatic.push({ value, name });
      }
    } else decision.toInternalize.push({ value, name, isFunction });
  };
  for (const g of globalVariables(lib, m)) consider(g, false);
  for (const a of globalAliases(lib, m)) consider(a, false, true);
  for (const f of functions(lib, m)) consider(f, true);
  return decision;
}

/** Whether any global lives in `.maps` (BTF-defined maps, which libbpf reads from BTF). */
export function definesBtfMaps(lib: LlvmLibrary, m: ModuleRef): boolean {
  for (const g of globalVariables(lib, m)) if (sectionOf(lib, g) === '.maps') return true;
  return false;
}
