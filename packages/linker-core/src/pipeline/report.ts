/**
 * The link report: which input defined each symbol, and what became of it — still external
 * (exported), given internal linkage by the linker (internalized), or gone from the output after
 * optimization (removed: inlined everywhere, or unused once internal).
 *
 * Only symbols with non-local linkage in their input are followed: those are the ones linking
 * resolves across inputs. `static` functions and variables stay private to their input (and
 * may be renamed when two inputs use one name), so they are not attributed.
 */
import { describeOrigin } from '../errors';
import type { InputOrigin, InputUnit, SkippedInput } from '../inputs/types';
import type { LlvmLibrary } from '../llvm/library';
import { functions, globalAliases, globalVariables, isDeclaration, valueName } from '../llvm/module';
import { Linkage, type ModuleRef, type ValueRef } from '../llvm/types';
import type { CoreReport } from './core-access';
import type { ExportMode } from './exports';
import type { TargetChoice } from './target-cpu';
import type { Partitioning } from './partitioned-codegen';

export type SymbolKind = 'function' | 'variable' | 'alias';

/** One definition in a module. */
export interface ModuleDefinition {
  name: string;
  kind: SymbolKind;
  linkage: number;
}

const LOCAL_LINKAGES = new Set<number>([Linkage.Internal, Linkage.Private]);
/** Definitions another input's definition may replace without a clash. */
const REPLACEABLE_LINKAGES = new Set<number>([Linkage.WeakAny, Linkage.WeakODR, Linkage.LinkOnceAny, Linkage.LinkOnceODR, Linkage.Common]);

/**
 * Whether a global value is a definition the report follows: it has a body or initializer (an
 * alias always counts), it is not an available_externally copy (a copy for the optimizer; the
 * definition lives elsewhere), and it has a name outside `llvm.*`.
 */
function isReportedDefinition(name: string, linkage: number, declaration: boolean): boolean {
  return !declaration && linkage !== Linkage.AvailableExternally && name !== '' && !name.startsWith('llvm.');
}

/** Every named definition of a module (functions with bodies, initialized globals, aliases), `llvm.*` aside. */
export function moduleDefinitions(lib: LlvmLibrary, m: ModuleRef): ModuleDefinition[] {
  const out: ModuleDefinition[] = [];
  const consider = (v: ValueRef, kind: SymbolKind) => {
    const name = valueName(lib, v);
    const linkage = lib.api.LLVMGetLinkage(v);
    if (isReportedDefinition(name, linkage, kind !== 'alias' && isDeclaration(lib, v))) out.push({ name, kind, linkage });
  };
  for (const f of functions(lib, m)) consider(f, 'function');
  for (const g of globalVariables(lib, m)) consider(g, 'variable');
  for (const a of globalAliases(lib, m)) consider(a, 'alias');
  return out;
}

/** moduleDefinitions, from the symbols of modules optimized on worker threads (no aliases there). */
export function definitionsOf(symbols: readonly { name: string; function: boolean; declaration: boolean; linkage: number }[]): ModuleDefinition[] {
  return symbols.filter((s) => isReportedDefinition(s.name, s.linkage, s.declaration)).map((s) => ({ name: s.name, kind: s.function ? 'function' : 'variable', linkage: s.linkage }));
}

interface Definer {
  origin: InputOrigin;
  kind: SymbolKind;
  /** Replaceable (weak, linkonce, common): a later non-replaceable definition wins. */
  replaceable: boolean;
}

/**
 * Records, input by input, the non-local definitions of each parsed module before merging
 * consumes it. The winner follows the IR linker: the first definition, unless it is weak or
 * linkonce and a later input has a strong one.
 */
export class InputDefinitions {
  private readonly definers = new Map<string, Definer>();
  private readonly inputs: { origin: InputOrigin; kind: InputUnit['kind']; producer?: string; defines: string[] }[] = [];

  constructor(private readonly lib: LlvmLibrary) {}

  record(unit: InputUnit, m: ModuleRef): void {
    const defines: string[] = [];
    for (const d of moduleDefinitions(this.lib, m)) {
      if (LOCAL_LINKAGES.has(d.linkage)) continue;
      defines.push(d.name);
      const replaceable = REPLACEABLE_LINKAGES.has(d.linkage);
      const previous = this.definers.get(d.name);
      if (previous === undefined || (previous.replaceable && !replaceable)) {
        this.definers.set(d.name, { origin: unit.origin, kind: d.kind, replaceable });
      }
    }
    const input: (typeof this.inputs)[number] = { origin: unit.origin, kind: unit.kind, defines };
    if (unit.producer !== undefined) input.producer = unit.producer;
    this.inputs.push(input);
  }

