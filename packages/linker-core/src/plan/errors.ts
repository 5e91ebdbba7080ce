/**
 * Errors of project builds (config, planning, running a step) are LinkErrors with build codes:
 * one error type for every adapter to format. These names keep the plan's vocabulary.
 */
export { LinkError as BuildError, isLinkError as isBuildError } from '../errors';
export type { BuildErrorCode, LinkErrorDetails as BuildErrorDetails } from '../errors';
