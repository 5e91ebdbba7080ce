/**
 * Stage: the CPU and features the target machine is created with.
 *
 * clang records `-mcpu` as the function attribute `"target-cpu"` and `-mattr`/`-target-feature`
 * as `"target-features"`, but LLVM's BPF backend never reads them: its one subtarget comes from
 * the target machine. A link that always used `generic` (v1) therefore compiled clang-22 bitcode
 * (v3 by default) as v1 code — 64-bit shifts instead of 32-bit subregisters, larger objects, and
 * programs written for v3's verifier behaviour rejected. The rule:
 *
 * - `--cpu` / `--cpu-features` given: used as given (rustc always passes both).
 * - Otherwise each input asks for the CPU of its defined functions' `"target-cpu"`; a function
 *   without one (clang without `-mcpu`) asks for the default of the LLVM that produced it: `v3`
 *   since LLVM 20, `v1` before (IR text without a producer: the loaded library's default).
 * - When the inputs ask for different CPUs, the lowest wins (`generic` = `v1` < `v2` < `v3` <
 *   `v4`): its code is accepted wherever every input's is. A warning names who asked for what.
 *   `probe` (the linking machine's kernel decides) is used only when every input asks for it.
 * - Features: the inputs' `"target-features"` when they agree; otherwise a feature is disabled
 *   when any input disables it and enabled only when every input enables it (with a warning).
 * - No input defines a function: bpf-linker's `generic`, and no features.
 *
 * The choice is a function of the options, the inputs' bytes and the LLVM version, all of which
 * the cache key already covers (cache/key.ts); `probe` depends on the machine, as `--cpu probe` does.
 */
import { parseProducerVersion } from '../bitcode/producer';
import { describeOrigin } from '../errors';
import type { InputUnit } from '../inputs/types';
import type { Logger } from '../log';
import type { LinkOptions } from '../options';
import type { LlvmLibrary } from '../llvm/library';
import { functions, isDeclaration } from '../llvm/module';
import { functionStringAttribute } from '../llvm/target';
import type { ModuleRef } from '../llvm/types';

/** The first LLVM whose BPF backend compiles for v3 when no CPU is named (LLVM commit "Make -mcpu=v3 as the default ISA"). */
export const FIRST_LLVM_DEFAULTING_TO_V3 = 20;

/** Order of the BPF CPUs: generic and v1 are the same ISA in every LLVM. */
const CPU_RANK: Readonly<Record<string, number>> = { generic: 1, v1: 1, v2: 2, v3: 3, v4: 4 };

/** What one input asks for. */
export interface InputTarget {
  /** `path` or `archive(member)`. */
  input: string;
  /** The distinct CPUs its defined functions ask for, in order of appearance. */
  cpus: string[];
  /**
   * Set when defined functions without `"target-cpu"` (clang without -mcpu) are what asks for
   * one of `cpus`: that CPU, and the LLVM whose default it is (`LLVM 22`).
   */
  defaulted?: { cpu: string; llvm: string };
  /** The distinct `"target-features"` of its defined functions (`''`: none). */
  features: string[];
}

export type TargetSource = 'option' | 'inputs' | 'default';

export interface TargetChoice {
  /** The CPU the target machine was created with. */
  cpu: string;
  /** Its features (`''`: none). */
  features: string;
  /** `option`: --cpu; `inputs`: the inputs' target-cpu (or their producer's default); `default`: no input defines a function. */
  cpuFrom: TargetSource;
  featuresFrom: TargetSource;
  /** Why, in words (the --log-level=info line and the report). */
  reason: string;
  /** The inputs ask for more than one CPU. */
  cpusDiffer: boolean;
  /** The inputs ask for more than one set of features. */
  featuresDiffer: boolean;
  /** What each input asked for (inputs defining no function are left out). */
  inputs: InputTarget[];
}

/** The CPU a function without `"target-cpu"` was compiled for: the default of `llvmMajor`. */
export function defaultCpuOf(llvmMajor: number): string {
  return llvmMajor >= FIRST_LLVM_DEFAULTING_TO_V3 ? 'v3' : 'v1';
}

/**
 * Reads what `unit`'s parsed module asks for. Undefined when it defines no function (data only,
 * declarations only): such an input does not care.
 */
