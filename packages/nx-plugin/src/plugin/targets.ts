/**
 * A project's BuildPlan → Nx targets. Everything a target declares comes from the plan: the
 * files compile reads, the archive and objects link writes, the archives it links, so the
 * cache inputs and outputs are those of the steps the executors will run.
 */
import { isAbsolute } from 'node:path';
import type { TargetConfiguration } from '@nx/devkit';
import { buildEnvFor, effectiveCoreBtf, rustToolchainEnv, type BpfProjectConfig, type BuildPlan, type BuildStep, type CargoStep, type LinkStep } from '@bpf-linker/core';
import { clangArg, coreBtfArg, toolchainEnvArg } from '../identity-args';
import type { NormalizedOptions } from './options';

export interface TargetContext {
  options: NormalizedOptions;
  /** nx.json namedInputs: `bpfSources` / `bpfRust`, when present, replace the project's own source globs. */
  namedInputs: Record<string, unknown>;
  /**
   * `node <toolchain-identity script>`, relative to the workspace root and quoted for `sh -c`
   * (a `runtime` input is run by a shell): it names where this package is installed, not user
   * data, which only ever reaches it through clangArg().
   */
  identityCommand: string;
  /**
   * The bpf-linker CLI, relative to the workspace root and quoted like identityCommand: only for
   * the `--help` commands of verify and inspect (their executors find it themselves).
   * Undefined when it is not installed: then there are no verify and inspect targets.
   */
  cli?: string;
  /**
   * Our packages as Nx external nodes (installed from the lock file), or undefined when they are
   * not: then Nx hashes every external dependency, as it does by default.
   */
  packages?: { plugin: string; cli?: string };
}

export const EXECUTORS = {
  compile: '@bpf-linker/nx:compile',
  archive: '@bpf-linker/nx:archive',
  link: '@bpf-linker/nx:link',
  cargo: '@bpf-linker/nx:cargo',
  verify: '@bpf-linker/nx:verify',
  inspect: '@bpf-linker/nx:inspect',
} as const;

/** `{projectRoot}/…` for paths inside the project, `{workspaceRoot}/…` for the others. */
export function tokenPath(root: string, path: string): string {
  if (root === '' || root === '.') return `{projectRoot}/${path}`;
  if (path === root) return '{projectRoot}';
  return path.startsWith(`${root}/`) ? `{projectRoot}/${path.slice(root.length + 1)}` : `{workspaceRoot}/${path}`;
}

/** The environment variables steps of this kind read (the core's list), as Nx inputs. */
const envInputs = (kind: BuildStep['kind']) => buildEnvFor([kind]).map((env) => ({ env }));
const outside = (root: string, path: string) => root !== '' && root !== '.' && !path.startsWith(`${root}/`);
const unique = <T>(xs: T[]) => [...new Set(xs)];

function ofKind<K extends BuildStep['kind']>(plan: BuildPlan, kind: K): Extract<BuildStep, { kind: K }>[] {
  return plan.steps.filter((s): s is Extract<BuildStep, { kind: K }> => s.kind === kind);
}

