/** @bpf-linker/turbo's programmatic API: turbo.json planning and JSONC editing, init, pin, doctor, generators. */
export { applyJsonEdits, readAt, JsoncSyntaxError, type JsonEdit, type JsonPath } from './jsonc-edit';
export { ADAPTER_PACKAGE, PASS_THROUGH_ENV, SCRIPTS, TASKS, packageGlob, packageTask, planTurbo, rootTasks, type PlannedFile, type TaskDefinition, type TurboPlan } from './plan-tasks';
export { applyInit, planInit, turboConfigFile, type FileChange, type InitOptions, type InitResult } from './init';
export { PIN_FILE, assertPinCurrent, computePin, pinDifferences, readPin, toolNeeds, writePin, type ToolchainPin, type ToolNeeds } from './pin';
export { doctor, dryRun, type DryRun, type DryRunTask, type Finding } from './doctor';
export { newLibrary, newProgram, writeNewPackage, type NewPackage } from './new-package';
export { registerBpfGenerators, type PlopLike } from './generators';
export { findWorkspaceRoot, readWorkspace, type TurboWorkspace, type WorkspacePackage } from './workspace';
