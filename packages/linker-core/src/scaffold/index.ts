/** New projects: names, program types and the files generators write (Nx, turbo gen). */
export { PROGRAM_TYPES, PROGRAM_TYPE_INFO, parseProgramType, type ProgramType, type ProgramTypeInfo } from './program-types';
export { C_KEYWORDS, LIBBPF_NAMES, RUST_KEYWORDS, parseList, projectDirectory, projectNames, rustNameProblem, type ProjectNames } from './names';
export {
  checkProgramNames,
  libraryConfig,
  libraryFiles,
  libraryUse,
  programConfig,
  programFiles,
  resolveProgram,
  type LibraryUse,
  type ProgramChoice,
  type ProgramScaffold,
  type ResolvedProgram,
  type ScaffoldFile,
} from './templates';
export { BPF_GITIGNORE } from './gitignore';