  /** The report, given the output module after optimization and what the linker internalized. */
  /** `output`: the optimized module's definitions (moduleDefinitions, or definitionsOf for partitions optimized apart). */
  report(output: readonly ModuleDefinition[], facts: { exportMode: ExportMode; internalized: string[]; skipped: SkippedInput[]; target: TargetChoice; core?: CoreReport }): LinkReport {
    const remaining = new Map(output.map((d) => [d.name, d]));
    const internalized = new Set(facts.internalized);
    const symbols: LinkReportSymbol[] = [];
    for (const [name, definer] of this.definers) {
      const now = remaining.get(name);
      const status: SymbolStatus = now === undefined ? 'removed' : LOCAL_LINKAGES.has(now.linkage) ? 'internalized' : 'exported';
      const { file, member } = definer.origin;
      symbols.push({
        name,
        kind: definer.kind,
        definedBy: describeOrigin(file, member),
        file,
        ...(member !== undefined && { member }),
        status,
        ...(internalized.has(name) && { internalizedByLinker: true as const }),
      });
    }
    const { cpu, features, cpuFrom, featuresFrom, reason, inputs } = facts.target;
    return {
      version: 1,
      exportMode: facts.exportMode,
      ...(facts.core && { core: facts.core }),
      target: {
        cpu,
        features,
        cpuFrom,
        featuresFrom,
        reason,
        inputs: inputs.map((t) => ({ input: t.input, cpus: t.cpus, ...(t.defaulted && { defaultCpuOf: t.defaulted.llvm }), features: t.features })),
      },
      inputs: this.inputs.map(({ origin: { file, member }, kind, producer, defines }) => ({
        input: describeOrigin(file, member),
        file,
        ...(member !== undefined && { member }),
        kind,
        ...(producer !== undefined && { producer }),
        defines,
      })),
      skipped: facts.skipped.map((s) => ({ input: describeOrigin(s.origin.file, s.origin.member), reason: s.reason })),
      symbols,
      exported: symbols.filter((s) => s.status === 'exported').map((s) => s.name),
      internalized: [...facts.internalized],
      removed: symbols.filter((s) => s.status === 'removed').map((s) => s.name),
    };
  }
}

/**
 * `exported`: external in the output. `internalized`: in the output with internal linkage.
 * `removed`: no longer in the output.
 */
export type SymbolStatus = 'exported' | 'internalized' | 'removed';

export interface LinkReportSymbol {
  name: string;
  kind: SymbolKind;
  /** The input whose definition was kept: `path` or `archive(member)`. */
  definedBy: string;
  file: string;
  member?: string;
  status: SymbolStatus;
  /** The linker gave it internal linkage (export mode); it may have been removed afterwards. */
  internalizedByLinker?: true;
}

export interface LinkReportInput {
  /** `path` or `archive(member)`. */
  input: string;
  file: string;
  member?: string;
  kind: InputUnit['kind'];
  /** Producer of the bitcode (`LLVM22.1.8`), when it records one. */
  producer?: string;
  /** Names of its non-local definitions, in module order. */
  defines: string[];
}

/** The CPU the code was generated for, and why. */
export interface LinkReportTarget {
  /** The target machine's CPU (`v3`, `generic`, …). */
  cpu: string;
  /** Its features (`''`: none). */
  features: string;
  /** `option`: --cpu; `inputs`: what the inputs were compiled for; `default`: no input defines a function. */
  cpuFrom: TargetChoice['cpuFrom'];
  featuresFrom: TargetChoice['featuresFrom'];
  /** The choice in words. */
  reason: string;
  /**
   * What each input defining a function was compiled for: its functions' `target-cpu` values,
   * with `defaultCpuOf` (`LLVM 22`) when functions without one asked for that LLVM's default.
   */
  inputs: { input: string; cpus: string[]; defaultCpuOf?: string; features: string[] }[];
}

export interface LinkReport {
  /** Format version of this report. */
  version: 1;
  exportMode: ExportMode;
  target: LinkReportTarget;
  /** Units linked, in link order (archive members one by one). */
  inputs: LinkReportInput[];
  /** Inputs read and not linked, with the reason. */
  skipped: { input: string; reason: string }[];
  /** Every non-local definition of the inputs, with the input that defined it and its fate. */
  symbols: LinkReportSymbol[];
  /** Names still external in the output. */
  exported: string[];
  /** Names the linker internalized (some of them may also be in `removed`). */
  internalized: string[];
  /** Names defined in the inputs and absent from the output. */
  removed: string[];
  /** CO-RE for Rust: every access made relocatable and every one left alone, with the reason. */
  core?: CoreReport;
  /** Whether code generation was split into partitions (--partitions), why, and how. */
  partitions?: { split: boolean; reason: string; details?: Partitioning };
}