export function readInputTarget(lib: LlvmLibrary, unit: InputUnit, m: ModuleRef): InputTarget | undefined {
  const cpus: string[] = [];
  const features: string[] = [];
  /** CPUs named by an attribute, and the default standing for functions without one. */
  const named = new Set<string>();
  let defaulted: { cpu: string; llvm: string } | undefined;
  let any = false;
  for (const f of functions(lib, m)) {
    if (isDeclaration(lib, f)) continue;
    any = true;
    let cpu = functionStringAttribute(lib, f, 'target-cpu');
    if (cpu === undefined || cpu === '') {
      if (defaulted === undefined) {
        // The producer's own LLVM; IR text has none, and is compiled as the loaded library would.
        const producer = unit.producer !== undefined ? parseProducerVersion(unit.producer) : undefined;
        const major = producer?.major ?? lib.version.major;
        defaulted = { cpu: defaultCpuOf(major), llvm: `LLVM ${major}` };
      }
      cpu = defaulted.cpu;
    } else {
      named.add(cpu);
    }
    if (!cpus.includes(cpu)) cpus.push(cpu);
    const feats = functionStringAttribute(lib, f, 'target-features') ?? '';
    if (!features.includes(feats)) features.push(feats);
  }
  if (!any) return undefined;
  const target: InputTarget = { input: describeOrigin(unit.origin.file, unit.origin.member), cpus, features };
  if (defaulted !== undefined && !named.has(defaulted.cpu)) target.defaulted = defaulted;
  return target;
}

/** `a.bc, b.bc and 3 more`. */
function names(list: string[]): string {
  return list.length <= 3 ? list.join(', ') : `${list.slice(0, 3).join(', ')} and ${list.length - 3} more`;
}

/** `v3 (a.bc, b.bc), v1 (c.bc: LLVM 19's default)`: who asks for what, grouped by value. */
function whoAsks(inputs: InputTarget[], values: (t: InputTarget) => string[], show: (v: string) => string): string {
  const by = new Map<string, string[]>();
  for (const t of inputs) {
    for (const v of values(t)) {
      const list = by.get(v) ?? [];
      list.push(t.input);
      by.set(v, list);
    }
  }
  return [...by].map(([v, who]) => `${show(v)} (${names(who)})`).join(', ');
}

/** Parses `+a,-b` into feature → sign, in order. */
function parseFeatures(features: string): Map<string, '+' | '-'> {
  const out = new Map<string, '+' | '-'>();
  for (const raw of features.split(',')) {
    const f = raw.trim();
    if (f === '') continue;
    if (f.startsWith('-')) out.set(f.slice(1), '-');
    else out.set(f.startsWith('+') ? f.slice(1) : f, '+');
  }
  return out;
}

/**
 * One feature string for inputs that disagree: a feature some input disables is disabled, one
 * that every input enables is enabled, the others are left at the CPU's default.
 */
export function mergeFeatures(lists: string[]): string {
  const distinct = [...new Set(lists)];
  if (distinct.length <= 1) return distinct[0] ?? '';
  const parsed = lists.map(parseFeatures);
  const order: string[] = [];
  for (const p of parsed) for (const name of p.keys()) if (!order.includes(name)) order.push(name);
  const out: string[] = [];
  for (const name of order) {
    if (parsed.some((p) => p.get(name) === '-')) out.push(`-${name}`);
    else if (parsed.every((p) => p.get(name) === '+')) out.push(`+${name}`);
  }
  return out.join(',');
}

/**
 * The lowest CPU among `asked` (in input order), `probe` only when nothing else is asked for.
 * Unknown names are returned apart, for a warning.
 */
export function lowestCpu(asked: string[]): { cpu?: string; unknown: string[] } {
  let best: string | undefined;
  const unknown: string[] = [];
  let probe = false;
  for (const cpu of asked) {
    const rank = CPU_RANK[cpu];
    if (rank === undefined) {
      if (cpu === 'probe') probe = true;
      else if (!unknown.includes(cpu)) unknown.push(cpu);
      continue;
    }
    if (best === undefined || rank < CPU_RANK[best]) best = cpu;
  }
  return { cpu: best ?? (probe ? 'probe' : undefined), unknown };
}

const quote = (s: string) => JSON.stringify(s);

