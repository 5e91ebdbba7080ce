/**
 * Bindings for kernel structs generated from a kernel's BTF, the way `aya-tool generate` or
 * bindgen over `bpftool btf dump ... format c` make them, cut down to the members a program uses:
 * each struct keeps those members at their offsets in that kernel, with byte-array padding
 * between them, so the offsets are baked in exactly as in a full binding. Anonymous members are
 * named `__bindgen_anon_N` with a `<parent>__bindgen_ty_N` type, as bindgen names them.
 *
 * The same layout is also written as C (structs marked preserve_access_index, anonymous members
 * anonymous), so clang's CO-RE relocations for the same accesses can be compared with ours.
 */
import { resolveType, type Btf, type BtfComposite, type BtfMember, type BtfType } from '@bpf-linker/core';

/** Struct name → the members to keep (a member inside an anonymous struct or union is found through it). */
export type BindingSpec = Record<string, string[]>;

interface Field {
  name: string;
  offset: number;
  size: number;
  rust: string;
  c: (name: string) => string;
}

export function kernelBindings(btf: Btf, spec: BindingSpec): { rust: string; c: string } {
  const structs = new Map<string, BtfComposite<'STRUCT' | 'UNION'>>();
  for (const t of btf.types) {
    if (!(t.name in spec) || structs.has(t.name)) continue;
    if (t.kind === 'STRUCT' || t.kind === 'UNION') structs.set(t.name, t as BtfComposite<'STRUCT' | 'UNION'>);
    // `typedef struct { uid_t val; } kuid_t;`: bindgen names the struct after the typedef.
    if (t.kind === 'TYPEDEF') {
      const inner = resolveType(btf, t.typeId);
      if ((inner.kind === 'STRUCT' || inner.kind === 'UNION') && inner.name === '') structs.set(t.name, inner as BtfComposite<'STRUCT' | 'UNION'>);
    }
  }
  const specName = (t: BtfType): string | undefined => [...structs].find(([, s]) => s === t)?.[0];
  for (const name of Object.keys(spec)) if (!structs.has(name)) throw new Error(`no struct ${name} in the BTF`);

  const rust: string[] = ['#[allow(non_camel_case_types, non_snake_case, dead_code)]', 'mod kernel {'];
  const c: string[] = [];
  const sizeOf = (id: number): number => {
    const t = resolveType(btf, id);
    if (t.kind === 'INT' || t.kind === 'ENUM' || t.kind === 'STRUCT' || t.kind === 'UNION') return (t as { size: number }).size;
    if (t.kind === 'PTR') return 8;
    if (t.kind === 'ARRAY') return t.nelems * sizeOf(t.elemTypeId);
    throw new Error(`no size for ${t.kind}`);
  };
  const typeOf = (id: number): { rust: string; c: (n: string) => string } => {
    const t = resolveType(btf, id);
    if (t.kind === 'INT') {
      const signed = t.encoding === 'signed';
      const rustName = `${signed ? 'i' : 'u'}${t.size * 8}`;
      const cName = { 1: 'char', 2: 'short', 4: 'int', 8: 'long long' }[t.size] ?? 'char';
      return { rust: rustName, c: (n) => `${signed || t.size === 1 ? '' : 'unsigned '}${cName} ${n}` };
    }
    if (t.kind === 'PTR') {
      const p = resolveType(btf, t.typeId) as BtfType;
      const name = specName(p);
      if (name) return { rust: `*mut ${name}`, c: (n) => `${p.kind === 'STRUCT' ? 'struct' : 'union'} ${name} *${n}` };
      return { rust: '*mut u8', c: (n) => `void *${n}` };
    }
    if (t.kind === 'ARRAY') {
      const e = typeOf(t.elemTypeId);
      return { rust: `[${e.rust}; ${t.nelems}]`, c: (n) => e.c(`${n}[${t.nelems}]`) };
    }
    const name = specName(t as BtfType);
    if (name) return { rust: name, c: (n) => `${t.kind === 'STRUCT' ? 'struct' : 'union'} ${name} ${n}` };
    const size = sizeOf(id);
    return { rust: `[u8; ${size}]`, c: (n) => `char ${n}[${size}]` };
  };

  /** Fields of `t` for `wanted` member names, looking into anonymous members. */
  const fieldsOf = (owner: string, t: BtfComposite<'STRUCT' | 'UNION'>, wanted: string[], anonCount: { n: number }): Field[] => {
    const out: Field[] = [];
    for (const m of t.members) {
      if (m.bitfieldSize) continue;
      if (m.name && wanted.includes(m.name)) {
        const ty = typeOf(m.typeId);
        out.push({ name: m.name, offset: m.bitOffset / 8, size: sizeOf(m.typeId), rust: ty.rust, c: ty.c });
      } else if (!m.name) {
        const inner = resolveType(btf, m.typeId) as BtfType;
        if (inner.kind !== 'STRUCT' && inner.kind !== 'UNION') continue;
        const innerWanted = wanted.filter((w) => hasMember(btf, inner as BtfComposite<'STRUCT' | 'UNION'>, w));
        if (innerWanted.length === 0) continue;
        const n = ++anonCount.n;
        const typeName = `${owner}__bindgen_ty_${n}`;
        const innerFields = fieldsOf(typeName, inner as BtfComposite<'STRUCT' | 'UNION'>, innerWanted, { n: 0 });
        emit(typeName, inner.kind, (inner as { size: number }).size, innerFields, true);
        const cBody = cFields(inner.kind, (inner as { size: number }).size, innerFields);
        out.push({
          name: `__bindgen_anon_${n}`,
          offset: m.bitOffset / 8,
          size: (inner as { size: number }).size,
          rust: typeName,
          c: () => `${inner.kind === 'STRUCT' ? 'struct' : 'union'} {\n${cBody.map((l) => `  ${l}`).join('\n')}\n  }`,
        });
      }
    }
    return out.sort((a, b) => a.offset - b.offset);
  };

  const cFields = (kind: string, size: number, fields: Field[]): string[] => {
    if (kind === 'UNION') return [...fields.map((f) => `  ${f.c(f.name)};`), `  char _size[${size}];`];
    const lines: string[] = [];
    let at = 0;
    let pad = 0;
    for (const f of fields) {
      if (f.offset > at) lines.push(`  char _pad${pad++}[${f.offset - at}];`);
      lines.push(`  ${f.name.startsWith('__bindgen_anon_') ? f.c('') : f.c(f.name)};`);
      at = f.offset + f.size;
    }
    if (size > at) lines.push(`  char _pad${pad++}[${size - at}];`);
    return lines;
  };

  const emit = (name: string, kind: string, size: number, fields: Field[], anonymous: boolean) => {
    if (kind === 'UNION') {
      rust.push('    #[repr(C)]', '    #[derive(Copy, Clone)]', `    pub union ${name} {`);
      for (const f of fields) rust.push(`        pub ${f.name}: ${f.rust},`);
      rust.push(`        pub _size: [u8; ${size}],`, '    }');
    } else {
      rust.push('    #[repr(C)]', '    #[derive(Copy, Clone)]', `    pub struct ${name} {`);
      let at = 0;
      let pad = 0;
      for (const f of fields) {
        if (f.offset > at) rust.push(`        pub _pad${pad++}: [u8; ${f.offset - at}],`);
        rust.push(`        pub ${f.name}: ${f.rust},`);
        at = f.offset + f.size;
      }
      if (size > at) rust.push(`        pub _pad${pad++}: [u8; ${size - at}],`);
      rust.push('    }');
    }
    if (!anonymous) {
      c.push(`${kind === 'STRUCT' ? 'struct' : 'union'} ${name} {`, ...cFields(kind, size, fields), '} __attribute__((preserve_access_index));', '');
    }
  };

  // Declared first in C, so pointers and embedded structs refer to complete types in order.
  for (const [name, wanted] of Object.entries(spec).reverse()) {
    const t = structs.get(name)!;
    for (const w of wanted) if (!hasMember(btf, t, w)) throw new Error(`${name} has no member ${w} in this BTF`);
    emit(name, t.kind, t.size, fieldsOf(name, t, wanted, { n: 0 }), false);
  }
  c.unshift(...Object.keys(spec).map((n) => `${structs.get(n)!.kind === 'STRUCT' ? 'struct' : 'union'} ${n};`), '');
  rust.push('}');
  return { rust: rust.join('\n') + '\n', c: c.join('\n') };
}

function hasMember(btf: Btf, t: BtfComposite<'STRUCT' | 'UNION'>, name: string): boolean {
  return t.members.some((m: BtfMember) => {
    if (m.name === name) return true;
    if (m.name) return false;
    const inner = resolveType(btf, m.typeId);
    return (inner.kind === 'STRUCT' || inner.kind === 'UNION') && hasMember(btf, inner as BtfComposite<'STRUCT' | 'UNION'>, name);
  });
}

