/**
 * A decoder for BPF instructions (the bytes of a program section) and the few analyses
 * tests need: back-edges (loops survive), BPF-to-BPF calls (helpers stay out of line),
 * and whether ALU32/JMP32 instructions appear (-mcpu=v3 vs v1).
 *
 * Encoding (include/uapi/linux/bpf.h): 8-byte slots `{ u8 code; u8 dst:4, src:4; s16 off;
 * s32 imm; }`; `lddw` (BPF_LD|BPF_IMM|BPF_DW) takes two slots and carries the high half of
 * its 64-bit immediate in the second slot's imm. On big-endian (bpfeb) objects the register
 * nibbles swap places (dst is the high nibble) and off/imm are big-endian.
 *
 * Indexes are slot numbers, as llvm-objdump prints them, so a `lddw` advances them by two.
 */

import { ObjectFormatError } from './errors';

export class BpfInsnFormatError extends ObjectFormatError {
  constructor(message: string) {
    super(message);
    this.name = 'BpfInsnFormatError';
  }
}

export type InsnClass = 'LD' | 'LDX' | 'ST' | 'STX' | 'ALU' | 'JMP' | 'JMP32' | 'ALU64';
export type InsnSize = 'W' | 'H' | 'B' | 'DW';
export type InsnMode = 'IMM' | 'ABS' | 'IND' | 'MEM' | 'MEMSX' | 'ATOMIC' | 'UNKNOWN';

const CLASSES: readonly InsnClass[] = ['LD', 'LDX', 'ST', 'STX', 'ALU', 'JMP', 'JMP32', 'ALU64'];
const SIZES: readonly InsnSize[] = ['W', 'H', 'B', 'DW'];
const MODES: Record<number, InsnMode> = { 0x00: 'IMM', 0x20: 'ABS', 0x40: 'IND', 0x60: 'MEM', 0x80: 'MEMSX', 0xc0: 'ATOMIC' };
const ALU_OPS = ['add', 'sub', 'mul', 'div', 'or', 'and', 'lsh', 'rsh', 'neg', 'mod', 'xor', 'mov', 'arsh', 'end'];
const JMP_OPS = ['ja', 'jeq', 'jgt', 'jge', 'jset', 'jne', 'jsgt', 'jsge', 'call', 'exit', 'jlt', 'jle', 'jslt', 'jsle'];

/** src_reg values of a CALL: a helper by id, a BPF function (relative imm), a kernel function. */
export const BPF_PSEUDO_CALL = 1;
export const BPF_PSEUDO_KFUNC_CALL = 2;

export interface BpfInsn {
  /** Slot index inside the decoded byte range. */
  index: number;
  byteOffset: number;
  /** The raw opcode byte. */
  code: number;
  cls: InsnClass;
  /**
   * ALU/ALU64: add, sub, …, mov, arsh, end; JMP/JMP32: ja, jeq, …, call, exit;
   * LD/LDX/ST/STX: the mode in lower case (imm, mem, memsx, atomic, abs, ind).
   * Unassigned encodings read `op0xNN`.
   */
  op: string;
  /** ALU/JMP operand source: K = immediate, X = register (also BPF_TO_BE for `end`). */
  source: 'K' | 'X';
  /** Access size, for LD/LDX/ST/STX. */
  size?: InsnSize;
  /** Addressing mode, for LD/LDX/ST/STX. */
  mode?: InsnMode;
  dst: number;
  src: number;
  off: number;
  imm: number;
  /** The full 64-bit immediate of a `lddw`. */
  imm64?: bigint;
  /** 2 for `lddw`, else 1. */
  slots: 1 | 2;
}

