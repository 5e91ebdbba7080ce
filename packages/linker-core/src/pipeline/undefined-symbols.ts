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
import { LinkError, describeInputs, describeOrigin } from '../errors';
import type { InputUnit } from '../inputs/types';
import type { LlvmLibrary } from '../llvm/library';
import { functions, globalVariables, isDeclaration, sectionOf, valueName } from '../llvm/module';
import { Linkage, type ModuleRef } from '../llvm/types';

const KERNEL_EXTERN_SECTIONS = new Set(['.ksyms', '.kconfig']);

/** A declaration something refers to that must be defined by an input. */
function mustBeDefined(name: string, linkage: number, section: string | undefined): boolean {
  if (name === '' || name.startsWith('llvm.')) return false;
  if (linkage === Linkage.ExternalWeak) return false;
  return !KERNEL_EXTERN_SECTIONS.has(section ?? '');
}

/** Names the module refers to and nothing defines, in module order. */
export function undefinedReferences(lib: LlvmLibrary, m: ModuleRef): string[] {
  const names: string[] = [];
  for (const v of [...functions(lib, m), ...globalVariables(lib, m)]) {
    if (!isDeclaration(lib, v) || lib.api.LLVMGetFirstUse(v) === null) continue;
    const name = valueName(lib, v);
    if (mustBeDefined(name, lib.api.LLVMGetLinkage(v), sectionOf(lib, v))) names.push(name);
  }
  return names;
}

/**
 * undefinedReferences over modules optimized apart (partitions): a name one of them refers to and
 * none defines, in partition order.
 */
export function undefinedAcross(symbols: readonly { name: string; declaration: boolean; used: boolean; linkage: number; section?: string }[]): string[] {
  const defined = new Set(symbols.filter((s) => !s.declaration).map((s) => s.name));
  const names = new Set<string>();
  for (const s of symbols) {
    if (s.declaration && s.used && !defined.has(s.name) && mustBeDefined(s.name, s.linkage, s.section)) names.add(s.name);
  }
  return [...names];
}

/** What each bitcode input refers to without defining (its symbol table), read once. */
function referencesByUnit(units: readonly InputUnit[]): { unit: InputUnit; names: Set<string> }[] {
  return units.flatMap((unit) => {
    if (unit.kind !== 'bitcode') return [];
    try {
      const symbols = readBitcodeSymbols(unit.bytes);
      return symbols ? [{ unit, names: new Set(symbols.filter((s) => s.undefined).map((s) => s.name)) }] : [];
    } catch {
      return []; // an unreadable table tells nothing; the link read the module itself
    }
  });
}

const where = (u: InputUnit) => describeOrigin(u.origin.file, u.origin.member);

export function undefinedSymbolsError(names: string[], units: readonly InputUnit[]): LinkError {
  const references = referencesByUnit(units);
  const described = names.map((name) => {
    const by = references.filter((r) => r.names.has(name)).map((r) => r.unit);
    // Without a readable symbol table the referring input is unknown: name the link's inputs.
    const text = by.length > 0 ? describeInputs(by.map(where)) : units.length === 1 ? where(units[0]) : `one of ${describeInputs(units.map(where))}`;
    return { name, text, first: by[0] ?? (units.length === 1 ? units[0] : undefined) };
  });
  const shown = described.slice(0, 10).map((d) => `'${d.name}' (referenced by ${d.text})`);
  const more = described.length > 10 ? ` and ${described.length - 10} more` : '';
  const message = `${names.length === 1 ? 'undefined symbol' : 'undefined symbols'}: ${shown.join(', ')}${more}: no input defines ${names.length === 1 ? 'it' : 'them'}`;
  const first = described[0].first;
  return new LinkError('UNDEFINED_SYMBOL', message, {
    ...(first && { file: first.origin.file, member: first.origin.member }),
    hint:
      'add the object or archive that defines it (a library left off the command line?); a kernel function or variable ' +
      'needs __ksym (C: extern ... __ksym) or __kconfig; to link it later with libbpf (bpftool gen object), pass --allow-undefined',
  });
}
