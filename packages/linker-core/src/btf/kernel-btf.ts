/**
 * A kernel's BTF (`/sys/kernel/btf/vmlinux`, or the `.BTF` of a vmlinux ELF) as the CO-RE stage
 * needs it: which structs and unions exist by name, and whether a member path exists in them the
 * way libbpf will look for it when it relocates an access on load.
 *
 * A kernel's BTF has some 130,000 types; parsing all of them takes about a second, so this reader
 * only records where each type starts and decodes a type when asked.
 */
import { LinkError } from '../errors';
import { BTF_KIND, btfExtraBytes } from '../object/btf';
import { isElf, readElf } from '../inputs/elf';
import { readRegularFile } from '../inputs/file';
import { CORE_AUTO_BTF, DEFAULT_MAX_INPUT_SIZE } from '../options';

const BTF_MAGIC = 0xeb9f;

const KIND = BTF_KIND;
const MODIFIERS: ReadonlySet<number> = new Set([KIND.TYPEDEF, KIND.VOLATILE, KIND.CONST, KIND.RESTRICT, KIND.TYPE_TAG]);

/** What a member's type is, as far as libbpf's field compatibility goes. */
export type AccessShape = 'struct' | 'union' | 'array' | 'pointer' | 'scalar' | 'other';

/** One step of an access below the root type: a member (by name; '' when anonymous) or an array index. */
export type AccessStep = { member: string; shape: AccessShape } | { index: number; shape: AccessShape };

export interface KernelBtf {
  /** The file it was read from. */
  path: string;
  /** Does a struct (or union) with this name exist? */
  has(kind: 'struct' | 'union', name: string): boolean;
  /**
   * Why libbpf could not relocate this access against this BTF, or undefined when it can: the
   * root type by name, then each named member by name (looking through anonymous members),
   * with compatible kinds, and array indexes inside the array (or a flexible array).
   */
  whyNot(kind: 'struct' | 'union', root: string, steps: readonly AccessStep[]): string | undefined;
}

const BTF_HINT = 'pass a kernel BTF: /sys/kernel/btf/vmlinux, or a vmlinux with a .BTF section';

/** The error for a CO-RE target BTF that is not there (also checked before a link starts). */
export function missingCoreBtf(path: string): LinkError {
  return new LinkError('INPUT_NOT_FOUND', `cannot read the CO-RE target BTF ${path}: no such file`, { file: path, hint: BTF_HINT });
}

/**
 * The bytes of a CO-RE target BTF: a regular file only (a device or a FIFO named by mistake is
 * refused without being read), at most DEFAULT_MAX_INPUT_SIZE. Shared by the link and by the
 * cache identities that hash it.
 */
