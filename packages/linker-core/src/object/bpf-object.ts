/**
 * `readBpfObject`: one call that reads a BPF ELF object (ours or clang's) into plain data —
 * functions per executable section with their calls and back-edges, maps with their
 * definitions, global variables, the license, and BTF/BTF.ext — so tests can assert on
 * the result with ordinary equality.
 */
import { EM_BPF, ElfFile, ElfSection, ElfSymbol, SymbolBinding, readElf } from '../inputs/elf';
import {
  Btf,
  BtfDatasec,
  BtfFormatError,
  BtfFuncLinkage,
  BtfType,
  BtfKind,
  BtfVar,
  BtfVarLinkage,
  countKinds,
  describeType,
  findTypes,
  parseBtf,
  resolveType,
  typeById,
  typeSize,
} from './btf';
import { BtfExt, parseBtfExt } from './btf-ext';
import {
  BpfInsn,
  InsnRelocation,
  decodeInstructions,
  findBackEdges,
  findBpfToBpfCalls,
  findHelperCalls,
  usesAlu32,
  usesJmp32,
} from './instructions';
import { ObjectFormatError, inContext, quoteName } from './errors';

export class BpfObjectError extends ObjectFormatError {
  constructor(message: string) {
    super(message);
    this.name = 'BpfObjectError';
  }
}

const SHF_EXECINSTR = 0x4n;

export interface BpfFunction {
  name: string;
  section: string;
  binding: SymbolBinding;
  /** True for functions in `.text` (BPF subprograms rather than program entry points). */
  isSubprogram: boolean;
  /** First slot inside its section. */
  offset: number;
  /** Decoded instructions (a `lddw` counts once), as llvm-objdump lists them. */
  instructionCount: number;
  /** 8-byte slots (a `lddw` counts twice), as the kernel counts them. */
  slotCount: number;
  /** Names of the BPF functions it calls, in call order (`section+slot` when no symbol is found). */
  calls: string[];
  /** Helper ids it calls. */
  helperCalls: number[];
  /** Jumps backwards, with section-relative slots. */
  backEdges: { index: number; target: number }[];
  usesAlu32: boolean;
  usesJmp32: boolean;
  /** Linkage of the BTF FUNC with this name, when BTF has one. */
  btfLinkage?: BtfFuncLinkage;
}

export interface BpfCodeSection {
  name: string;
  /** Bytes. */
  size: number;
  instructionCount: number;
  slotCount: number;
  /** Function symbols in it, by offset. */
  functions: string[];
  usesAlu32: boolean;
  usesJmp32: boolean;
}

export interface BpfMap {
  name: string;
  section: string;
  binding: SymbolBinding;
  /** Size of the map symbol in bytes. */
  symbolSize: number;
  /** Where the definition came from: BTF (`.maps` conventions), a legacy `bpf_map_def`, or nowhere. */
  source: 'btf' | 'legacy' | 'none';
  type?: number;
  /** `array`, `hash`, … (BPF_MAP_TYPE_* in lower case) when the number is known. */
  typeName?: string;
  keySize?: number;
  valueSize?: number;
  maxEntries?: number;
  mapFlags?: number;
  keyTypeId?: number;
  valueTypeId?: number;
  /** C-like spelling of the `__type(key, …)` / `__type(value, …)` types. */
  keyType?: string;
  valueType?: string;
  /** Every integer field of the definition (`__uint(name, n)` or the legacy struct), by name. */
  fields: Record<string, number>;
}

export interface BpfGlobal {
  name: string;
  section: string;
  binding: SymbolBinding;
  /** Byte offset in its section. */
  offset: number;
  size: number;
  btfTypeId?: number;
  btfLinkage?: BtfVarLinkage;
  /** C-like spelling of its BTF type. */
  type?: string;
}

export interface BtfSummary {
  typeCount: number;
  kinds: Partial<Record<BtfKind, number>>;
  funcs: { name: string; linkage: BtfFuncLinkage }[];
  funcInfoCount: number;
  lineInfoCount: number;
  coreReloCount: number;
}

export interface BpfObject {
  littleEndian: boolean;
  sectionNames: string[];
  codeSections: BpfCodeSection[];
  /** Every function symbol in an executable section (entry points and subprograms). */
  programs: BpfFunction[];
  maps: BpfMap[];
  globals: BpfGlobal[];
  license?: string;
  btf?: Btf;
  btfExt?: BtfExt;
  btfSummary?: BtfSummary;
}

