/**
 * Stage: parse every unit and merge them into one module with LLVMLinkModules2. Two strong
 * definitions of one symbol become an error naming the symbol and both inputs.
 *
 * Merge order. Each LLVMLinkModules2 call builds a new IRMover, which first walks the whole
 * destination module (its types and metadata). Linking N units one after the other into one
 * growing module therefore costs O(N × size): a rustc link hands us libcore (large, with full
 * debug info) followed by ~380 compiler_builtins codegen units, which took 4.5 s that way and
 * takes 0.3 s as a balanced merge. Units are merged like a binary counter: neighbours of equal
 * size are merged, the earlier one always being the destination, so every pair of definitions
 * meets in input order, as it would one by one (which decides among weak definitions).
 *
 * One difference would remain: IRMover copies a linkonce definition only when the destination
 * already refers to it, so a linkonce definition in a later group that only an earlier group
 * uses would be dropped while the later group is merged on its own. Linkonce definitions are
 * therefore made weak (the same resolution rules, but always copied) while merging, and linkonce
 * again afterwards, so unused ones are still discarded by the optimizer.
 */
import { crashStep, nativeStderrFile, readTimeoutBaseMs } from '../crash-guard';
import { LinkError, describeOrigin } from '../errors';
import type { InputUnit } from '../inputs/types';
import type { Logger } from '../log';
import type { LlvmContext } from '../llvm/context';
import { libraryName, type LlvmLibrary } from '../llvm/library';
import { captureNativeStderr } from '../llvm/stderr';
import {
  LlvmCallError,
  functions,
  globalAliases,
  globalVariables,
  isDeclaration,
  parseBitcode,
  parseIrText,
  valueName,
  verifyModule,
} from '../llvm/module';
import { Linkage, type ModuleRef, type ValueRef } from '../llvm/types';
import type { ProducerRequirement } from './choose-llvm';

const MULTIPLY_DEFINED = /Linking globals named '([^']*)': symbol multiply defined!/;

/** What one parsed unit defines, recorded before merging consumes it. */
interface ParsedUnit {
  where: string;
  unit: InputUnit;
  module: ModuleRef;
  /** Names of definitions with external linkage (the ones that clash when repeated). */
  strong: Set<string>;
}

/** A merged run of consecutive units, `first..last` (indexes into the parsed units). */
interface MergeGroup {
  module: ModuleRef;
  first: number;
  last: number;
  /** Units merged into it; two groups are merged when their sizes are equal. */
  size: number;
}

function* globalValues(lib: LlvmLibrary, m: ModuleRef): Generator<ValueRef> {
  yield* functions(lib, m);
  yield* globalVariables(lib, m);
  yield* globalAliases(lib, m);
}

function strongDefinitions(lib: LlvmLibrary, m: ModuleRef): Set<string> {
  const names = new Set<string>();
  for (const v of globalValues(lib, m)) {
    if (isDeclaration(lib, v) || lib.api.LLVMGetLinkage(v) !== Linkage.External) continue;
    const name = valueName(lib, v);
    if (name && !name.startsWith('llvm.')) names.add(name);
  }
  return names;
}

const LINKONCE_TO_WEAK = new Map<number, number>([
  [Linkage.LinkOnceAny, Linkage.WeakAny],
  [Linkage.LinkOnceODR, Linkage.WeakODR],
]);
const WEAK_TO_LINKONCE = new Map([...LINKONCE_TO_WEAK].map(([a, b]) => [b, a]));

/**
 * Makes the linkonce definitions weak and returns their names. A name that some unit defines
 * as genuinely weak is left alone everywhere: IRMover prefers a weak definition over a linkonce
 * one, and that choice must not change.
 */
function weakenLinkOnce(lib: LlvmLibrary, modules: ModuleRef[]): Set<string> {
  const linkOnce = new Map<string, ValueRef[]>();
  const weak = new Set<string>();
  for (const m of modules) {
    for (const v of globalValues(lib, m)) {
      const linkage = lib.api.LLVMGetLinkage(v);
      if (LINKONCE_TO_WEAK.has(linkage)) {
        const name = valueName(lib, v);
        linkOnce.set(name, [...(linkOnce.get(name) ?? []), v]);
      } else if (WEAK_TO_LINKONCE.has(linkage)) {
        weak.add(valueName(lib, v));
      }
    }
  }
  const changed = new Set<string>();
  for (const [name, values] of linkOnce) {
    if (weak.has(name) || name === '') continue;
    for (const v of values) lib.api.LLVMSetLinkage(v, LINKONCE_TO_WEAK.get(lib.api.LLVMGetLinkage(v))!);
    changed.add(name);
  }
  return changed;
}