export function readCoreBtfFile(path: string): Uint8Array {
  try {
    return readRegularFile(path, {
      maxBytes: DEFAULT_MAX_INPUT_SIZE,
      noun: 'a BTF file',
      notRegularHint: BTF_HINT,
      directoryHint: `name the file, e.g. ${CORE_AUTO_BTF}`,
      tooLargeHint: BTF_HINT,
    });
  } catch (e) {
    if (e instanceof LinkError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw missingCoreBtf(path);
    throw new LinkError('INPUT_UNREADABLE', `cannot read the CO-RE target BTF ${path}: ${err.code ?? err.message}`, { file: path, hint: BTF_HINT, cause: e });
  }
}

/** Reads a BTF file: raw BTF (`/sys/kernel/btf/*`) or an ELF file with a `.BTF` section (a vmlinux). */
export function readKernelBtf(path: string): KernelBtf {
  const bytes = readCoreBtfFile(path);
  let raw = bytes;
  if (isElf(bytes)) {
    try {
      const elf = readElf(bytes);
      const sec = elf.section('.BTF');
      if (!sec) throw new Error('it has no .BTF section');
      raw = elf.sectionData(sec);
    } catch (e) {
      throw notBtf(path, (e as Error).message);
    }
  }
  try {
    return indexBtf(path, raw);
  } catch (e) {
    throw notBtf(path, (e as Error).message);
  }
}

function notBtf(path: string, why: string): LinkError {
  return new LinkError('INVALID_INPUT', `the CO-RE target BTF ${path} is not usable: ${why}`, {
    file: path,
    hint: 'pass a kernel BTF: /sys/kernel/btf/vmlinux, or a vmlinux built with CONFIG_DEBUG_INFO_BTF',
  });
}

/** Indexes raw BTF bytes (exported for tests). */
export function indexBtf(path: string, bytes: Uint8Array): KernelBtf {
  if (bytes.length < 24) throw new Error('shorter than a BTF header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let le = true;
  if (view.getUint16(0, true) !== BTF_MAGIC) {
    if (view.getUint16(0, false) !== BTF_MAGIC) throw new Error('no BTF magic (0xeb9f)');
    le = false;
  }
  const u32 = (o: number) => view.getUint32(o, le);
  const hdrLen = u32(4);
  const typeOff = hdrLen + u32(8);
  const typeLen = u32(12);
  const strOff = hdrLen + u32(16);
  const strLen = u32(20);
  if (typeOff + typeLen > bytes.length || strOff + strLen > bytes.length) throw new Error('sections past the end of the file');
  const decoder = new TextDecoder();
  const str = (off: number) => {
    const start = strOff + off;
    let end = start;
    while (end < strOff + strLen && bytes[end] !== 0) end++;
    return decoder.decode(bytes.subarray(start, end));
  };

  // Where each type starts (index = type id; 0 is void), and the named structs and unions by
  // the offset of their name (decoding every name would cost more than the whole scan).
  const starts: number[] = [0];
  const composites = new Map<number, number[]>();
  for (let o = typeOff; o < typeOff + typeLen; ) {
    if (o + 12 > typeOff + typeLen) throw new Error('truncated type section');
    const info = u32(o + 4);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    starts.push(o);
    if (kind === KIND.STRUCT || kind === KIND.UNION) {
      const nameOff = u32(o);
      if (nameOff !== 0) {
        const ids = composites.get(nameOff);
        if (ids) ids.push(starts.length - 1);
        else composites.set(nameOff, [starts.length - 1]);
      }
    }
    o += 12 + extraSize(kind, vlen);
  }
  const strings = Buffer.from(bytes.buffer, bytes.byteOffset + strOff, strLen);
  /** Types of `kind` named `name`: every offset where the name is a whole string of the section. */
  const found = new Map<string, number[]>();
  const named = (kind: 'struct' | 'union', name: string): number[] => {
    const key = `${kind} ${name}`;
    const hit = found.get(key);
    if (hit) return hit;
    const want = kind === 'struct' ? KIND.STRUCT : KIND.UNION;
    const needle = Buffer.from(`\0${name}\0`, 'utf8');
    const out: number[] = [];
    for (let at = strings.indexOf(needle); at >= 0; at = strings.indexOf(needle, at + 1)) {
      for (const id of composites.get(at + 1) ?? []) if (kindOf(id) === want) out.push(id);
    }
    found.set(key, out);
    return out;
  };

  const kindOf = (id: number) => (id === 0 ? 0 : (u32(starts[id] + 4) >>> 24) & 0x1f);
  const vlenOf = (id: number) => u32(starts[id] + 4) & 0xffff;
  const refOf = (id: number) => u32(starts[id] + 8);
  const resolve = (id: number) => {
    for (let n = 0; id !== 0 && MODIFIERS.has(kindOf(id)); n++) {
      if (n > starts.length) throw new Error(`type ${id}: modifier cycle`);
      id = refOf(id);
    }
    return id;
  };
  const members = (id: number) => {
    const out: { name: string; type: number }[] = [];
    for (let i = 0; i < vlenOf(id); i++) {
      const m = starts[id] + 12 + i * 12;
      out.push({ name: str(u32(m)), type: u32(m + 4) });
    }
    return out;
  };
  const shapeOf = (id: number): AccessShape => {
    switch (kindOf(id)) {
      case KIND.STRUCT:
        return 'struct';
      case KIND.UNION:
        return 'union';
      case KIND.ARRAY:
        return 'array';
      case KIND.PTR:
        return 'pointer';
      case KIND.INT:
      case KIND.ENUM:
      case KIND.ENUM64:
      case KIND.FLOAT:
        return 'scalar';
      default:
        return 'other';
    }
  };
  /** The member named `name` of composite `id`, looking through anonymous members as libbpf does. */
  const findMember = (id: number, name: string, depth = 0): { type: number; last: boolean } | undefined => {
    const list = members(id);
    for (let i = 0; i < list.length; i++) {
      const m = list[i];
      if (m.name === name) return { type: m.type, last: i === list.length - 1 };
      if (!m.name && depth < 32) {
        const inner = resolve(m.type);
        const k = kindOf(inner);
        if (k === KIND.STRUCT || k === KIND.UNION) {
          const found = findMember(inner, name, depth + 1);
          if (found) return found;
        }
      }
    }
    return undefined;
  };

  const whyNotFrom = (rootId: number, root: string, steps: readonly AccessStep[]): string | undefined => {
    let cur = rootId;
    let where = root;
    let lastMember = false;
    for (const step of steps) {
      if ('member' in step) {
        where += step.member ? `.${step.member}` : '.<anon>';
        // libbpf does not look anonymous local members up: the next named member is searched
        // from the same target type, through its anonymous members.
        if (!step.member) continue;
        const k = kindOf(cur);
        if (k !== KIND.STRUCT && k !== KIND.UNION) return `${where}: the kernel's type is not a struct or union there`;
        const found = findMember(cur, step.member);
        if (!found) return `${where}: no such member in the kernel's ${k === KIND.STRUCT ? 'struct' : 'union'}`;
        cur = resolve(found.type);
        lastMember = found.last;
      } else {
        where += `[${step.index}]`;
        if (kindOf(cur) !== KIND.ARRAY) return `${where}: not an array in the kernel`;
        const a = starts[cur] + 12;
        const nelems = u32(a + 8);
        const flexible = nelems === 0 && lastMember;
        if (!flexible && step.index >= nelems) return `${where}: index outside the kernel's array of ${nelems}`;
        cur = resolve(u32(a));
        lastMember = false;
      }
      const targetShape = shapeOf(cur);
      if (step.shape !== 'other' && targetShape !== step.shape) return `${where}: a ${step.shape} here, a ${targetShape} in the kernel`;
    }
    return undefined;
  };

  return {
    path,
    has: (kind, name) => named(kind, essentialName(name)).length > 0,
    whyNot(kind, root, steps) {
      const ids = named(kind, essentialName(root));
      if (ids.length === 0) return `no ${kind} ${essentialName(root)} in ${path}`;
      // Like libbpf: the access is fine when any candidate of that name satisfies it.
      let first: string | undefined;
      for (const id of ids) {
        const why = whyNotFrom(id, root, steps);
        if (why === undefined) return undefined;
        first ??= why;
      }
      return first;
    },
  };
}

/** libbpf's flavors: `task_struct___old` is relocated as `task_struct`. */
export function essentialName(name: string): string {
  const i = name.indexOf('___');
  return i > 0 ? name.slice(0, i) : name;
}

function extraSize(kind: number, vlen: number): number {
  const size = btfExtraBytes(kind, vlen);
  if (size === undefined) throw new Error(`unknown BTF kind ${kind}`);
  return size;
}
