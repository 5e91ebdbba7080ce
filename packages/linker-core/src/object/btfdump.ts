/**
 * A text dump of BTF in the format of btfdump's `btf dump` (the crate upstream bpf-linker's
 * BTF tests pipe into FileCheck), so those checks can be ported verbatim:
 *
 *   #0: <VOID>
 *   #1: <INT> 'int' bits:32 off:0 enc:signed
 *   #2: <STRUCT> 'foo' sz:8 n:2
 *   \t#00 'a' off:0 --> [1]
 *   #3: <FUNC> 'main' --> global [4]
 *
 * btfdump's quirks are kept where a check might depend on them: ENUM values print as
 * int32 whatever their signedness, DECL_TAG's component index prints as uint32. One
 * deliberate difference: ENUM64 values print correctly (btfdump 0.0.4 miscomputes them).
 */
import {
  Btf,
  BtfFormatError,
  BtfType,
  BtfVarLinkage,
  resolveType,
  typeById,
} from './btf';
import { BtfExt, BtfExtCoreRelo } from './btf-ext';

export interface BtfDumpOptions {
  /** Type lines (default true). */
  types?: boolean;
  /** Func info sections (default false, as in btfdump). */
  funcInfo?: boolean;
  /** Line info sections (default false, as in btfdump). */
  lineInfo?: boolean;
  /** CO-RE relocation sections (default true, as in btfdump). */
  coreRelos?: boolean;
}

/** btfdump's stand-in for an empty name. */
const anon = (s: string) => (s === '' ? '<anon>' : s);
const idx2 = (i: number) => String(i).padStart(2, '0');

const VAR_KIND: Record<BtfVarLinkage, string> = { static: 'static', global: 'global-alloc', extern: 'global-extern' };

/** One type in btfdump's notation, without the `#id: ` prefix; members on `\n\t#NN` lines. */
export function formatBtfType(t: BtfType): string {
  const sub = (lines: string[]) => lines.map((l, i) => `\n\t#${idx2(i)} ${l}`).join('');
  switch (t.kind) {
    case 'INT':
      return `<INT> '${anon(t.name)}' bits:${t.bits} off:${t.bitOffset}${t.encoding === 'none' ? '' : ` enc:${t.encoding}`}`;
    case 'PTR':
    case 'VOLATILE':
    case 'CONST':
    case 'RESTRICT':
      return `<${t.kind}> --> [${t.typeId}]`;
    case 'ARRAY':
      return `<ARRAY> n:${t.nelems} idx-->[${t.indexTypeId}] val-->[${t.elemTypeId}]`;
    case 'STRUCT':
    case 'UNION':
      return (
        `<${t.kind}> '${anon(t.name)}' sz:${t.size} n:${t.members.length}` +
        sub(t.members.map((m) => `'${anon(m.name)}' off:${m.bitOffset}${m.bitfieldSize ? ` sz:${m.bitfieldSize}` : ''} --> [${m.typeId}]`))
      );
    case 'ENUM':
      return (
        `<ENUM> '${anon(t.name)}' sz:${t.size} n:${t.values.length}` +
        sub(t.values.map((v) => `${anon(v.name)} = ${v.value | 0}`))
      );
    case 'ENUM64':
      return (
        `<ENUM64> '${anon(t.name)}' sz:${t.size} n:${t.values.length}` +
        sub(t.values.map((v) => `${anon(v.name)} = ${v.value}`))
      );
    case 'FWD':
      return `<FWD> '${anon(t.name)}' kind:${t.fwdKind}`;
    case 'TYPEDEF':
    case 'TYPE_TAG':
      return `<${t.kind}> '${anon(t.name)}' --> [${t.typeId}]`;
    case 'FUNC':
      return `<FUNC> '${anon(t.name)}' --> ${t.linkage} [${t.typeId}]`;
    case 'FUNC_PROTO':
      return (
        `<FUNC_PROTO> r-->[${t.returnTypeId}] n:${t.params.length}` +
        sub(t.params.map((p) => `'${anon(p.name)}' --> [${p.typeId}]`))
      );
    case 'VAR':
      return `<VAR> '${anon(t.name)}' kind:${VAR_KIND[t.linkage]} --> [${t.typeId}]`;
    case 'DATASEC':
      return (
        `<DATASEC> '${anon(t.name)}' sz:${t.size} n:${t.vars.length}` +
        sub(t.vars.map((v) => `off:${v.offset} sz:${v.size} --> [${v.typeId}]`))
      );
    case 'FLOAT':
      return `<FLOAT> '${anon(t.name)}' sz:${t.size}`;
    case 'DECL_TAG':
      return `<DECL_TAG> '${anon(t.name)}' --> [${t.typeId}] comp_idx:${t.componentIdx >>> 0}`;
  }
}