/** The parsed `.BTF` and `.BTF.ext` of an ELF object (each undefined when absent). */
export function readObjectBtf(input: Uint8Array | ElfFile): { btf?: Btf; btfExt?: BtfExt } {
  const elf = input instanceof Uint8Array ? readElf(input) : input;
  const btfSec = elf.section('.BTF');
  if (!btfSec) return {};
  const btf = inContext('.BTF section', () => parseBtf(elf.sectionData(btfSec)));
  const extSec = elf.section('.BTF.ext');
  return { btf, btfExt: extSec ? inContext('.BTF.ext section', () => parseBtfExt(elf.sectionData(extSec), btf)) : undefined };
}

export function readBpfObject(bytes: Uint8Array): BpfObject {
  const elf = readElf(bytes);
  if (elf.machine !== EM_BPF) throw new BpfObjectError(`not a BPF object (e_machine ${elf.machine}, expected ${EM_BPF})`);
  // Every section's contents must lie inside the file (libelf refuses the object otherwise).
  for (const sec of elf.sections) inContext(`section ${sec.name ? quoteName(sec.name) : `#${sec.index}`}`, () => elf.sectionData(sec));
  const { btf, btfExt } = readObjectBtf(elf);
  const symbols = inContext('symbol table', () => elf.symbols());
  const byName = new Map(btf ? findTypes(btf, 'FUNC').map((f) => [f.name, f.linkage] as const) : []);
  // .BTF.ext ties each function to its FUNC by position: Rust's functions have mangled ELF names
  // (_ZN…) and sanitized BTF names, so only the position finds theirs.
  const byPosition = new Map<string, BtfFuncLinkage>();
  for (const s of btfExt?.funcInfo ?? []) {
    for (const r of s.records) {
      const t = btf?.types[r.typeId - 1];
      if (t?.kind === 'FUNC') byPosition.set(`${s.section}@${r.insnOff}`, t.linkage);
    }
  }
  const btfFuncs: BtfLinkageOf = (section, byteOffset, name) => byPosition.get(`${section}@${byteOffset}`) ?? byName.get(name);

  const codeSections: BpfCodeSection[] = [];
  const programs: BpfFunction[] = [];
  for (const sec of elf.sections) {
    if ((sec.flags & SHF_EXECINSTR) === 0n || sec.size === 0) continue;
    const { section, functions } = inContext(`code section ${sec.name ? quoteName(sec.name) : `#${sec.index}`}`, () => readCodeSection(elf, sec, symbols, btfFuncs));
    codeSections.push(section);
    programs.push(...functions);
  }

  const out: BpfObject = {
    littleEndian: elf.littleEndian,
    sectionNames: elf.sections.filter((s) => s.index > 0).map((s) => s.name),
    codeSections,
    programs,
    maps: inContext(btf ? '.BTF section' : 'maps', () => readMaps(elf, symbols, btf)),
    globals: inContext('.BTF section', () => readGlobals(symbols, btf)),
  };
  const license = elf.section('license');
  if (license) out.license = inContext('license section', () => cString(elf.sectionData(license)));
  if (btf) {
    out.btf = btf;
    out.btfSummary = {
      typeCount: btf.types.length,
      kinds: countKinds(btf),
      funcs: findTypes(btf, 'FUNC').map((f) => ({ name: f.name, linkage: f.linkage })),
      funcInfoCount: countRecords(btfExt?.funcInfo),
      lineInfoCount: countRecords(btfExt?.lineInfo),
      coreReloCount: countRecords(btfExt?.coreRelos),
    };
  }
  if (btfExt) out.btfExt = btfExt;
  return out;
}

const countRecords = (secs?: { records: unknown[] }[]) => (secs ?? []).reduce((n, s) => n + s.records.length, 0);

function cString(data: Uint8Array): string {
  const end = data.indexOf(0);
  return Buffer.from(data.subarray(0, end < 0 ? data.length : end)).toString('utf8');
}

/** The linkage of the BTF FUNC of the function at `byteOffset` of `section` (named `name` in ELF). */
type BtfLinkageOf = (section: string, byteOffset: number, name: string) => BtfFuncLinkage | undefined;

function readCodeSection(
  elf: ElfFile,
  sec: ElfSection,
  symbols: ElfSymbol[],
  btfFuncs: BtfLinkageOf,
): { section: BpfCodeSection; functions: BpfFunction[] } {
  const insns = decodeInstructions(elf.sectionData(sec), elf.littleEndian);
  const relocations: InsnRelocation[] = elf.relocations(sec).flatMap((r) => {
    const s = symbols[r.symbolIndex];
    if (!s) return [];
    return [{ offset: Number(r.offset), symbol: { name: s.name, type: s.type, value: Number(s.value), sectionName: s.sectionName } }];
  });
  const funcSyms = symbols
    .filter((s) => s.type === 'func' && s.sectionIndex === sec.index)
    .sort((a, b) => Number(a.value - b.value));
  // Slot -> function name, per section, to name callees reached through section symbols.
  const entries = new Map<string, string>();
  for (const s of symbols) {
    const key = `${s.sectionName}\0${Number(s.value)}`;
    if (s.type === 'func' && s.sectionName !== undefined && !entries.has(key)) entries.set(key, s.name);
  }
  const entry = (section: string, slot: number) => entries.get(`${section}\0${slot * 8}`);
  // First instruction at or after `slot` (instructions are in slot order).
  const firstAt = (slot: number) => {
    let lo = 0;
    let hi = insns.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (insns[mid].index < slot) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  const functions = funcSyms.map((sym, i): BpfFunction => {
    const start = Number(sym.value) / 8;
    // A symbol without a size runs to the next function or the end of the section.
    const end = sym.size > 0n ? start + Number(sym.size) / 8 : i + 1 < funcSyms.length ? Number(funcSyms[i + 1].value) / 8 : sec.size / 8;
    const body: BpfInsn[] = end > start ? insns.slice(firstAt(start), firstAt(end)) : [];
    const calls = findBpfToBpfCalls(body, relocations).map((c) => {
      if (c.symbol !== undefined) return c.symbol;
      const section = c.targetSection ?? sec.name;
      return (c.targetIndex !== undefined && entry(section, c.targetIndex)) || `${section}+${c.targetIndex ?? '?'}`;
    });
    const fn: BpfFunction = {
      name: sym.name,
      section: sec.name,
      binding: sym.binding,
      isSubprogram: sec.name === '.text',
      offset: start,
      instructionCount: body.length,
      slotCount: body.reduce((n, x) => n + x.slots, 0),
      calls,
      helperCalls: findHelperCalls(body),
      backEdges: findBackEdges(body).map((b) => ({ index: b.index, target: b.target })),
      usesAlu32: usesAlu32(body),
      usesJmp32: usesJmp32(body),
    };
    const linkage = btfFuncs(sec.name, Number(sym.value), sym.name);
    if (linkage !== undefined) fn.btfLinkage = linkage;
    return fn;
  });

  return {
    section: {
      name: sec.name,
      size: sec.size,
      instructionCount: insns.length,
      slotCount: insns.reduce((n, x) => n + x.slots, 0),
      functions: funcSyms.map((s) => s.name),
      usesAlu32: usesAlu32(insns),
      usesJmp32: usesJmp32(insns),
    },
    functions,
  };
}

// ---------------------------------------------------------------------------------------
// Maps

export const MAP_TYPE_NAMES = [
  'unspec', 'hash', 'array', 'prog_array', 'perf_event_array', 'percpu_hash', 'percpu_array',
  'stack_trace', 'cgroup_array', 'lru_hash', 'lru_percpu_hash', 'lpm_trie', 'array_of_maps',
  'hash_of_maps', 'devmap', 'sockmap', 'cpumap', 'xskmap', 'sockhash', 'cgroup_storage',
  'reuseport_sockarray', 'percpu_cgroup_storage', 'queue', 'stack', 'sk_storage', 'devmap_hash',
  'struct_ops', 'ringbuf', 'inode_storage', 'task_storage', 'bloom_filter', 'user_ringbuf',
  'cgrp_storage', 'arena',
] as const;

const isMapSection = (name: string) => name === '.maps' || name === 'maps' || name.startsWith('maps/');

/** Field names of `struct bpf_map_def`, the legacy (pre-BTF) definition in `maps` sections. */
const LEGACY_FIELDS = ['type', 'key_size', 'value_size', 'max_entries', 'map_flags'] as const;

function readMaps(elf: ElfFile, symbols: ElfSymbol[], btf?: Btf): BpfMap[] {
  const out: BpfMap[] = [];
  for (const sym of symbols) {
    if (!sym.sectionName || !isMapSection(sym.sectionName)) continue;
    if (sym.type !== 'object' && sym.type !== 'notype') continue;
    if (sym.name === '') continue;
    const map: BpfMap = {
      name: sym.name,
      section: sym.sectionName,
      binding: sym.binding,
      symbolSize: Number(sym.size),
      source: 'none',
      fields: {},
    };
    // `.maps` holds zeros (the definition is BTF only); `maps`/`maps/*` hold a bpf_map_def.
    if (!(btf && readBtfMapDef(btf, map)) && map.section !== '.maps') readLegacyMapDef(elf, sym, map);
    if (map.type !== undefined) map.typeName = MAP_TYPE_NAMES[map.type];
    out.push(map);
  }
  return out;
}

/** The type entry `i` of a DATASEC lists (a VAR, or a FUNC in `.ksyms`); an id past the last type is an error naming the DATASEC. */
export function datasecEntryType(btf: Btf, ds: BtfDatasec, i: number): BtfType {
  const id = ds.vars[i].typeId;
  if (id === 0 || id > btf.types.length) {
    throw new BtfFormatError(`DATASEC ${quoteName(ds.name)} entry #${i}: type id ${id} is out of range (${btf.types.length} types)`);
  }
  return btf.types[id - 1];
}

/** The VAR named `name` listed in the DATASEC named `section`. */
function datasecVar(btf: Btf, section: string, name: string): BtfVar | undefined {
  for (const ds of findTypes(btf, 'DATASEC', section)) {
    for (let i = 0; i < ds.vars.length; i++) {
      const t = datasecEntryType(btf, ds, i);
      if (t.kind === 'VAR' && t.name === name) return t;
    }
  }
  return undefined;
}

/**
 * libbpf's conventions for BTF-defined maps: every member is a pointer; `__uint(f, N)` is
 * `int (*f)[N]` (the value is the array length) and `__type(f, T)` is `T *f` (key/value).
 */
function readBtfMapDef(btf: Btf, map: BpfMap): boolean {
  const v = datasecVar(btf, map.section, map.name);
  if (!v) return false;
  const def = resolveType(btf, v.typeId);
  if (def.kind !== 'STRUCT' || !def.members.some((m) => resolveType(btf, m.typeId).kind === 'PTR')) return false;
  map.source = 'btf';
  for (const m of def.members) {
    const ptr = resolveType(btf, m.typeId);
    if (ptr.kind !== 'PTR') continue;
    if (m.name === 'key' || m.name === 'value') {
      const size = typeSize(btf, ptr.typeId);
      const desc = describeType(btf, ptr.typeId);
      if (m.name === 'key') Object.assign(map, { keyTypeId: ptr.typeId, keySize: size, keyType: desc });
      else Object.assign(map, { valueTypeId: ptr.typeId, valueSize: size, valueType: desc });
      continue;
    }
    const arr = resolveType(btf, ptr.typeId);
    if (arr.kind === 'ARRAY') map.fields[m.name] = arr.nelems;
  }
  applyFields(map);
  return true;
}

function readLegacyMapDef(elf: ElfFile, sym: ElfSymbol, map: BpfMap): void {
  const sec = elf.sections[sym.sectionIndex];
  const data = sec ? elf.sectionData(sec) : new Uint8Array(0);
  const start = Number(sym.value);
  const rest = data.length - start;
  const avail = Math.min(Number(sym.size) || rest, rest);
  if (!(avail >= 4 * LEGACY_FIELDS.length - 4)) return; // map_flags is optional in old definitions
  const view = new DataView(data.buffer, data.byteOffset + start, avail);
  LEGACY_FIELDS.forEach((f, i) => {
    if (4 * i + 4 <= avail) map.fields[f] = view.getUint32(4 * i, elf.littleEndian);
  });
  map.source = 'legacy';
  applyFields(map);
}

function applyFields(map: BpfMap): void {
  const f = map.fields;
  if (f.type !== undefined) map.type = f.type;
  if (f.max_entries !== undefined) map.maxEntries = f.max_entries;
  if (f.map_flags !== undefined) map.mapFlags = f.map_flags;
  if (map.keySize === undefined && f.key_size !== undefined) map.keySize = f.key_size;
  if (map.valueSize === undefined && f.value_size !== undefined) map.valueSize = f.value_size;
}

// ---------------------------------------------------------------------------------------
// Global variables

const isDataSection = (name: string) => /^\.(data|bss|rodata)(\.|$)/.test(name);

function readGlobals(symbols: ElfSymbol[], btf?: Btf): BpfGlobal[] {
  const out: BpfGlobal[] = [];
  for (const sym of symbols) {
    if (sym.type !== 'object' || !sym.sectionName || !isDataSection(sym.sectionName)) continue;
    const g: BpfGlobal = {
      name: sym.name,
      section: sym.sectionName,
      binding: sym.binding,
      offset: Number(sym.value),
      size: Number(sym.size),
    };
    const v = btf ? datasecVar(btf, sym.sectionName, sym.name) : undefined;
    if (btf && v) {
      g.btfTypeId = v.typeId;
      g.btfLinkage = v.linkage;
      g.type = describeType(btf, v.typeId);
    }
    out.push(g);
  }
  return out;
}
