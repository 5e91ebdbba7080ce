/**
 * @bpf-linker/nx:program — a BPF program of one of the core's PROGRAM_TYPES, in C (compiled by
 * clang, linked by bpf-linker, optionally with library projects) or in Rust (a no_std crate built
 * by cargo with bpf-linker as its linker). Non-interactive: every choice is a flag. The files
 * come from the core's scaffold, the same ones `turbo gen bpf-program` writes.
 */
import { readJson, readProjectConfiguration, type Tree } from '@nx/devkit';
import { libraryUse, parseList, suggestRustToolchain, programConfig, programFiles, projectNames, resolveProgram, type BpfProjectConfig, type LibraryUse } from '@bpf-linker/core';
import { initGenerator } from '../init/generator';
import { assertNewProject, explicitTargets, finish, projectRoot, writeBpfProject, writeScaffold } from '../shared';
import type { ProgramGeneratorSchema } from './schema';

/** A library project's header and function, read from the tree. */
function libraryOf(tree: Tree, project: string): LibraryUse {
  let root: string;
  try {
    root = readProjectConfiguration(tree, project).root;
  } catch {
    throw new Error(`--libraries: there is no project "${project}" (create it with nx g @bpf-linker/nx:library ${project})`);
  }
  const configFile = `${root}/bpf.config.json`;
  const config = tree.exists(configFile) ? (readJson(tree, configFile) as BpfProjectConfig) : undefined;
  return libraryUse(project, config, (path) => (tree.exists(`${root}/${path}`) ? tree.read(`${root}/${path}`, 'utf-8')! : undefined));
}

export async function programGenerator(tree: Tree, schema: ProgramGeneratorSchema): Promise<void> {
  const n = projectNames(schema.name);
  const root = projectRoot(schema.directory, n);
  const libraryNames = parseList(schema.libraries);
  const program = resolveProgram({ language: schema.language, type: schema.type, attach: schema.attach, libraries: libraryNames });
  assertNewProject(tree, n.name, root);
  await initGenerator(tree, { skipFormat: true });
  const libraries = libraryNames.map((l) => libraryOf(tree, l));
  const scaffold = {
    names: n,
    program,
    libraries,
    buildCommand: `nx run ${n.name}:${program.language === 'rust' ? 'build' : 'link'}`,
    cargo: program.language === 'rust' ? suggestRustToolchain(process.env) : undefined,
  };

  writeBpfProject(tree, {
    names: n,
    root,
    projectType: 'application',
    tags: parseList(schema.tags),
    config: programConfig(scaffold),
    explicitTargets:
      program.language === 'rust'
        ? { build: explicitTargets.cargo(n.fileName) }
        : { compile: explicitTargets.compile(), link: explicitTargets.link(n.fileName) },
    libraries: libraryNames,
  });
  writeScaffold(tree, root, programFiles(scaffold));
  await finish(tree, schema.skipFormat);
}

export default programGenerator;