/** Chooses the target machine's CPU and features (see the rule at the top), logging the choice. */
export function chooseTarget(options: Pick<LinkOptions, 'cpu' | 'cpuFeatures'>, inputs: InputTarget[], logger: Logger): TargetChoice {
  const askedCpus = inputs.flatMap((t) => t.cpus);
  const askedFeatures = inputs.flatMap((t) => t.features);
  const cpusDiffer = new Set(askedCpus.map((c) => (CPU_RANK[c] === 1 ? 'v1' : c))).size > 1;
  const featuresDiffer = new Set(askedFeatures).size > 1;
  const cpuLabel = (t: InputTarget) => t.cpus.map((c) => (t.defaulted?.cpu === c ? `${c}|${t.defaulted.llvm}` : c));
  const showCpu = (v: string) => {
    const [cpu, of] = v.split('|');
    return of === undefined ? cpu : `${cpu}, ${of}'s default without -mcpu`;
  };
  const cpusByInput = whoAsks(inputs, cpuLabel, showCpu);

  let cpu: string;
  let cpuFrom: TargetSource;
  let cpuReason: string;
  if (options.cpu !== undefined) {
    cpu = options.cpu;
    cpuFrom = 'option';
    const lowest = lowestCpu(askedCpus).cpu;
    cpuReason =
      inputs.length === 0 || lowest === undefined || CPU_RANK[lowest] === CPU_RANK[cpu] || lowest === cpu
        ? `--cpu ${cpu}`
        : `--cpu ${cpu} (the inputs ask for ${cpusByInput})`;
  } else {
    const { cpu: lowest, unknown } = lowestCpu(askedCpus);
    for (const u of unknown) {
      const who = inputs.filter((t) => t.cpus.includes(u)).map((t) => t.input);
      logger.warn(`${names(who)} ${who.length === 1 ? 'asks' : 'ask'} for the CPU ${quote(u)}, which is not a BPF CPU: ignored (pass --cpu to choose one)`);
    }
    if (lowest === undefined) {
      cpu = 'generic';
      cpuFrom = 'default';
      cpuReason = inputs.length === 0 ? 'no input defines a function: the default, generic' : 'no input names a BPF CPU: the default, generic';
    } else {
      cpu = lowest;
      cpuFrom = 'inputs';
      if (!cpusDiffer) {
        cpuReason = `the CPU the inputs were compiled for: ${cpusByInput}`;
      } else {
        cpuReason = `the lowest CPU the inputs were compiled for, which every one of them accepts: ${cpusByInput}`;
        logger.warn(
          `the inputs were compiled for different BPF CPUs: ${cpusByInput}; linking for ${cpu}, the lowest, ` +
            `which every input accepts (pass --cpu to choose)`,
        );
      }
      if (cpu === 'probe') cpuReason += ' (probe: the running kernel decides)';
    }
  }

  let features: string;
  let featuresFrom: TargetSource;
  let featuresReason: string;
  const featuresByInput = whoAsks(inputs, (t) => t.features, (f) => (f === '' ? 'none' : quote(f)));
  if (options.cpuFeatures !== undefined) {
    features = options.cpuFeatures;
    featuresFrom = 'option';
    featuresReason = '--cpu-features';
  } else if (inputs.length === 0) {
    features = '';
    featuresFrom = 'default';
    featuresReason = 'the default';
  } else {
    features = mergeFeatures(askedFeatures);
    featuresFrom = 'inputs';
    if (!featuresDiffer) {
      featuresReason = features === '' ? 'the inputs name none' : "the inputs' target-features";
    } else {
      featuresReason = `merged from the inputs' target-features (${featuresByInput})`;
      logger.warn(
        `the inputs were compiled with different CPU features: ${featuresByInput}; linking with ${quote(features)} ` +
          `(a feature any input disables is off, one every input enables is on; pass --cpu-features to choose)`,
      );
    }
  }

  const reason = `CPU ${cpu}: ${cpuReason}; ${features === '' ? 'no features' : `features ${quote(features)}`}: ${featuresReason}`;
  logger.info(`target ${reason}`);
  return { cpu, features, cpuFrom, featuresFrom, reason, cpusDiffer, featuresDiffer, inputs };
}

/** Whether the link needs to read the inputs' attributes: --cpu or --cpu-features left to them. */
export function cpuFromInputs(options: Pick<LinkOptions, 'cpu' | 'cpuFeatures'>): boolean {
  return options.cpu === undefined || options.cpuFeatures === undefined;
}
