/**
 * Stage check: a reference to a function or variable that no input defines is an error, as in
 * any linker. Without it a forgotten library "links", and libbpf fails later with "failed to find
 * BTF for extern", pointing away from the cause.
 *
 * Checked on the optimized module, so references from code that was deleted (dead functions of
 * libcore, say) do not count. Not errors: intrinsics; kernel externs, which libbpf resolves at
 * load time (`__ksym` in `.ksyms`, `__kconfig` in `.kconfig`); weak references (libbpf gives
 * them 0 when nothing defines them). `--allow-undefined` leaves the rest to a later link with
 * libbpf's static linker (`bpftool gen object`); IR and bitcode outputs are not checked.
 */
import { readBitcodeSymbols } from '../bitcode';
import { LinkError, describeOrigin } from '../errors';
import type { InputUnit } from '../inputs/types';
import type { LlvmLibrary } from '../llvm/library';
import { functions, globalVariables, isDeclaration, sectionOf, valueName } from '../llvm/module';
import { Linkage, type ModuleRef } from '../llvm/types';

const KERNEL_EXTERN_SECTIONS = new Set(['.ksyms', '.kconfig']);

/** Names the module refers to and nothing defines, in module order. */
export function undefinedReferences(lib: LlvmLibrary, m: ModuleRef): string[] {
  const names: string[] = [];
  for (const v of [...functions(lib, m), ...globalVariables(lib, m)]) {
    if (!isDeclaration(lib, v) || lib.api.LLVMGetFirstUse(v) === null) continue;
    const name = valueName(lib, v);
    if (name === '' || name.startsWith('llvm.')) continue;
    if (lib.api.LLVMGetLinkage(v) === Linkage.ExternalWeak) continue;
    if (KERNEL_EXTERN_SECTIONS.has(sectionOf(lib, v) ?? '')) continue;
    names.push(name);
  }
  return names;
}

/** The inputs that refer to `name` (from their bitcode symbol tables), for the message. */
function referencedBy(name: string, units: readonly InputUnit[]): string[] {
  const found: string[] = [];
  for (const u of units) {
    if (u.kind !== 'bitcode') continue;
    let symbols;
    try {
      symbols = readBitcodeSymbols(u.bytes);
    } catch {
      continue;
    }
    if (symbols?.some((s) => s.undefined && s.name === name)) found.push(describeOrigin(u.origin.file, u.origin.member));
  }
  return found;
}

export function undefinedSymbolsError(names: string[], units: readonly InputUnit[]): LinkError {
  const list = (items: string[]) => (items.length <= 3 ? items.join(', ') : `${items.slice(0, 3).join(', ')} and ${items.length - 3} more`);
  const all = units.map((u) => describeOrigin(u.origin.file, u.origin.member));
  const described = names.map((name) => {
    const by = referencedBy(name, units);
    // Without a readable symbol table the referring input is unknown: name the link's inputs.
    const where = by.length > 0 ? ` (referenced by ${list(by)})` : all.length === 1 ? ` (referenced by ${all[0]})` : ` (referenced by one of ${list(all)})`;
    return { name, where, first: by[0] ?? (all.length === 1 ? all[0] : undefined) };
  });
  const shown = described.slice(0, 10).map((d) => `'${d.name}'${d.where}`);
  const more = described.length > 10 ? ` and ${described.length - 10} more` : '';
  const message = `${names.length === 1 ? 'undefined symbol' : 'undefined symbols'}: ${shown.join(', ')}${more}: no input defines ${names.length === 1 ? 'it' : 'them'}`;
  const first = units.find((u) => describeOrigin(u.origin.file, u.origin.member) === described[0].first);
  return new LinkError('UNDEFINED_SYMBOL', message, {
    ...(first && { file: first.origin.file, member: first.origin.member }),
    hint:
      'add the object or archive that defines it (a library left off the command line?); a kernel function or variable ' +
      'needs __ksym (C: extern ... __ksym) or __kconfig; to link it later with libbpf (bpftool gen object), pass --allow-undefined',
  });
}