/** Decodes every instruction of `bytes` (a whole section or one function's range). */
export function decodeInstructions(bytes: Uint8Array, littleEndian = true): BpfInsn[] {
  if (bytes.length % 8 !== 0) {
    throw new BpfInsnFormatError(`instruction bytes are ${bytes.length} long, not a multiple of 8`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: BpfInsn[] = [];
  for (let at = 0; at < bytes.length; ) {
    const insn = decodeOne(view, at, littleEndian);
    if (insn.slots === 2) {
      if (at + 16 > bytes.length) throw new BpfInsnFormatError(`lddw at slot ${at / 8} has no second half`);
      const hi = view.getUint32(at + 12, littleEndian);
      insn.imm64 = (BigInt(hi) << 32n) | BigInt(insn.imm >>> 0);
    }
    out.push(insn);
    at += insn.slots * 8;
  }
  return out;
}

function decodeOne(view: DataView, at: number, le: boolean): BpfInsn {
  const code = view.getUint8(at);
  const regs = view.getUint8(at + 1);
  const cls = CLASSES[code & 0x07];
  const insn: BpfInsn = {
    index: at / 8,
    byteOffset: at,
    code,
    cls,
    op: '',
    source: code & 0x08 ? 'X' : 'K',
    dst: le ? regs & 0x0f : regs >> 4,
    src: le ? regs >> 4 : regs & 0x0f,
    off: view.getInt16(at + 2, le),
    imm: view.getInt32(at + 4, le),
    slots: 1,
  };
  const hi = code >> 4;
  if (cls === 'ALU' || cls === 'ALU64') {
    insn.op = ALU_OPS[hi] ?? opUnknown(code);
  } else if (cls === 'JMP' || cls === 'JMP32') {
    insn.op = JMP_OPS[hi] ?? opUnknown(code);
  } else {
    insn.size = SIZES[(code >> 3) & 0x03];
    insn.mode = MODES[code & 0xe0] ?? 'UNKNOWN';
    insn.op = insn.mode === 'UNKNOWN' ? opUnknown(code) : insn.mode.toLowerCase();
    if (cls === 'LD' && insn.mode === 'IMM' && insn.size === 'DW') insn.slots = 2;
  }
  return insn;
}

const opUnknown = (code: number) => `op0x${code.toString(16).padStart(2, '0')}`;

const isJumpClass = (i: BpfInsn) => i.cls === 'JMP' || i.cls === 'JMP32';

/** A jump (conditional or not) as opposed to call/exit. */
export function isJump(i: BpfInsn): boolean {
  return isJumpClass(i) && i.op !== 'call' && i.op !== 'exit' && !i.op.startsWith('op0x');
}

/** Slot index a jump lands on; `gotol` (JMP32|JA) keeps its offset in imm. */
export function jumpTarget(i: BpfInsn): number | undefined {
  if (!isJump(i)) return undefined;
  const delta = i.cls === 'JMP32' && i.op === 'ja' ? i.imm : i.off;
  return i.index + 1 + delta;
}

export interface BackEdge {
  /** Slot of the jump. */
  index: number;
  /** Slot it jumps to (≤ index). */
  target: number;
  insn: BpfInsn;
}

/** Jumps whose target is at or before themselves: what remains of a loop that was not unrolled. */
export function findBackEdges(insns: BpfInsn[]): BackEdge[] {
  const out: BackEdge[] = [];
  for (const insn of insns) {
    const target = jumpTarget(insn);
    if (target !== undefined && target <= insn.index) out.push({ index: insn.index, target, insn });
  }
  return out;
}

export function isCall(i: BpfInsn): boolean {
  return i.cls === 'JMP' && i.op === 'call';
}

/** The symbol a relocation at an instruction refers to, as far as call analysis needs it. */
export interface InsnRelocation {
  /** Byte offset of the relocated instruction in the section. */
  offset: number;
  symbol: {
    name: string;
    /** ELF symbol type: 'func', 'section', 'notype' (an undefined extern), … */
    type: string;
    /** st_value: byte offset inside its section. */
    value: number;
    /** Section the symbol is defined in; undefined for an undefined symbol. */
    sectionName?: string;
  };
}

export interface BpfCall {
  index: number;
  byteOffset: number;
  insn: BpfInsn;
  /** The symbol named by the call's relocation (a function, or an extern declaration). */
  symbol?: string;
  /** Section of the callee when known; undefined means the caller's own section. */
  targetSection?: string;
  /** Callee's first slot inside `targetSection` (or the caller's section), when known. */
  targetIndex?: number;
}

/**
 * BPF-to-BPF calls: CALL with src_reg == BPF_PSEUDO_CALL, or a CALL whose relocation names a
 * function symbol. With a relocation the callee is `sym.value / 8 + imm + 1` in the symbol's
 * section (libbpf's rule; clang writes imm = -1 against a function symbol and the in-section
 * distance against a section symbol); without one it is `index + imm + 1` in the same section.
 */
export function findBpfToBpfCalls(insns: BpfInsn[], relocations: InsnRelocation[] = []): BpfCall[] {
  const byOffset = new Map(relocations.map((r) => [r.offset, r]));
  const out: BpfCall[] = [];
  for (const insn of insns) {
    if (!isCall(insn)) continue;
    const rel = byOffset.get(insn.byteOffset);
    if (insn.src !== BPF_PSEUDO_CALL && rel?.symbol.type !== 'func') continue;
    const call: BpfCall = { index: insn.index, byteOffset: insn.byteOffset, insn };
    if (rel) {
      if (rel.symbol.type !== 'section') call.symbol = rel.symbol.name;
      if (rel.symbol.sectionName !== undefined) {
        call.targetSection = rel.symbol.sectionName;
        call.targetIndex = Math.floor(rel.symbol.value / 8) + insn.imm + 1;
      }
    } else {
      call.targetIndex = insn.index + insn.imm + 1;
    }
    out.push(call);
  }
  return out;
}

/** Helper ids called (CALL with src_reg 0), in order of appearance. */
export function findHelperCalls(insns: BpfInsn[]): number[] {
  return insns.filter((i) => isCall(i) && i.src === 0).map((i) => i.imm);
}

/**
 * Any 32-bit ALU instruction. Byte swaps (`end`) are excluded: they live in the ALU class
 * even in v1 code, so they say nothing about alu32.
 */
export function usesAlu32(insns: BpfInsn[]): boolean {
  return insns.some((i) => i.cls === 'ALU' && i.op !== 'end');
}

/** Any JMP32-class instruction (v3 and later). */
export function usesJmp32(insns: BpfInsn[]): boolean {
  return insns.some((i) => i.cls === 'JMP32');
}

// ---------------------------------------------------------------------------------------
// Disassembly in llvm-objdump's notation (close enough to read side by side with it).

const hex = (n: number | bigint) => (n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`);
const signedHex = (n: number) => (n < 0 ? hex(n) : `+${hex(n)}`);
const ALU_SYMBOL: Record<string, string> = {
  add: '+=', sub: '-=', mul: '*=', div: '/=', or: '|=', and: '&=', lsh: '<<=', rsh: '>>=',
  mod: '%=', xor: '^=', mov: '=', arsh: 's>>=',
};
const JMP_SYMBOL: Record<string, string> = {
  jeq: '==', jgt: '>', jge: '>=', jset: '&', jne: '!=', jsgt: 's>', jsge: 's>=',
  jlt: '<', jle: '<=', jslt: 's<', jsle: 's<=',
};
const SIZE_BITS: Record<InsnSize, number> = { B: 8, H: 16, W: 32, DW: 64 };
const ATOMIC_OPS: Record<number, string> = { 0x00: 'add', 0x40: 'or', 0x50: 'and', 0xa0: 'xor' };

/** One instruction as text, e.g. `r1 += -0x4`, `if w6 < w8 goto -0xb`, `call 0x1`. */
export function formatInsn(i: BpfInsn): string {
  switch (i.cls) {
    case 'ALU':
    case 'ALU64':
      return formatAlu(i);
    case 'JMP':
    case 'JMP32':
      return formatJmp(i);
    default:
      return formatMem(i);
  }
}

function formatAlu(i: BpfInsn): string {
  const r = i.cls === 'ALU64' ? 'r' : 'w';
  const dst = `${r}${i.dst}`;
  const operand = i.source === 'X' ? `${r}${i.src}` : hex(i.imm);
  switch (i.op) {
    case 'neg':
      return `${dst} = -${dst}`;
    case 'end': {
      // ALU class: le/be by the source bit; ALU64 class (v4): unconditional bswap.
      // Always on the full register, so objdump spells it rN in both classes.
      const reg = `r${i.dst}`;
      return `${reg} = ${i.cls === 'ALU64' ? 'bswap' : i.source === 'X' ? 'be' : 'le'}${i.imm} ${reg}`;
    }
    case 'mov':
      if (i.source === 'X' && (i.off === 8 || i.off === 16 || i.off === 32)) return `${dst} = (s${i.off})${r}${i.src}`; // movsx (v4)
      return `${dst} = ${operand}`;
    case 'div':
    case 'mod':
      return `${dst} ${i.off === 1 ? 's' : ''}${ALU_SYMBOL[i.op]} ${operand}`; // sdiv/smod (v4)
    default: {
      const sym = ALU_SYMBOL[i.op];
      return sym ? `${dst} ${sym} ${operand}` : unknown(i);
    }
  }
}

function formatJmp(i: BpfInsn): string {
  const r = i.cls === 'JMP32' ? 'w' : 'r';
  switch (i.op) {
    case 'call':
      return i.source === 'X' ? `callx r${i.dst}` : `call ${hex(i.imm)}`;
    case 'exit':
      return 'exit';
    case 'ja':
      return i.cls === 'JMP32' ? `gotol ${signedHex(i.imm)}` : `goto ${signedHex(i.off)}`;
    default: {
      const sym = JMP_SYMBOL[i.op];
      if (!sym) return unknown(i);
      const rhs = i.source === 'X' ? `${r}${i.src}` : hex(i.imm);
      return `if ${r}${i.dst} ${sym} ${rhs} goto ${signedHex(i.off)}`;
    }
  }
}

function formatMem(i: BpfInsn): string {
  const size = i.size ?? 'W';
  const bits = SIZE_BITS[size];
  const addr = `(r${i.cls === 'LDX' ? i.src : i.dst} ${i.off < 0 ? '-' : '+'} ${hex(Math.abs(i.off))})`;
  switch (`${i.cls}:${i.mode}`) {
    case 'LD:IMM':
      return i.imm64 === undefined ? unknown(i) : `r${i.dst} = ${hex(BigInt.asIntN(64, i.imm64))} ll`;
    case 'LD:ABS':
      return `r0 = *(u${bits} *)skb[${hex(i.imm)}]`;
    case 'LD:IND':
      return `r0 = *(u${bits} *)skb[r${i.src}]`;
    case 'LDX:MEM':
      return `r${i.dst} = *(u${bits} *)${addr}`;
    case 'LDX:MEMSX':
      return `r${i.dst} = *(s${bits} *)${addr}`;
    case 'ST:MEM':
      return `*(u${bits} *)${addr} = ${hex(i.imm)}`;
    case 'STX:MEM':
      return `*(u${bits} *)${addr} = r${i.src}`;
    case 'STX:ATOMIC':
      return formatAtomic(i, bits, addr);
    default:
      return unknown(i);
  }
}

function formatAtomic(i: BpfInsn, bits: number, addr: string): string {
  const r = bits === 64 ? 'r' : 'w';
  const src = `${r}${i.src}`;
  const inner = addr.slice(1, -1);
  switch (i.imm) {
    case 0xe1:
      return `${src} = xchg${bits === 64 ? '' : '32'}_${bits}(${inner}, ${src})`;
    case 0xf1:
      return `${r}0 = cmpxchg${bits === 64 ? '' : '32'}_${bits}(${inner}, ${r}0, ${src})`;
    case 0x100: {
      // load-acquire reads from src+off into dst, unlike the other atomics.
      const from = `(r${i.src} ${i.off < 0 ? '-' : '+'} ${hex(Math.abs(i.off))})`;
      return `${r}${i.dst} = load_acquire((u${bits} *)${from})`;
    }
    case 0x110:
      return `store_release((u${bits} *)${addr}, ${src})`;
    default:
      break;
  }
  const name = ATOMIC_OPS[i.imm & ~0x01];
  if (name === undefined) return unknown(i);
  if (i.imm & 0x01) return `${src} = atomic_fetch_${name}((u${bits} *)${addr}, ${src})`;
  return `lock *(u${bits} *)${addr} ${ALU_SYMBOL[name]} ${src}`;
}

const unknown = (i: BpfInsn) => `<unknown opcode 0x${i.code.toString(16).padStart(2, '0')}>`;

/** `index: text` lines for a whole instruction list. */
export function disassemble(insns: BpfInsn[]): string {
  return insns.map((i) => `${String(i.index).padStart(6)}: ${formatInsn(i)}`).join('\n');
}
