/**
 * @bpf-linker/nx:program — a BPF program of one of the PROGRAM_TYPES, in C (compiled by clang,
 * linked by bpf-linker, optionally with library projects) or in Rust (a no_std crate built by
 * cargo with bpf-linker as its linker). Non-interactive: every choice is a flag.
 */
import { generateFiles, joinPathFragments, readJson, readProjectConfiguration, type Tree } from '@nx/devkit';
import type { BpfProjectConfig } from '@bpf-linker/core';
import { initGenerator } from '../init/generator';
import { assertNewProject, explicitTargets, finish, parseList, projectNames, writeBpfProject } from '../shared';
import { PROGRAM_TYPE_INFO, PROGRAM_TYPES, parseProgramType } from './program-types';
import type { ProgramGeneratorSchema } from './schema';

interface LibraryUse {
  project: string;
  header: string;
  /** The counting function a generated library exports. */
  record: string;
}

/** A library project's header and function, as the library generator writes them. */
function libraryUse(tree: Tree, project: string): LibraryUse {
  let root: string;
  try {
    root = readProjectConfiguration(tree, project).root;
  } catch {
    throw new Error(`--libraries: there is no project "${project}" (create it with nx g @bpf-linker/nx:library ${project})`);
  }
  const configFile = `${root}/bpf.config.json`;
  const config = tree.exists(configFile) ? (readJson(tree, configFile) as BpfProjectConfig) : undefined;
  if (!config?.library) throw new Error(`--libraries: project "${project}" is not a BPF library (its bpf.config.json declares no "library")`);
  const snake = config.library.name.replace(/-/g, '_');
  const header = `${snake}.h`;
  const dirs = config.library.publicIncludeDirs ?? [];
  const found = dirs.find((d) => tree.exists(`${root}/${d}/${header}`));
  const declares = found !== undefined && tree.read(`${root}/${found}/${header}`, 'utf-8')!.includes(`${snake}_record(`);
  if (!declares) {
    throw new Error(`--libraries: "${project}" has no ${header} declaring ${snake}_record() in its public include directories; the program template calls it`);
  }
  return { project, header, record: `${snake}_record` };
}

export async function programGenerator(tree: Tree, schema: ProgramGeneratorSchema): Promise<void> {
  const n = projectNames(schema.name);
  const root = schema.directory ?? n.fileName;
  const language = schema.language ?? 'c';
  const type = parseProgramType(schema.type ?? 'xdp');
  if (!type) throw new Error(`--type must be one of ${PROGRAM_TYPES.join(', ')} (got "${schema.type}")`);
  const info = PROGRAM_TYPE_INFO[type];
  const attach = schema.attach ?? info.attach?.default;
  if (schema.attach !== undefined && !info.attach) throw new Error(`--attach does not apply to ${type} programs`);
  if (info.attach && attach !== undefined && !info.attach.pattern.test(attach)) {
    throw new Error(`--attach for ${type} is a ${info.attach.meaning} (like "${info.attach.default}"), not "${attach}"`);
  }
  const libraryNames = parseList(schema.libraries);
  if (language === 'rust' && libraryNames.length > 0) throw new Error('--libraries applies to C programs; a Rust program links its crate dependencies');
  assertNewProject(tree, n.name, root);
  await initGenerator(tree, { skipFormat: true });
  const libs = libraryNames.map((l) => libraryUse(tree, l));

  const config: BpfProjectConfig =
    language === 'rust'
      ? { programs: [{ name: n.fileName, cargo: { manifest: 'Cargo.toml', bin: n.snake } }] }
      : { programs: [{ name: n.fileName, sources: ['src/**/*.c'], ...(libs.length ? { libraries: libs.map((l) => l.project) } : {}) }] };
  writeBpfProject(tree, {
    names: n,
    root,
    projectType: 'application',
    tags: parseList(schema.tags),
    config,
    explicitTargets:
      language === 'rust'
        ? { build: explicitTargets.cargo(n.fileName) }
        : { compile: explicitTargets.compile(), link: explicitTargets.link(n.fileName) },
  });
  generateFiles(tree, joinPathFragments(import.meta.dirname, 'files', language), root, {
    ...n,
    type,
    info,
    section: info.section(attach ?? ''),
    libs,
    tmpl: '',
  });
  await finish(tree, schema.skipFormat);
}

export default programGenerator;
