/**
 * The symbol table LLVM writes into every bitcode file it produces (clang, rustc, llvm-link):
 * the SYMTAB block's blob, an `irsymtab` (llvm/Object/IRSymtab.h, `storage::`), whose strings
 * live in the STRTAB block. It says what a module defines and what it refers to, which is what
 * a linker needs to choose archive members, at a cost of microseconds instead of a parse.
 *
 * Layout (little-endian 32-bit words; the same in LLVM 19 to 22, version 3):
 *   Header  { Version, Producer: Str, Modules, Comdats, Symbols, Uncommons: Range, ... }
 *   Str     { Offset, Size }   into the STRTAB blob
 *   Range   { Offset, Size }   Offset in bytes into the SYMTAB blob, Size in elements
 *   Module  { Begin, End, UncBegin }                         (12 bytes)
 *   Symbol  { Name: Str, IRName: Str, ComdatIndex, Flags }   (24 bytes)
 *   Uncommon { CommonSize, CommonAlign, COFFWeakExternFallbackName: Str, SectionName: Str } (24 bytes)
 */
import { BitcodeFormatError, readSymbolTableBlobs } from './producer';

/** One symbol of a module, as the linker sees it. */
export interface BitcodeSymbol {
  name: string;
  /** Referenced but not defined here. */
  undefined: boolean;
  /** weak or linkonce: another definition may win. */
  weak: boolean;
  /** A function (or an alias to one). */
  executable: boolean;
  /** An explicit section (`SEC("xdp")`, `.maps`, `license`); absent for the default one. */
  section?: string;
}

const KNOWN_VERSIONS = new Set([1, 2, 3]);
const HEADER_WORDS = 1 + 2 + 2 * 4; // Version, Producer, Modules, Comdats, Symbols, Uncommons (what is read)
const MODULE_SIZE = 12;
const SYMBOL_SIZE = 24;
const UNCOMMON_SIZE = 24;

const FB_HAS_UNCOMMON = 1 << 2;
const FB_UNDEFINED = 1 << 3;
const FB_WEAK = 1 << 4;
const FB_GLOBAL = 1 << 10;
const FB_FORMAT_SPECIFIC = 1 << 11;
const FB_EXECUTABLE = 1 << 13;

/**
 * The non-local symbols of the bitcode's modules, or undefined when the file has no symbol table
 * LLVM 19–22 would write (old or hand-made bitcode): then only a parse can tell. Intrinsics
 * (`llvm.*`) and other format-specific names are left out. Throws BitcodeFormatError when a
 * table is there but does not fit its blobs.
 */
export function readBitcodeSymbols(bytes: Uint8Array): BitcodeSymbol[] | undefined {
  const { symtab, strtab } = readSymbolTableBlobs(bytes);
  if (!symtab || !strtab || symtab.length < HEADER_WORDS * 4) return undefined;
  const view = new DataView(symtab.buffer, symtab.byteOffset, symtab.byteLength);
  const word = (offset: number) => {
    if (offset + 4 > symtab.length) throw new BitcodeFormatError(`the symbol table is truncated (it ends at byte ${symtab.length}, a field is at ${offset})`);
    return view.getUint32(offset, true);
  };
  if (!KNOWN_VERSIONS.has(word(0))) return undefined;
  const text = (offset: number): string => {
    const start = word(offset);
    const size = word(offset + 4);
    if (start + size > strtab.length) throw new BitcodeFormatError(`a symbol name lies outside the string table (${start}+${size} > ${strtab.length} bytes)`);
    return Buffer.from(strtab.buffer, strtab.byteOffset + start, size).toString('latin1');
  };
  const range = (at: number, elementSize: number): { offset: number; size: number } => {
    const offset = word(at);
    const size = word(at + 4);
    if (offset + size * elementSize > symtab.length) throw new BitcodeFormatError('the symbol table is truncated (a range ends past its end)');
    return { offset, size };
  };
  const modules = range(12, MODULE_SIZE);
  const symbols = range(28, SYMBOL_SIZE);
  const uncommons = range(36, UNCOMMON_SIZE);

  const out: BitcodeSymbol[] = [];
  for (let mi = 0; mi < modules.size; mi++) {
    const m = modules.offset + mi * MODULE_SIZE;
    const begin = word(m);
    const end = word(m + 4);
    let uncommon = word(m + 8);
    if (begin > end || end > symbols.size) throw new BitcodeFormatError('the symbol table names symbols it does not hold');
    for (let si = begin; si < end; si++) {
      const at = symbols.offset + si * SYMBOL_SIZE;
      const flags = word(at + 20);
      let section: string | undefined;
      if (flags & FB_HAS_UNCOMMON) {
        if (uncommon >= uncommons.size) throw new BitcodeFormatError('the symbol table is truncated (a missing section record)');
        section = text(uncommons.offset + uncommon * UNCOMMON_SIZE + 16) || undefined;
        uncommon++;
      }
      if (!(flags & FB_GLOBAL) || flags & FB_FORMAT_SPECIFIC) continue;
      const name = text(at);
      if (name === '' || name.startsWith('llvm.')) continue;
      out.push({
        name,
        undefined: (flags & FB_UNDEFINED) !== 0,
        weak: (flags & FB_WEAK) !== 0,
        executable: (flags & FB_EXECUTABLE) !== 0,
        ...(section !== undefined && { section }),
      });
    }
  }
  return out;
}
