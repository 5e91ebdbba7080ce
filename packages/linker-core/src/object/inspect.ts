/**
 * `inspectObject`: what a BPF object contains, as plain JSON-ready data (programs with their
 * calls and loops, maps, globals and BTF data sections, license, BTF summary, ELF sections),
 * and `formatInspection`, the readable text `bpf-linker inspect` prints. Built on readBpfObject.
 */
import { readElf, type ElfFile, type ElfSection } from '../inputs/elf';
import { describeType, type Btf, type BtfVarLinkage } from './btf';
import { inContext } from './errors';
import { datasecEntryType, readBpfObject, type BpfFunction, type BpfGlobal, type BpfMap, type BtfSummary } from './bpf-object';

export interface InspectedSection {
  index: number;
  name: string;
  /** `PROGBITS`, `NOBITS`, `SYMTAB`, `STRTAB`, `REL`, … (or the number). */
  type: string;
  /** ELF flags as readelf writes them: `W` write, `A` alloc, `X` exec (`AX` for code). */
  flags: string;
  /** Bytes (for NOBITS the size at run time). */
  size: number;
}

export interface InspectedDatasecEntry {
  name: string;
  /** `VAR` for variables; `FUNC` for the kfuncs listed in `.ksyms`. */
  kind: 'VAR' | 'FUNC';
  offset: number;
  size: number;
  type: string;
  linkage?: BtfVarLinkage;
}

/** A BTF DATASEC: the variables of one data section, as libbpf sees them. */
export interface InspectedDatasec {
  name: string;
  /** Size of the ELF section when it exists, else the DATASEC's own size (often 0 before libbpf). */
  size: number;
  entries: InspectedDatasecEntry[];
}

export interface ObjectInspection {
  endianness: 'little' | 'big';
  license?: string;
  /** Entry points: functions in executable sections other than `.text`. */
  programs: BpfFunction[];
  /** BPF-to-BPF callees: functions in `.text`. */
  subprograms: BpfFunction[];
  maps: BpfMap[];
  /** Symbols of `.data*`, `.rodata*` and `.bss*`. */
  globals: BpfGlobal[];
  datasecs: InspectedDatasec[];
  /** Absent when the object has no `.BTF`. */
  btf?: BtfSummary;
  /** Every ELF section but the null one, in file order. */
  sections: InspectedSection[];
}

export function inspectObject(bytes: Uint8Array): ObjectInspection {
  const object = readBpfObject(bytes);
  const elf = readElf(bytes);
  const out: ObjectInspection = {
    endianness: object.littleEndian ? 'little' : 'big',
    programs: object.programs.filter((p) => !p.isSubprogram),
    subprograms: object.programs.filter((p) => p.isSubprogram),
    maps: object.maps,
    globals: object.globals,
    datasecs: object.btf ? inContext('.BTF section', () => readDatasecs(object.btf!, elf)) : [],
    sections: elf.sections.filter((s) => s.index > 0).map(describeSection),
  };
  if (object.license !== undefined) out.license = object.license;
  if (object.btfSummary) out.btf = object.btfSummary;
  return out;
}

function readDatasecs(btf: Btf, elf: ElfFile): InspectedDatasec[] {
  const out: InspectedDatasec[] = [];
  for (const t of btf.types) {
    if (t.kind !== 'DATASEC') continue;
    const entries = t.vars.map((v, i): InspectedDatasecEntry => {
      const target = datasecEntryType(btf, t, i);
      if (target.kind === 'VAR') {
        return { name: target.name, kind: 'VAR', offset: v.offset, size: v.size, type: describeType(btf, target.typeId), linkage: target.linkage };
      }
      const type = target.kind === 'FUNC' ? describeType(btf, target.typeId) : describeType(btf, v.typeId);
      return { name: target.name, kind: 'FUNC', offset: v.offset, size: v.size, type };
    });
    out.push({ name: t.name, size: elf.section(t.name)?.size ?? t.size, entries });
  }
  return out;
}

const SECTION_TYPES: Record<number, string> = {
  1: 'PROGBITS', 2: 'SYMTAB', 3: 'STRTAB', 4: 'RELA', 8: 'NOBITS', 9: 'REL', 0x6fff4c03: 'LLVM_ADDRSIG',
};

function describeSection(s: ElfSection): InspectedSection {
  const flag = (bit: bigint, letter: string) => ((s.flags & bit) !== 0n ? letter : '');
  return {
    index: s.index,
    name: s.name,
    type: SECTION_TYPES[s.type] ?? `0x${s.type.toString(16)}`,
    flags: flag(0x1n, 'W') + flag(0x2n, 'A') + flag(0x4n, 'X'),
    size: s.size,
  };
}

// ---------------------------------------------------------------------------------------
// Text

