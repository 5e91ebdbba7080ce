/**
 * A validator for the subset of JSON Schema (draft 7) that BPF_CONFIG_SCHEMA uses: type, enum,
 * properties, additionalProperties, required, items, minItems, pattern, oneOf, anyOf and local
 * $refs. Errors name the JSON path (`programs[0].link.cpu`), so a typo in bpf.config.json is
 * reported where it is.
 */

export type JsonSchema = {
  readonly type?: string | readonly string[];
  readonly enum?: readonly unknown[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly additionalProperties?: boolean | JsonSchema;
  readonly required?: readonly string[];
  readonly items?: JsonSchema;
  readonly minItems?: number;
  readonly pattern?: string;
  readonly oneOf?: readonly JsonSchema[];
  readonly anyOf?: readonly JsonSchema[];
  readonly $ref?: string;
  readonly definitions?: Readonly<Record<string, JsonSchema>>;
  readonly [key: string]: unknown;
};

export interface SchemaViolation {
  /** `programs[0].link.cpu`; empty for the document itself. */
  path: string;
  message: string;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function matchesType(value: unknown, type: string): boolean {
  const actual = typeOf(value);
  return actual === type || (type === 'number' && actual === 'integer');
}

const at = (path: string, key: string | number) =>
  typeof key === 'number' ? `${path}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`;

export function validateAgainstSchema(value: unknown, root: JsonSchema): SchemaViolation[] {
  const resolve = (schema: JsonSchema): JsonSchema => {
    if (!schema.$ref) return schema;
    const m = /^#\/definitions\/(.+)$/.exec(schema.$ref);
    const target = m ? root.definitions?.[m[1]] : undefined;
    if (!target) throw new Error(`unresolvable $ref ${schema.$ref}`);
    return target;
  };

  const check = (v: unknown, s0: JsonSchema, path: string): SchemaViolation[] => {
    const s = resolve(s0);
    const out: SchemaViolation[] = [];
    if (s.type !== undefined) {
      const types = typeof s.type === 'string' ? [s.type] : s.type;
      if (!types.some((t) => matchesType(v, t))) {
        return [{ path, message: `expected ${types.join(' or ')}, got ${typeOf(v)}` }];
      }
    }
    if (s.enum && !s.enum.includes(v)) {
      return [{ path, message: `expected one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${JSON.stringify(v)}` }];
    }
    if (typeof v === 'string' && s.pattern !== undefined && !new RegExp(s.pattern).test(v)) {
      out.push({ path, message: `${JSON.stringify(v)} does not match ${s.pattern}` });
    }
    if (Array.isArray(v)) {
      if (s.minItems !== undefined && v.length < s.minItems) out.push({ path, message: `needs at least ${s.minItems} item(s)` });
      if (s.items) v.forEach((item, i) => out.push(...check(item, s.items!, at(path, i))));
    }
    if (typeOf(v) === 'object') {
      const obj = v as Record<string, unknown>;
      for (const key of s.required ?? []) {
        if (!(key in obj)) out.push({ path, message: `missing required property "${key}"` });
      }
      for (const [key, item] of Object.entries(obj)) {
        const prop = s.properties?.[key];
        if (prop) out.push(...check(item, prop, at(path, key)));
        else if (s.additionalProperties === false) {
          const known = Object.keys(s.properties ?? {});
          out.push({ path: at(path, key), message: `unknown property${suggest(key, known)}` });
        } else if (typeof s.additionalProperties === 'object') out.push(...check(item, s.additionalProperties, at(path, key)));
      }
    }
    if (s.anyOf) {
      const results = s.anyOf.map((b) => check(v, b, path));
      if (!results.some((r) => r.length === 0)) {
        const requiredOnly = s.anyOf.every((b) => b.required && Object.keys(b).length === 1);
        if (requiredOnly) out.push({ path, message: `needs one of: ${s.anyOf.map((b) => b.required!.join('+')).join(', ')}` });
        else out.push(...fewest(results));
      }
    }
    if (s.oneOf) {
      const results = s.oneOf.map((b) => check(v, b, path));
      const passing = results.filter((r) => r.length === 0).length;
      if (passing === 0) out.push(...fewest(results));
      else if (passing > 1) out.push({ path, message: 'matches more than one of the allowed forms' });
    }
    return out;
  };

  return check(value, root, '');
}

/** The branch that came closest is the one the author meant. */
function fewest(results: SchemaViolation[][]): SchemaViolation[] {
  return results.reduce((a, b) => (b.length < a.length ? b : a));
}

function suggest(key: string, known: string[]): string {
  const lower = key.toLowerCase();
  const close =
    known.find((k) => k.toLowerCase() === lower) ??
    known
      .map((k) => ({ k, n: commonPrefix(k.toLowerCase(), lower) }))
      .filter((x) => x.n >= 3)
      .sort((a, b) => b.n - a.n)[0]?.k ??
    known
      .map((k) => ({ k, d: editDistance(k.toLowerCase(), lower) }))
      .filter((x) => x.d <= 2)
      .sort((a, b) => a.d - b.d)[0]?.k;
  return close ? ` (did you mean "${close}"?)` : known.length ? ` (allowed: ${known.join(', ')})` : '';
}

function commonPrefix(a: string, b: string): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}
