/**
 * @bpf-linker/nx:library — a C static library of bitcode: `compile` turns its sources into
 * bitcode, `archive` packs them into lib<name>.a, and programs that list it in "libraries" link
 * it and see its include/ directory. The files come from the core's scaffold.
 */
import type { Tree } from '@nx/devkit';
import { libraryConfig, libraryFiles, parseList, projectNames } from '@bpf-linker/core';
import { initGenerator } from '../init/generator';
import { assertNewProject, explicitTargets, finish, projectRoot, writeBpfProject, writeScaffold } from '../shared';
import type { LibraryGeneratorSchema } from './schema';

export async function libraryGenerator(tree: Tree, schema: LibraryGeneratorSchema): Promise<void> {
  const n = projectNames(schema.name);
  const root = projectRoot(schema.directory, n);
  assertNewProject(tree, n.name, root);
  await initGenerator(tree, { skipFormat: true });

  writeBpfProject(tree, {
    names: n,
    root,
    projectType: 'library',
    tags: parseList(schema.tags),
    config: libraryConfig(n),
    explicitTargets: { compile: explicitTargets.compile(), archive: explicitTargets.archive(n.fileName) },
  });
  writeScaffold(tree, root, libraryFiles(n));
  await finish(tree, schema.skipFormat);
}

export default libraryGenerator;