function restoreLinkOnce(lib: LlvmLibrary, m: ModuleRef, names: Set<string>): void {
  if (names.size === 0) return;
  for (const v of globalValues(lib, m)) {
    const back = WEAK_TO_LINKONCE.get(lib.api.LLVMGetLinkage(v));
    if (back !== undefined && names.has(valueName(lib, v))) lib.api.LLVMSetLinkage(v, back);
  }
}

/**
 * How long reading one unit may take before the watcher stops the process: LLVM's reader loops
 * forever on some corrupt inputs (llvm-dis does too). Rust's libcore, 10 MB of bitcode, reads in
 * about 0.3 s; the limit is far above any real input.
 */
export function readLimitMs(bytes: number): number {
  return readTimeoutBaseMs() + Math.ceil(bytes / 1_000_000) * 2_000;
}

function parseUnit(ctx: LlvmContext, unit: InputUnit, requirement: ProducerRequirement | undefined, logger: Logger): ParsedUnit {
  const where = describeOrigin(unit.origin.file, unit.origin.member);
  let module: ModuleRef;
  try {
    const capture = nativeStderrFile();
    const read = crashStep({ step: 'reading', file: where, library: libraryName(ctx.lib), limitMs: readLimitMs(unit.bytes.length), capture }, () =>
      captureNativeStderr(capture, () => (unit.kind === 'bitcode' ? parseBitcode(ctx, unit.bytes, where) : parseIrText(ctx, unit.bytes, where))),
    );
    module = read.result;
    if (read.native) {
      const first = read.native.split('\n')[0].slice(0, 200);
      if (/ignoring invalid debug info/.test(read.native)) logger.warn(`${where}: LLVM dropped this input's debug info, which is invalid (no BTF for it): ${first}`);
      logger.debug(`${where}: ${libraryName(ctx.lib)} wrote while reading: ${read.native.slice(0, 2000)}`);
    }
  } catch (e) {
    if (!(e instanceof LlvmCallError)) throw e;
    const { major, minor, patch } = ctx.lib.version;
    throw new LinkError('PARSE_FAILED', `${where}: LLVM ${major}.${minor}.${patch} cannot read this ${unit.kind === 'bitcode' ? 'bitcode' : 'IR'}: ${e.message}`, {
      file: unit.origin.file,
      member: unit.origin.member,
      hint:
        unit.producer && requirement === undefined
          ? 'the file may be corrupt, or produced by an LLVM newer than the one loaded: pass --llvm-path to a newer libLLVM'
          : 'the file is corrupt or was not produced by clang/rustc for BPF; rebuild it',
      cause: e,
    });
  }
  // A module LLVM can read but that is not valid IR (a corrupt input that still parses) fails
  // later passes with "Broken module found" and no input named: check each input on its own.
  const broken = crashStep({ step: 'checking', file: where, library: libraryName(ctx.lib) }, () => verifyModule(ctx.lib, module));
  if (broken !== undefined) {
    ctx.lib.api.LLVMDisposeModule(module);
    throw new LinkError('PARSE_FAILED', `${where}: the ${unit.kind === 'bitcode' ? 'bitcode' : 'IR'} is not valid LLVM IR: ${broken.trim().split('\n').slice(0, 4).join('; ')}`, {
      file: unit.origin.file,
      member: unit.origin.member,
      hint: 'the file is corrupt or was not produced by clang/rustc: rebuild it',
    });
  }
  const placed = functionWithPlacedData(ctx.lib, module);
  if (placed !== undefined) {
    ctx.lib.api.LLVMDisposeModule(module);
    throw new LinkError(
      'INVALID_INPUT',
      `${where}: function '${placed.name}' has ${placed.kind} data (\`${placed.kind}\` in its IR definition); a BPF function can hold only instructions, and libbpf cannot load an object with data in .text`,
      {
        file: unit.origin.file,
        member: unit.origin.member,
        hint: `the file is corrupt or was not produced by clang/rustc for BPF; rebuild it without ${placed.kind} data`,
      },
    );
  }
  return { where, unit, module, strong: strongDefinitions(ctx.lib, module) };
}

/**
 * The first function with `prefix` or `prologue` data. LLVM emits those bytes into the section
 * in front of (or at the start of) the code, so the BPF object would have a .text that is not
 * whole instructions: the link would succeed and libbpf refuse the result ("corrupted program").
 */
