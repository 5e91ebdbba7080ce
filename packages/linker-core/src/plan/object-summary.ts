/**
 * A small JSON description of a built object — its programs, maps, sections and whether it has
 * BTF — from inspectObject, for hosts that hand it to code (a bundler's `?manifest` import) rather
 * than print it.
 */
import { sha256 } from '../cache/key';
import { inspectObject } from '../object/inspect';

export interface ObjectSummary {
  /** The program name the object was built as. */
  name: string;
  size: number;
  sha256: string;
  license?: string;
  /** Entry points: name, ELF section (which gives libbpf the program type), instruction count. */
  programs: { name: string; section: string; instructions: number }[];
  maps: { name: string; type?: string; keySize?: number; valueSize?: number; maxEntries?: number }[];
  /** ELF section names in file order. */
  sections: string[];
  /** `.BTF` is present (the kernel and libbpf need it for BTF-defined maps and CO-RE). */
  btf: boolean;
  /** `.BTF.ext` is present (function and line info). */
  btfExt: boolean;
}

export function summarizeObject(name: string, bytes: Uint8Array): ObjectSummary {
  const i = inspectObject(bytes);
  const sections = i.sections.map((s) => s.name);
  const summary: ObjectSummary = {
    name,
    size: bytes.length,
    sha256: sha256(bytes),
    programs: i.programs.map((p) => ({ name: p.name, section: p.section, instructions: p.instructionCount })),
    maps: i.maps.map((m) => ({ name: m.name, type: m.typeName, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries })),
    sections,
    btf: sections.includes('.BTF'),
    btfExt: sections.includes('.BTF.ext'),
  };
  if (i.license !== undefined) summary.license = i.license;
  return summary;
}
