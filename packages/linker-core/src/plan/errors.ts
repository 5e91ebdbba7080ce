/**
 * Errors of project builds (config, planning, running a step). Same shape as LinkError — a
 * stable code, the file involved and a hint — so adapters format both the same way; link
 * failures themselves stay LinkErrors.
 */

export type BuildErrorCode =
  | 'CONFIG_NOT_FOUND'
  | 'CONFIG_INVALID'
  | 'NO_SOURCES'
  | 'LIBRARY_NOT_FOUND'
  | 'LIBRARY_CYCLE'
  | 'DUPLICATE_OUTPUT'
  | 'TOOL_NOT_FOUND'
  | 'COMPILE_FAILED'
  | 'ARCHIVE_FAILED'
  | 'CARGO_FAILED'
  | 'ARTIFACT_MISSING';

export interface BuildErrorDetails {
  file?: string;
  hint?: string;
  /** Output of the failed tool (clang's or cargo's stderr), shown after the message. */
  output?: string;
  cause?: unknown;
}

export class BuildError extends Error {
  readonly code: BuildErrorCode;
  readonly file?: string;
  readonly hint?: string;
  readonly output?: string;

  constructor(code: BuildErrorCode, message: string, details: BuildErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'BuildError';
    this.code = code;
    this.file = details.file;
    this.hint = details.hint;
    this.output = details.output;
  }

  /** Message, the tool's output (indented) and the hint: what an adapter prints after `Error: `. */
  format(): string {
    const parts = [this.message];
    const out = this.output?.trimEnd();
    if (out) parts.push(out.split('\n').map((l) => `  | ${l}`).join('\n'));
    if (this.hint) parts.push(`  hint: ${this.hint}`);
    return parts.join('\n');
  }
}

export function isBuildError(e: unknown): e is BuildError {
  return e instanceof BuildError;
}
