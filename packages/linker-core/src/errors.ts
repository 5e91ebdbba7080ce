/**
 * One error type for everything the linker reports to a user: a stable code, the file (and
 * archive member) involved, and a hint that says how to fix it. Adapters format it at the
 * outermost layer; stages only throw it.
 */

export type LinkErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INPUT_NOT_FOUND'
  | 'INPUT_UNREADABLE'
  | 'INPUT_TOO_LARGE'
  | 'INVALID_INPUT'
  | 'CORRUPT_INPUT'
  | 'OBJECT_INVALID'
  | 'NO_BITCODE'
  | 'LLVM_NOT_FOUND'
  | 'LLVM_VERSION_MISMATCH'
  | 'LLVM_LOAD_FAILED'
  | 'LLVM_GLOBAL_OPTIONS_CONFLICT'
  | 'PARSE_FAILED'
  | 'DUPLICATE_SYMBOL'
  | 'UNDEFINED_SYMBOL'
  | 'LINK_FAILED'
  | 'INVALID_TARGET'
  | 'PASSES_FAILED'
  | 'EMIT_FAILED'
  | 'LLVM_DIAGNOSTIC_ERRORS'
  | 'LLVM_FATAL'
  | 'OUTPUT_FAILED'
  | 'OUTPUT_NOT_REGULAR'
  | 'OUTPUT_CONFLICT'
  | 'LIBBPF_NOT_FOUND'
  | 'BPF_NOT_PERMITTED'
  | 'VERIFY_FAILED'
  | 'CORE_ACCESS_UNRELOCATED'
  | BuildErrorCode;

/** Codes of project builds (bpf.config.json, build plans, running a step). */
export type BuildErrorCode =
  | 'CONFIG_NOT_FOUND'
  | 'CONFIG_INVALID'
  | 'NO_SOURCES'
  | 'LIBRARY_NOT_FOUND'
  | 'LIBRARY_CYCLE'
  | 'DUPLICATE_OUTPUT'
  | 'PATH_OUTSIDE'
  | 'TOOL_NOT_FOUND'
  | 'COMPILE_FAILED'
  | 'ARCHIVE_FAILED'
  | 'CARGO_FAILED'
  | 'ARTIFACT_MISSING'
  | 'WORKSPACE_NOT_FOUND'
  | 'TOOLCHAIN_PIN_STALE'
  | 'TURBO_FAILED';

export interface LinkErrorDetails {
  /** The input file involved, as the user named it. */
  file?: string;
  /** The archive member involved, when `file` is an archive. */
  member?: string;
  /** What the user can do about it. */
  hint?: string;
  /** Output of a failed tool (clang's or cargo's stderr), shown after the message. */
  output?: string;
  cause?: unknown;
}

export class LinkError extends Error {
  readonly code: LinkErrorCode;
  readonly file?: string;
  readonly member?: string;
  readonly hint?: string;
  readonly output?: string;

  constructor(code: LinkErrorCode, message: string, details: LinkErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'LinkError';
    this.code = code;
    this.file = details.file;
    this.member = details.member;
    this.hint = details.hint;
    this.output = details.output;
  }

  /** `file(member)` or `file`, for messages. */
  get location(): string | undefined {
    if (this.file === undefined) return undefined;
    return this.member === undefined ? this.file : `${this.file}(${this.member})`;
  }

  /** The full text an adapter prints after `Error: `: message, the tool's output, the hint. */
  format(): string {
    const parts = [this.message];
    const out = this.output?.trimEnd();
    if (out) parts.push(out.split('\n').map((l) => `  | ${l}`).join('\n'));
    if (this.hint) parts.push(`  hint: ${this.hint}`);
    return parts.join('\n');
  }
}

export function isLinkError(e: unknown): e is LinkError {
  return e instanceof LinkError;
}

/**
 * What every adapter prints after `Error: `: a LinkError's message, tool output and hint, or,
 * for anything else (a bug of ours), `internal error:` with the stack.
 */
export function formatError(e: unknown): string {
  return isLinkError(e) ? e.format() : `internal error: ${(e as Error)?.stack ?? String(e)}`;
}

/** Where an input came from, for error messages: `path` or `archive(member)`. */
export function describeOrigin(file: string, member?: string): string {
  return member === undefined ? file : `${file}(${member})`;
}

/** `a.bc, b.a(x.o) and 3 more`: inputs for a message, each once. */
export function describeInputs(names: readonly string[]): string {
  const files = [...new Set(names)];
  return files.length <= 3 ? files.join(', ') : `${files.slice(0, 3).join(', ')} and ${files.length - 3} more`;
}
