/** JSONC edits keep comments and formatting, and applying them twice changes nothing. */
import { describe, expect, it } from 'vitest';
import { parse } from 'jsonc-parser';
import { applyJsonEdits, readAt, type JsonEdit } from '../src/jsonc-edit';

const TURBO = `{
  // Team settings: keep this comment.
  "$schema": "https://turborepo.com/schema.json",
  "tasks": {
    "build": { "outputs": ["dist/**"] }, // trailing comment
    /* block comment */
    "lint": {}
  },
}
`;

const EDITS: JsonEdit[] = [
  { op: 'include', path: ['globalDependencies'], items: ['.bpf-toolchain.json'] },
  { op: 'default', path: ['tasks', 'bpf:build'], value: {} },
  { op: 'include', path: ['tasks', 'bpf:build', 'dependsOn'], items: ['^bpf:build'] },
  { op: 'set', path: ['tasks', 'bpf:verify', 'cache'], value: false },
];

describe('applyJsonEdits', () => {
  it('adds what is missing and keeps every comment, the other tasks and the trailing comma', () => {
    const out = applyJsonEdits(TURBO, EDITS, 'turbo.jsonc');
    for (const c of ['// Team settings: keep this comment.', '// trailing comment', '/* block comment */']) expect(out).toContain(c);
    expect(out.startsWith('{\n  // Team settings')).toBe(true);
    const value = parse(out);
    expect(value.tasks.build).toEqual({ outputs: ['dist/**'] });
    expect(value.tasks['bpf:build']).toEqual({ dependsOn: ['^bpf:build'] });
    expect(value.tasks['bpf:verify']).toEqual({ cache: false });
    expect(value.globalDependencies).toEqual(['.bpf-toolchain.json']);
  });

  it('is idempotent: the second application returns the same text', () => {
    const once = applyJsonEdits(TURBO, EDITS);
    expect(applyJsonEdits(once, EDITS)).toBe(once);
  });

  it('include appends only missing items, after the user\'s own', () => {
    const text = '{\n  "globalDependencies": [\n    "global.json" // pinned SDK\n  ]\n}\n';
    const out = applyJsonEdits(text, [{ op: 'include', path: ['globalDependencies'], items: ['global.json', '.bpf-toolchain.json'] }]);
    expect(parse(out).globalDependencies).toEqual(['global.json', '.bpf-toolchain.json']);
    expect(out).toContain('// pinned SDK');
  });

  it('include creates an empty array when asked for none', () => {
    expect(parse(applyJsonEdits('{}', [{ op: 'include', path: ['tasks', 'x', 'inputs'], items: [] }]))).toEqual({ tasks: { x: { inputs: [] } } });
  });

  it('default keeps a value the user set; set replaces it', () => {
    const text = '{ "tasks": { "t": { "cache": true, "outputs": ["a"] } } }';
    const out = applyJsonEdits(text, [
      { op: 'default', path: ['tasks', 't', 'cache'], value: false },
      { op: 'set', path: ['tasks', 't', 'outputs'], value: ['b'] },
    ]);
    expect(parse(out).tasks.t).toEqual({ cache: true, outputs: ['b'] });
  });

  it('keeps tab indentation and CRLF line ends', () => {
    const text = '{\r\n\t"a": 1\r\n}\r\n';
    const out = applyJsonEdits(text, [{ op: 'set', path: ['b'], value: { c: 2 } }]);
    expect(out).toContain('\r\n\t"b": {\r\n\t\t"c": 2\r\n\t}');
    expect(out).not.toMatch(/[^\r]\n/);
  });

  it('names the file and line of a syntax error and what to do', () => {
    expect(() => applyJsonEdits('{\n  "a": 1\n  "b": 2\n}', EDITS, 'turbo.json')).toThrow('turbo.json:3: CommaExpected: fix the JSON by hand, then run again');
    expect(() => readAt('', ['a'], 'turbo.json')).toThrow('turbo.json:1:');
  });

  it('refuses to include into something that is not an array', () => {
    expect(() => applyJsonEdits('{ "globalDependencies": "x" }', [{ op: 'include', path: ['globalDependencies'], items: ['y'] }], 'turbo.json')).toThrow(
      'turbo.json: globalDependencies should be an array',
    );
  });
});