function functionWithPlacedData(lib: LlvmLibrary, m: ModuleRef): { name: string; kind: 'prefix' | 'prologue' } | undefined {
  for (const f of functions(lib, m)) {
    if (lib.api.LLVMHasPrefixData(f)) return { name: valueName(lib, f), kind: 'prefix' };
    if (lib.api.LLVMHasPrologueData(f)) return { name: valueName(lib, f), kind: 'prologue' };
  }
  return undefined;
}

/**
 * `observe` sees each unit's parsed module before merging consumes it (the link report records
 * what every input defines there).
 */
export function linkModules(
  ctx: LlvmContext,
  units: InputUnit[],
  logger: Logger,
  requirement?: ProducerRequirement,
  observe?: (unit: InputUnit, module: ModuleRef) => void,
): ModuleRef {
  const { lib } = ctx;
  const { api } = lib;
  const dest = api.LLVMModuleCreateWithNameInContext('linked_module', ctx.ref);
  const parsed: ParsedUnit[] = [];
  /** Modules not yet consumed by LLVMLinkModules2. */
  const owned = new Set<ModuleRef>();

  /** Merges `src` into `dst` (consuming it), or throws an error naming the inputs involved. */
  const merge = (dst: MergeGroup, src: MergeGroup): void => {
    const mark = ctx.diagnostics.length;
    owned.delete(src.module);
    const from = parsed[src.first];
    const linked = crashStep({ step: 'linking', file: from.where, library: libraryName(lib) }, () => api.LLVMLinkModules2(dst.module, src.module));
    if (linked === 0) return;
    const messages = ctx.since(mark).filter((d) => d.level === 'error').map((d) => d.message);
    const dup = messages.map((m) => MULTIPLY_DEFINED.exec(m)).find((m) => m !== null);
    const definer = (g: MergeGroup, symbol: string) => parsed.slice(g.first, g.last + 1).find((p) => p.strong.has(symbol));
    if (dup) {
      const symbol = dup[1];
      const first = definer(dst, symbol);
      const second = definer(src, symbol) ?? parsed[src.first];
      throw new LinkError('DUPLICATE_SYMBOL', `symbol '${symbol}' is defined in both ${first?.where ?? 'an earlier input'} and ${second.where}`, {
        file: second.unit.origin.file,
        member: second.unit.origin.member,
        hint: `keep one definition: make the other 'static' (C) or remove the input that repeats it`,
      });
    }
    const span = src.last > src.first ? ` (merged with the ${src.last - src.first} inputs after it)` : '';
    const into = parsed.slice(dst.first, dst.last + 1).map((p) => p.where);
    const intoText = into.length <= 3 ? into.join(', ') : `${into.slice(0, 3).join(', ')} and ${into.length - 3} more`;
    throw new LinkError('LINK_FAILED', `failure linking module ${from.where}${span} with ${intoText}: ${messages.join('; ') || 'unknown error'}`, {
      file: from.unit.origin.file,
      member: from.unit.origin.member,
    });
  };

  try {
    for (const unit of units) {
      const p = parseUnit(ctx, unit, requirement, logger);
      owned.add(p.module);
      parsed.push(p);
      observe?.(unit, p.module);
    }
    const weakened = weakenLinkOnce(
      lib,
      parsed.map((p) => p.module),
    );

    const stack: MergeGroup[] = [];
    parsed.forEach((p, i) => {
      logger.debug(`linking ${p.where}`);
      stack.push({ module: p.module, first: i, last: i, size: 1 });
      while (stack.length >= 2 && stack[stack.length - 1].size === stack[stack.length - 2].size) {
        const src = stack.pop()!;
        const dst = stack[stack.length - 1];
        merge(dst, src);
        dst.last = src.last;
        dst.size += src.size;
      }
    });
    while (stack.length >= 2) {
      const src = stack.pop()!;
      const dst = stack[stack.length - 1];
      merge(dst, src);
      dst.last = src.last;
    }
    // The result is the module named linked_module, whatever the first input was called.
    if (stack.length === 1) merge({ module: dest, first: 0, last: -1, size: 0 }, stack[0]);
    restoreLinkOnce(lib, dest, weakened);
    return dest;
  } catch (e) {
    for (const m of owned) api.LLVMDisposeModule(m);
    api.LLVMDisposeModule(dest);
    throw e;
  }
}
