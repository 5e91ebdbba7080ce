/**
 * Edits of JSON-with-comments files (turbo.json, turbo.jsonc, package.json) that keep the user's
 * comments, key order and formatting: each edit goes through jsonc-parser's `modify`, which
 * rewrites only the value it changes. An edit whose value is already there changes nothing, so
 * applying the same edits twice gives the same text.
 */
import { applyEdits, findNodeAtLocation, getNodeValue, modify, parseTree, printParseErrorCode, type FormattingOptions, type ParseError } from 'jsonc-parser';

export type JsonPath = (string | number)[];

export type JsonEdit =
  /** The value at `path` becomes `value` (objects and arrays replaced whole). */
  | { op: 'set'; path: JsonPath; value: unknown }
  /** The value at `path` is set only when absent. */
  | { op: 'default'; path: JsonPath; value: unknown }
  /** The array at `path` gets the items it lacks, appended in order (created when absent). */
  | { op: 'include'; path: JsonPath; items: unknown[] };

export class JsoncSyntaxError extends Error {}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The indentation the file already uses (two spaces when it cannot tell). */
function formatting(text: string): FormattingOptions {
  const indent = /\n([ \t]+)\S/.exec(text)?.[1] ?? '  ';
  return { insertSpaces: !indent.startsWith('\t'), tabSize: indent.startsWith('\t') ? 1 : indent.length, eol: text.includes('\r\n') ? '\r\n' : '\n' };
}

function parse(text: string, file: string) {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0 || !root) {
    const e = errors[0];
    const line = e ? text.slice(0, e.offset).split('\n').length : 1;
    throw new JsoncSyntaxError(`${file}:${line}: ${e ? printParseErrorCode(e.error) : 'empty file'}: fix the JSON by hand, then run again`);
  }
  return root;
}

/** The value at a path, or undefined. */
export function readAt(text: string, path: JsonPath, file = 'file'): unknown {
  const node = findNodeAtLocation(parse(text, file), path);
  return node ? getNodeValue(node) : undefined;
}

/** Applies the edits in order; returns the new text (the same string when nothing changed). */
export function applyJsonEdits(text: string, edits: readonly JsonEdit[], file = 'file'): string {
  const options = { formattingOptions: formatting(text) };
  let out = text;
  for (const edit of edits) {
    const current = readAt(out, edit.path, file);
    if (edit.op === 'set' || edit.op === 'default') {
      if (current !== undefined && (edit.op === 'default' || equal(current, edit.value))) continue;
      out = applyEdits(out, modify(out, edit.path, edit.value, options));
      continue;
    }
    if (current !== undefined && !Array.isArray(current)) throw new JsoncSyntaxError(`${file}: ${edit.path.join('.')} should be an array`);
    const have = (current as unknown[] | undefined) ?? [];
    if (current === undefined) {
      out = applyEdits(out, modify(out, edit.path, edit.items, options));
      continue;
    }
    const missing = edit.items.filter((i) => !have.some((h) => equal(h, i)));
    missing.forEach((item, k) => {
      out = applyEdits(out, modify(out, [...edit.path, have.length + k], item, { ...options, isArrayInsertion: true }));
    });
  }
  return out;
}