export function inferTargets(plan: BuildPlan, config: BpfProjectConfig, ctx: TargetContext): Record<string, TargetConfiguration> {
  const names = ctx.options;
  const root = plan.project.root;
  const t = (p: string) => tokenPath(root, p);
  const targets: Record<string, TargetConfiguration> = {};
  const compiles = ofKind(plan, 'compile');
  const archives = ofKind(plan, 'archive');
  const links = ofKind(plan, 'link');
  const cargos = ofKind(plan, 'cargo');
  const configInput = '{projectRoot}/bpf.config.json';
  // Narrow the npm part of the hash to the packages that do the work: the plugin (which bundles
  // the linker core) and, where it runs, the CLI.
  const external = (withCli: boolean) =>
    ctx.packages ? [{ externalDependencies: [ctx.packages.plugin, ...(withCli && ctx.packages.cli ? [ctx.packages.cli] : [])] }] : [];
  // No user data in a shell command: the config's clang goes through clangArg().
  const clangOption = config.compile?.clang ? ` ${clangArg(config.compile.clang)}` : '';

  if (compiles.length > 0 || config.library || (config.programs ?? []).some((p) => !('cargo' in p))) {
    const own = 'bpfSources' in ctx.namedInputs ? ['bpfSources'] : [configInput, '{projectRoot}/**/*.c', '{projectRoot}/**/*.h'];
    // Headers and sources elsewhere in the workspace: libraries' public include dirs, shared
    // include dirs. (Absolute include dirs are system headers, which Nx cannot hash.)
    const elsewhere = unique(compiles.flatMap((s) => [...s.inputs, ...s.inputPatterns]).filter((p) => outside(root, p) && !isAbsolute(p))).map(t);
    targets[names.compileTargetName] = {
      executor: EXECUTORS.compile,
      cache: true,
      inputs: [...own, ...elsewhere, ...envInputs('compile'), { runtime: `${ctx.identityCommand} clang${clangOption}` }, ...external(false)],
      outputs: [t(`${plan.outDir}/bc`)],
      options: {},
      metadata: {
        technologies: ['ebpf', 'clang'],
        description: `Compile ${compiles.length} C source${compiles.length === 1 ? '' : 's'} to LLVM bitcode with clang (one .bc each)`,
      },
    };
  }

  if (archives.length > 0) {
    targets[names.archiveTargetName] = {
      executor: EXECUTORS.archive,
      cache: true,
      dependsOn: [names.compileTargetName, `^${names.archiveTargetName}`],
      inputs: [configInput, { dependentTasksOutputFiles: '**/*.bc' }, ...external(false)],
      outputs: archives.map((a) => t(a.output)),
      options: {},
      metadata: {
        technologies: ['ebpf'],
        description: `Archive the library's bitcode into ${archives.map((a) => a.output.split('/').pop()).join(', ')}`,
      },
    };
  }

  const objects = [...links.filter((l) => l.options.emit === 'obj'), ...cargos].map((s: LinkStep | CargoStep) => s.output);

  if (links.length > 0) {
    const ownArchive = archives.some((a) => links.some((l) => l.inputs.includes(a.output)));
    const rawArchives = plan.libraries.filter((l) => l.kind === 'archive').map((l) => t(l.archive));
    targets[names.linkTargetName] = {
      executor: EXECUTORS.link,
      cache: true,
      dependsOn: [names.compileTargetName, ...(ownArchive ? [names.archiveTargetName] : []), `^${names.archiveTargetName}`],
      inputs: [
        configInput,
        { dependentTasksOutputFiles: '**/*.{bc,a}', transitive: true },
        ...rawArchives,
        ...envInputs('link'),
        { runtime: `${ctx.identityCommand} llvm` },
        ...external(false),
      ],
      outputs: links.flatMap((l) => l.outputs.map(t)),
      options: {},
      metadata: {
        technologies: ['ebpf'],
        description: `Link ${links.map((l) => l.output.split('/').pop()).join(', ')} with bpf-linker${links.every((l) => l.options.btf) ? ' (BTF)' : ''}`,
        help: {
          command: ctx.cli ? `node ${ctx.cli} --help` : 'npx bpf-linker --help',
          example: { options: { cpu: 'v3', btf: true } },
        },
      },
    };
  }

  if (cargos.length > 0) {
    // The crate's rustc/toolchain/cargo from bpf.config.json: the identity must be theirs.
    const toolchainEnv = rustToolchainEnv(config);
    const toolchainOption = Object.keys(toolchainEnv).length ? ` ${toolchainEnvArg(toolchainEnv)}` : '';
    // Kernel BTFs the crates' CO-RE links read that are not inputs (the running kernel's, or a
    // file outside the project): identified by content, so a different kernel is a miss.
    const btfs = unique(cargos.map((c) => effectiveCoreBtf(c.linkSettings)).filter((b): b is string => b !== undefined && !cargos.some((x) => x.inputs.includes(b))));
    const btfOption = btfs.length ? ` kernel-btf ${btfs.map(coreBtfArg).join(' ')}` : '';
    const own = 'bpfRust' in ctx.namedInputs ? ['bpfRust'] : [configInput, ...unique(cargos.flatMap((c) => c.inputPatterns)).map(t)];
    targets[names.buildTargetName] = {
      executor: EXECUTORS.cargo,
      cache: true,
      inputs: [
        ...own,
        ...envInputs('cargo'),
        { runtime: `${ctx.identityCommand} rust llvm${toolchainOption}${btfOption}` },
        ...external(true),
      ],
      // Only the objects: cargo's target directory stays out of the cache.
      outputs: cargos.flatMap((c) => c.outputs.map(t)),
      options: {},
      metadata: {
        technologies: ['ebpf', 'rust', 'cargo'],
        description: `Build ${cargos.map((c) => c.output.split('/').pop()).join(', ')} with cargo, bpf-linker as the linker`,
      },
    };
  }

  if (ctx.cli && objects.length > 0) {
    const producers = unique([...(links.length ? [names.linkTargetName] : []), ...(cargos.length ? [names.buildTargetName] : [])]);
    // Executors, not shell commands: the objects' paths (the project's directory, outDir) are
    // arguments of the CLI, never words of a command string.
    targets[names.verifyTargetName] = {
      executor: EXECUTORS.verify,
      // The verdict depends on the running kernel, which no input describes.
      cache: false,
      dependsOn: producers,
      options: {},
      metadata: {
        technologies: ['ebpf'],
        description: `Load every program of ${objects.map((o) => o.split('/').pop()).join(', ')} into the running kernel's verifier (needs root or CAP_BPF)`,
        help: { command: `node ${ctx.cli} verify --help`, example: { options: { logs: true } } },
      },
    };
    targets[names.inspectTargetName] = {
      executor: EXECUTORS.inspect,
      cache: true,
      dependsOn: producers,
      inputs: [{ dependentTasksOutputFiles: '**/*.o' }, { runtime: `${ctx.identityCommand} linker` }, ...external(true)],
      outputs: [],
      options: {},
      metadata: {
        technologies: ['ebpf'],
        description: `Show the programs, maps, BTF and sections of ${objects.map((o) => o.split('/').pop()).join(', ')}`,
        help: { command: `node ${ctx.cli} inspect --help`, example: { options: { btf: true } } },
      },
    };
  }
  return targets;
}