export interface InspectionFormatOptions {
  /** What to call the object in the heading (its path). */
  label?: string;
}

export function formatInspection(i: ObjectInspection, options: InspectionFormatOptions = {}): string {
  const out: string[] = [];
  const heading = [`BPF object, ${i.endianness}-endian`, i.license !== undefined ? `license "${i.license}"` : 'no license section'];
  out.push(`${options.label ?? 'object'}: ${heading.join(', ')}`);

  out.push('', `Programs (${i.programs.length}):`);
  out.push(...functionTable(i.programs));
  if (i.subprograms.length > 0) out.push('', `Subprograms (${i.subprograms.length}):`, ...functionTable(i.subprograms));

  out.push('', `Maps (${i.maps.length}):`);
  out.push(
    ...table(
      i.maps.map((m) => [
        m.name,
        m.typeName ?? (m.type !== undefined ? `type ${m.type}` : '?'),
        `key ${size(m.keySize)}${m.keyType ? ` (${m.keyType})` : ''}`,
        `value ${size(m.valueSize)}${m.valueType ? ` (${m.valueType})` : ''}`,
        `max_entries ${m.maxEntries ?? '?'}`,
        m.mapFlags ? `flags 0x${m.mapFlags.toString(16)}` : '',
        `${m.section}, ${m.source === 'btf' ? 'BTF-defined' : m.source === 'legacy' ? 'legacy bpf_map_def' : 'no definition found'}`,
      ]),
    ),
  );

  out.push('', `Global variables (${i.globals.length}):`);
  out.push(...table(i.globals.map((g) => [g.name, g.section, `offset ${g.offset}`, size(g.size), g.type ?? '', g.binding])));

  if (i.datasecs.length > 0) {
    out.push('', `BTF data sections (${i.datasecs.length}):`);
    for (const d of i.datasecs) {
      out.push(`  ${d.name}  ${size(d.size)}, ${d.entries.length} ${d.entries.length === 1 ? 'entry' : 'entries'}`);
      out.push(...table(d.entries.map((e) => [e.name, `${e.kind === 'FUNC' ? 'func' : e.linkage ?? ''}`, `offset ${e.offset}`, size(e.size), e.type]), '      '));
    }
  }

  if (i.btf) {
    const b = i.btf;
    const kinds = Object.entries(b.kinds).map(([k, n]) => `${k} ${n}`).join(', ');
    out.push('', `BTF: ${b.typeCount} types (${kinds})`);
    out.push(`  FUNCs: ${b.funcs.map((f) => `${f.name} (${f.linkage})`).join(', ') || 'none'}`);
    out.push(`  BTF.ext: ${b.funcInfoCount} func_info, ${b.lineInfoCount} line_info, ${b.coreReloCount} CO-RE relocations`);
  } else {
    out.push('', 'BTF: none (link with --btf to keep it)');
  }

  out.push('', `Sections (${i.sections.length}):`);
  out.push(...table(i.sections.map((s) => [`[${String(s.index).padStart(2)}]`, s.name, s.type, s.flags, size(s.size)])));
  return out.join('\n') + '\n';
}

function functionTable(functions: BpfFunction[]): string[] {
  if (functions.length === 0) return ['  none'];
  return table(
    functions.map((f) => [
      f.name,
      f.section,
      `${f.instructionCount} insns`,
      f.slotCount !== f.instructionCount ? `${f.slotCount} slots` : '',
      f.calls.length ? `calls ${f.calls.join(', ')}` : 'no calls',
      f.helperCalls.length ? `helpers ${f.helperCalls.join(', ')}` : '',
      f.backEdges.length ? `back-edges ${f.backEdges.map((b) => `${b.index}->${b.target}`).join(', ')}` : '',
      [f.binding, f.btfLinkage !== undefined ? `BTF ${f.btfLinkage}` : ''].filter(Boolean).join(', '),
    ]),
  );
}

const size = (n: number | undefined) => (n === undefined ? '?' : `${n} B`);

/** Left-aligned columns; columns empty in every row are dropped, and so are empty cells at a row's end. */
function table(rows: string[][], prefix = '  '): string[] {
  if (rows.length === 0) return [`${prefix}none`];
  const used = rows[0].map((_, c) => rows.some((row) => row[c] !== ''));
  const kept = rows.map((row) => row.filter((_, c) => used[c]));
  const widths = kept[0].map((_, c) => Math.max(...kept.map((row) => row[c].length)));
  return kept.map((row) => {
    let last = row.length;
    while (last > 0 && row[last - 1] === '') last--;
    return prefix + row.slice(0, last).map((cell, c) => (c === last - 1 ? cell : cell.padEnd(widths[c]))).join('  ');
  });
}
