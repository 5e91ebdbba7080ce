/**
 * Source locations in the output of a failed compile: clang's `file:line:col: error: text` and
 * rustc's `error[E…]: text` followed by ` --> file:line:col`. Build adapters turn the first error
 * into their host's own error location (a bundler's overlay, an editor's problem matcher).
 */
import { isAbsolute, resolve } from 'node:path';

export type DiagnosticSeverity = 'fatal error' | 'error' | 'warning' | 'note';

export interface SourceDiagnostic {
  /** As the tool printed it, or absolute when a base directory was given. */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  severity: DiagnosticSeverity;
  message: string;
  /** The tool's lines that belong to this diagnostic (source excerpt, caret), without the first. */
  excerpt: string;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const CLANG = /^(.+?):(\d+):(\d+): (fatal error|error|warning|note): (.*)$/;
const RUSTC_HEAD = /^(error|warning)(?:\[[A-Z0-9]+\])?: (.*)$/;
const RUSTC_LOC = /^\s*--> (.+?):(\d+):(\d+)$/;

/**
 * Every located diagnostic in `output`, in order. Relative file names are resolved against
 * `baseDir` when it is given (clang names files as it was given them; cargo relative to the
 * package or workspace).
 */
export function parseToolDiagnostics(output: string, baseDir?: string): SourceDiagnostic[] {
  const lines = output.replace(ANSI, '').split(/\r?\n/);
  const out: SourceDiagnostic[] = [];
  const place = (file: string) => (baseDir && !isAbsolute(file) ? resolve(baseDir, file) : file);
  let current: SourceDiagnostic | undefined;
  let rustHead: { severity: DiagnosticSeverity; message: string } | undefined;
  for (const line of lines) {
    const c = CLANG.exec(line);
    if (c) {
      current = { file: place(c[1]), line: Number(c[2]), column: Number(c[3]), severity: c[4] as DiagnosticSeverity, message: c[5], excerpt: '' };
      out.push(current);
      rustHead = undefined;
      continue;
    }
    const h = RUSTC_HEAD.exec(line);
    if (h) {
      rustHead = { severity: h[1] as DiagnosticSeverity, message: h[2] };
      current = undefined;
      continue;
    }
    const l = RUSTC_LOC.exec(line);
    if (l && rustHead) {
      current = { file: place(l[1]), line: Number(l[2]), column: Number(l[3]), ...rustHead, excerpt: '' };
      out.push(current);
      rustHead = undefined;
      continue;
    }
    // Source excerpts and carets belong to the diagnostic above them; an empty line or a
    // summary ("1 error generated.") ends it.
    if (line.trim() === '' || /^\d+ (errors?|warnings?)( and \d+ (errors?|warnings?))? generated\.$/.test(line)) current = undefined;
    else if (current) current.excerpt += `${current.excerpt ? '\n' : ''}${line}`;
  }
  return out;
}

/** The first error (or fatal error) of `output`, else undefined. */
export function firstToolError(output: string, baseDir?: string): SourceDiagnostic | undefined {
  return parseToolDiagnostics(output, baseDir).find((d) => d.severity === 'error' || d.severity === 'fatal error');
}
