/**
 * Stage: choose the archive members to link, as a static linker does. Every input that is not
 * an archive member is linked. A member is linked only when it defines a symbol that is still
 * undefined (referenced by something linked, and defined by nothing linked), or a root:
 *  - a name of the export list (--export, --export-symbols) or a memory builtin (memcpy, ...,
 *    which LLVM's code generator calls without the IR referring to them), unless already defined;
 *  - in the default and --internalize modes, a libbpf-visible definition: a program (a function
 *    in its own section), a map, `license`/`version`, a global in a data section.
 * Linking a member adds what it refers to, so members are considered again until nothing changes:
 * archives may depend on each other in either order (like ld's --start-group). Weak undefined
 * references do not pull members in (as in ELF linkers).
 *
 * Symbols come from the irsymtab LLVM writes into every bitcode file (bitcode/symtab.ts), so an
 * unused member costs microseconds instead of a parse and a merge: a rustc link names all of
 * libcore and ~380 compiler_builtins members, and a small program needs a few of them. A member
 * whose symbols cannot be read that way (IR text, old bitcode) is linked, as before.
 */
import { BitcodeFormatError, readBitcodeSymbols, type BitcodeSymbol } from '../bitcode';
import { describeOrigin } from '../errors';
import type { InputUnit, SkippedInput } from '../inputs/types';
import type { Logger } from '../log';
import { MEMORY_BUILTINS, type LinkOptions } from '../options';
import { exportMode, isLibbpfInterface } from './exports';

export interface MemberSelection {
  units: InputUnit[];
  /** Archive members left out, each with why (for --report and the debug log). */
  unused: SkippedInput[];
}

type SelectOptions = Pick<LinkOptions, 'exports' | 'internalize' | 'disableMemoryBuiltins' | 'wholeArchive'>;

export const UNUSED_MEMBER_REASON = 'archive member not linked: it defines nothing the link needs (--whole-archive links every member)';

export function selectMembers(units: InputUnit[], options: SelectOptions, logger: Logger): MemberSelection {
  const isMember = (u: InputUnit) => u.origin.member !== undefined;
  if (options.wholeArchive || !units.some(isMember)) return { units, unused: [] };
  // Only archives: nothing outside them says what is needed, so all of them is the product.
  if (units.every(isMember)) {
    logger.debug('every input is an archive member: linking all of them');
    return { units, unused: [] };
  }

  const mode = exportMode(options);
  const rootNames = new Set(options.exports);
  if (!options.disableMemoryBuiltins) for (const b of MEMORY_BUILTINS) rootNames.add(b);
  const isRoot = (s: BitcodeSymbol) => rootNames.has(s.name) || (mode !== 'explicit' && isLibbpfInterface(s.section, s.executable));

  const defined = new Set<string>();
  /** Referenced by a linked unit with a non-weak reference, not (yet) defined. */
  const wanted = new Set<string>();
  const linked = new Set<InputUnit>();
  const link = (u: InputUnit, symbols: BitcodeSymbol[] | undefined) => {
    linked.add(u);
    if (!symbols) return;
    for (const s of symbols) {
      if (s.undefined) continue;
      defined.add(s.name);
      wanted.delete(s.name);
    }
    for (const s of symbols) if (s.undefined && !s.weak && !defined.has(s.name)) wanted.add(s.name);
  };

  const candidates: { unit: InputUnit; symbols: BitcodeSymbol[] }[] = [];
  for (const u of units) {
    const symbols = symbolsOf(u, logger);
    if (!isMember(u) || symbols === undefined) link(u, symbols);
    else candidates.push({ unit: u, symbols });
  }

  const needs = (symbols: BitcodeSymbol[]) =>
    symbols.some((s) => !s.undefined && (wanted.has(s.name) || (isRoot(s) && !defined.has(s.name))));
  for (let changed = true; changed; ) {
    changed = false;
    for (const c of candidates) {
      if (linked.has(c.unit) || !needs(c.symbols)) continue;
      link(c.unit, c.symbols);
      changed = true;
    }
  }

  const unused = candidates.filter((c) => !linked.has(c.unit)).map((c) => ({ origin: c.unit.origin, reason: UNUSED_MEMBER_REASON }));
  if (unused.length > 0) {
    logger.debug(`archive members not linked (${unused.length} of ${candidates.length}): ${unused.map((u) => describeOrigin(u.origin.file, u.origin.member)).join(', ')}`);
  }
  // Input order is kept: it decides among weak definitions.
  return { units: units.filter((u) => linked.has(u)), unused };
}

/** The unit's symbols, or undefined when only a parse could tell (then it is linked). */
function symbolsOf(u: InputUnit, logger: Logger): BitcodeSymbol[] | undefined {
  if (u.kind !== 'bitcode') return undefined;
  try {
    return readBitcodeSymbols(u.bytes);
  } catch (e) {
    if (!(e instanceof BitcodeFormatError)) throw e;
    // The parse names the problem properly; linking the unit gets it there.
    logger.debug(`${describeOrigin(u.origin.file, u.origin.member)}: unreadable symbol table (${e.message}): linked`);
    return undefined;
  }
}
