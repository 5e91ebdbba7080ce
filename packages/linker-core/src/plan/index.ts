/** Project builds: bpf.config.json, planBuild, the toolchain identity, and running the steps. */
export {
  BPF_CONFIG_FILE,
  DEFAULT_OUT_DIR,
  cargoToolchainEnv,
  LINK_SETTING_KEYS,
  isRustProgram,
  parseBpfConfig,
  readBpfConfig,
  type BpfProjectConfig,
  type CargoSettings,
  type CompileSettings,
  type CProgramConfig,
  type DefineValue,
  type LibraryConfig,
  type LinkSettings,
  type ProgramConfig,
  type RustProgramConfig,
} from './config';
export { BPF_CONFIG_SCHEMA, bpfConfigSchemaJson } from './schema';
export { validateAgainstSchema, type JsonSchema, type SchemaViolation } from './validate';
export { BuildError, isBuildError, type BuildErrorCode } from './errors';
export { globToRegExp, listFiles, matchFiles } from './glob';
export { CONFIG_LINK_DEFAULTS, linkCommand, linkSettingArgs, mergeLinkSettings, rustcLinkArgs, toLinkOptions } from './link-args';
export {
  libraryProjects,
  planBuild,
  type ArchiveStep,
  type BpfProjectRef,
  type BuildPlan,
  type BuildStep,
  type CargoStep,
  type CompileStep,
  type LinkStep,
  type PlanContext,
  type ResolvedLibrary,
  type StepKind,
  type StepToolchain,
} from './plan';
export {
  clangVersion,
  hostInfo,
  locateClang,
  locateTools,
  predictLlvm,
  probeToolchain,
  rustcProducer,
  toolchainFingerprint,
  rustcHasBpfCore,
  suggestRustToolchain,
  toolchainFingerprintParts,
  type ToolchainPart,
  whichSync,
  type HostInfo,
  type LlvmIdentity,
  type ToolIdentity,
  type ToolchainIdentity,
} from './toolchain';
export { writeArchive, type ArchiveInput } from './archive-writer';
export { BUILD_ENV, LINKER_RUNTIME_ENV, STEP_TOOLS, buildEnvFor, buildProject, describeManifest, rustToolchainEnv, type BuildProjectOptions, type ProjectBuild } from './build-project';
export { CLI_PACKAGE, resolveLinkerCli } from './locate-cli';
export { runStep, runSteps, type BuildManifest, type RunStepOptions, type StepResult } from './run';
export { readBpfProjects, type ProjectLocation } from './workspace';
export { parseDepfile } from './depfile';
export { firstToolError, parseToolDiagnostics, type DiagnosticSeverity, type SourceDiagnostic } from './diagnostics';
export { summarizeObject, type ObjectSummary } from './object-summary';
export {
  SingleObjectBuildError,
  buildSingleObject,
  checkSingleObjectSettings,
  crateBinaryName,
  fileDigest,
  knownDependencies,
  lookupSingleObject,
  planSingleObject,
  programNameOf,
  runSingleObject,
  type RunSingleObjectOptions,
  type SingleObjectCompileSettings,
  type SingleObjectDependency,
  type SingleObjectKind,
  type SingleObjectPlan,
  type SingleObjectRequest,
  type SingleObjectResult,
  type SingleObjectStepRun,
} from './single-object';
