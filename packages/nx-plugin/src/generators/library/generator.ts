/**
 * @bpf-linker/nx:library — a C static library of bitcode: `compile` turns its sources into
 * bitcode, `archive` packs them into lib<name>.a, and programs that list it in "libraries" link
 * it and see its include/ directory.
 */
import { generateFiles, joinPathFragments, type Tree } from '@nx/devkit';
import type { BpfProjectConfig } from '@bpf-linker/core';
import { initGenerator } from '../init/generator';
import { assertNewProject, explicitTargets, finish, parseList, projectNames, writeBpfProject } from '../shared';
import type { LibraryGeneratorSchema } from './schema';

export async function libraryGenerator(tree: Tree, schema: LibraryGeneratorSchema): Promise<void> {
  const n = projectNames(schema.name);
  const root = schema.directory ?? n.fileName;
  assertNewProject(tree, n.name, root);
  await initGenerator(tree, { skipFormat: true });

  const config: BpfProjectConfig = {
    library: { name: n.fileName, sources: ['src/**/*.c'], publicIncludeDirs: ['include'] },
  };
  writeBpfProject(tree, {
    names: n,
    root,
    projectType: 'library',
    tags: parseList(schema.tags),
    config,
    explicitTargets: { compile: explicitTargets.compile(), archive: explicitTargets.archive(n.fileName) },
  });
  generateFiles(tree, joinPathFragments(import.meta.dirname, 'files'), root, { ...n, tmpl: '' });
  await finish(tree, schema.skipFormat);
}

export default libraryGenerator;
