/**
 * `turbo gen bpf-program` and `turbo gen bpf-library`: the plop registration that the
 * `turbo/generators/config.ts` written by `bpf-turbo init` calls. @turbo/gen bundles that config
 * with esbuild, so this module stays small and free of native code: the prompts need only the
 * program types, and each action loads the adapter (and, through it, the core and koffi) from
 * the workspace's node_modules with Node's own require when it runs.
 *
 * Non-interactive use answers the prompts in order: `--args <name> <c|rust> <type> <attach>
 * <libraries> <directory>`; `-` takes the default.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PROGRAM_TYPES } from '../../linker-core/src/scaffold/program-types';
import { projectNames } from '../../linker-core/src/scaffold/names';

/** The parts of plop's API used here. */
export interface PlopLike {
  setGenerator(name: string, config: { description: string; prompts: unknown[]; actions: unknown[] }): unknown;
}

type Answers = Record<string, unknown> & { turbo?: { paths?: { root?: string } } };

type Impl = typeof import('./new-package');

function impl(answers: Answers): { root: string; lib: Impl } {
  const root = answers.turbo?.paths?.root ?? process.cwd();
  // Not a static import: @turbo/gen would bundle the core and koffi's native loader with it.
  const lib = createRequire(join(root, 'package.json'))('@bpf-linker/turbo') as Impl;
  return { root, lib };
}

const nameValid = (v: string) => {
  try {
    projectNames(v);
    return true;
  } catch (e) {
    return (e as Error).message;
  }
};

export function registerBpfGenerators(plop: PlopLike): void {
  plop.setGenerator('bpf-program', {
    description: 'A BPF program package: C (clang + bpf-linker, optionally linking BPF libraries) or Rust (cargo + bpf-linker)',
    prompts: [
      { type: 'input', name: 'name', message: 'Package and program name', validate: nameValid },
      { type: 'list', name: 'language', message: 'Language', choices: ['c', 'rust'], default: 'c' },
      { type: 'list', name: 'type', message: 'Program type', choices: [...PROGRAM_TYPES], default: 'xdp' },
      { type: 'input', name: 'attach', message: 'Attach point (kprobe function, tracepoint category/name, …; - for the default)', default: '-' },
      { type: 'input', name: 'libraries', message: 'BPF library packages to link, comma-separated (- for none)', default: '-' },
      { type: 'input', name: 'directory', message: 'Directory (- for packages/<name>)', default: '-' },
    ],
    actions: [(answers: Answers) => {
      const { root, lib } = impl(answers);
      return lib.newProgram(root, answers as never);
    }],
  });
  plop.setGenerator('bpf-library', {
    description: 'A BPF library package: C sources archived as bitcode, linked by the programs that list it',
    prompts: [
      { type: 'input', name: 'name', message: 'Package and library name', validate: nameValid },
      { type: 'input', name: 'directory', message: 'Directory (- for packages/<name>)', default: '-' },
    ],
    actions: [(answers: Answers) => {
      const { root, lib } = impl(answers);
      return lib.newLibrary(root, answers as never);
    }],
  });
}

export default registerBpfGenerators;
