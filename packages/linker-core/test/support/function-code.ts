/**
 * Per-function machine code of BPF objects, for comparing a partitioned link with one module
 * (packages/cli/test/partitions.test.ts, e2e/corpus/partitioned.test.ts).
 */
import { readElf } from '../../src';

/**
 * Each function's instructions (hex), leaving out what linking moves: the immediates of
 * BPF-to-BPF calls (pc-relative) and of 64-bit loads (offsets a relocation fills). Code generation
 * is per function, and a partition optimized on its own must give the optimizer what the whole
 * module gives it: so every function must come out the same. Copies of a static helper must agree
 * with each other. Little-endian objects (the only ones split on this host).
 */
export function functionCode(bytes: Uint8Array): Map<string, string> | string {
  const elf = readElf(bytes);
  const code = new Map<string, string>();
  for (const sym of elf.symbols()) {
    if (sym.type !== 'func' || sym.sectionIndex === 0) continue;
    const section = elf.sections[sym.sectionIndex];
    const start = Number(sym.value);
    const body = elf.sectionData(section).slice(start, start + Number(sym.size));
    for (let i = 0; i + 8 <= body.length; i += 8) {
      const pseudoCall = body[i] === 0x85 && body[i + 1] >> 4 === 1;
      const wide = body[i] === 0x18;
      if (pseudoCall || wide) body.fill(0, i + 4, i + 8);
      if (wide && i + 16 <= body.length) {
        body.fill(0, i + 12, i + 16);
        i += 8;
      }
    }
    const key = `${section.name}:${sym.name}`;
    const hex = Buffer.from(body).toString('hex');
    const seen = code.get(key);
    if (seen !== undefined && seen !== hex) return `two copies of ${key} differ`;
    code.set(key, hex);
  }
  return code;
}

/** The same instructions in another order: the slots, sorted. */
const sortedSlots = (hex: string) => (hex.match(/.{16}/g) ?? []).sort().join('');

/**
 * Functions whose code differs between the two objects (names only in one count too), and those
 * that differ only in the order of their instructions. LLVM's instruction scheduler breaks ties
 * by the order of a value's uses in memory, which bitcode does not keep: a partition is read from
 * bitcode, the one module is not, and `llc` on the one module written as bitcode orders them as
 * the partition does.
 */
export function codeDifferences(one: Uint8Array, split: Uint8Array): { differ: string[]; reordered: string[] } {
  const [a, b] = [functionCode(one), functionCode(split)];
  if (typeof a === 'string') return { differ: [`one module: ${a}`], reordered: [] };
  if (typeof b === 'string') return { differ: [`split: ${b}`], reordered: [] };
  const names = [...new Set([...a.keys(), ...b.keys()])].sort().filter((n) => a.get(n) !== b.get(n));
  const sameSlots = (n: string) => a.has(n) && b.has(n) && sortedSlots(a.get(n)!) === sortedSlots(b.get(n)!);
  return { differ: names.filter((n) => !sameSlots(n)), reordered: names.filter(sameSlots) };
}