/** The whole dump, one `#id: …` entry per type starting with `#0: <VOID>`, newline-terminated. */
export function formatBtfDump(btf: Btf, ext?: BtfExt, opts: BtfDumpOptions = {}): string {
  const out: string[] = [];
  if (opts.types ?? true) {
    out.push('#0: <VOID>');
    for (const t of btf.types) out.push(`#${t.id}: ${formatBtfType(t)}`);
  }
  if (ext && opts.funcInfo) {
    ext.funcInfo.forEach((sec, i) => {
      out.push('', `Func section #${i} '${sec.section}':`);
      sec.records.forEach((r, j) => out.push(`#${j}: func: insn #${Math.floor(r.insnOff / 8)} --> [${r.typeId}]`));
    });
  }
  if (ext && opts.lineInfo) {
    ext.lineInfo.forEach((sec, i) => {
      out.push('', `Line section #${i} '${sec.section}':`);
      sec.records.forEach((r, j) =>
        out.push(`#${j}: line: insn #${Math.floor(r.insnOff / 8)} --> ${r.line}:${r.column} @ ${r.fileName}\n\t${r.lineText}`),
      );
    });
  }
  if (ext && (opts.coreRelos ?? true)) {
    ext.coreRelos.forEach((sec, i) => {
      out.push('', `Core reloc section #${i} '${sec.section}':`);
      sec.records.forEach((r, j) => {
        // btfdump prints `--> ` and then ` ERROR: …` when it cannot follow the access.
        const path = describeAccess(btf, r);
        const sep = path.startsWith('ERROR:') ? ' ' : '';
        out.push(`#${j}: core_reloc: insn #${Math.floor(r.insnOff / 8)} --> [${r.typeId}] + ${r.accessString}: ${r.kind} --> ${sep}${path}`);
      });
    });
  }
  return out.length === 0 ? '' : out.join('\n') + '\n';
}

/**
 * The access path of a CO-RE field relocation in C-like notation (`struct s[0].a.b[2]`
 * prints as `struct s.a.b[2]`). Anything it cannot follow prints as `ERROR: …` instead of
 * throwing, so a dump of odd input still completes.
 */
export function describeAccess(btf: Btf, r: BtfExtCoreRelo): string {
  try {
    const root = typeById(btf, r.typeId);
    if (root.kind !== 'STRUCT' && root.kind !== 'UNION') {
      return `ERROR: root type [${r.typeId}] is ${root.kind}, not a struct/union`;
    }
    let s = `${root.kind.toLowerCase()} ${anon(root.name)}`;
    if (r.access[0] > 0) s += `[${r.access[0]}]`;
    let cur = resolveType(btf, r.typeId);
    for (let i = 1; i < r.access.length; i++) {
      const a = r.access[i];
      if (cur.kind === 'STRUCT' || cur.kind === 'UNION') {
        const m = cur.members[a];
        if (m === undefined) return `ERROR: member #${a} past the end of [${cur.id}]`;
        s += `.${anon(m.name)}`;
        cur = resolveType(btf, m.typeId);
      } else if (cur.kind === 'ARRAY') {
        s += `[${a}]`;
        cur = resolveType(btf, cur.elemTypeId);
      } else {
        return `ERROR: access #${i} goes into a ${cur.kind}`;
      }
    }
    return s;
  } catch (e) {
    if (e instanceof BtfFormatError) return `ERROR: ${e.message}`;
    throw e;
  }
}
