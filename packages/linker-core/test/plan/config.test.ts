/** bpf.config.json: the schema validates, names the path of every problem, and covers every linker flag. */
import { describe, expect, it } from 'vitest';
import { defaultLinkOptions } from '../../src/options';
import { BPF_CONFIG_SCHEMA, BuildError, LINK_SETTING_KEYS, parseBpfConfig, validateAgainstSchema, type JsonSchema } from '../../src/plan';

const errorOf = (json: unknown): string => {
  try {
    parseBpfConfig(json, 'p/bpf.config.json');
  } catch (e) {
    expect(e).toBeInstanceOf(BuildError);
    expect((e as BuildError).code).toBe('CONFIG_INVALID');
    return (e as BuildError).message;
  }
  throw new Error('expected the config to be rejected');
};

describe('parseBpfConfig', () => {
  it('accepts a C program, a Rust program and a library with every field', () => {
    const config = {
      $schema: '../node_modules/@bpf-linker/nx/bpf.config.schema.json',
      outDir: 'out',
      compile: { clang: 'clang-22', target: 'bpfel', includeDirs: ['include'], defines: { DEBUG: 1, NAME: 'x', ON: true, OFF: false }, flags: ['-Wall'] },
      link: { cpu: 'v3', btf: true },
      programs: [
        { name: 'xdp', sources: ['src/**/*.c'], exclude: ['src/skip.c'], libraries: ['counters', 'vendor/libx.a'], link: { optLevel: '3', exports: ['a'] } },
        { name: 'rusty', cargo: { manifest: 'Cargo.toml', bin: 'rusty', profile: 'release', features: ['f'] }, link: { cpu: 'v2' } },
      ],
      library: { name: 'mine', sources: ['lib/*.c'], publicIncludeDirs: ['include'] },
    };
    expect(parseBpfConfig(config)).toBe(config);
  });

  it('names the path of each problem and suggests the property meant', () => {
    const message = errorOf({ programs: [{ name: 'x', sources: ['a.c'], link: { cpu: 'v9', btff: true } }] });
    expect(message).toContain('p/bpf.config.json is not a valid BPF project config');
    expect(message).toContain('programs[0].link.cpu: expected one of "generic", "probe", "v1", "v2", "v3", "v4", got "v9"');
    expect(message).toContain('programs[0].link.btff: unknown property (did you mean "btf"?)');
  });

  it('rejects a config with neither programs nor a library, wrong types, empty sources and bad names', () => {
    expect(errorOf({ outDir: 'x' })).toContain('(top level): needs one of: programs, library');
    expect(errorOf({ programs: 'x' })).toContain('programs: expected array, got string');
    expect(errorOf({ programs: [{ name: 'x', sources: [] }] })).toContain('programs[0].sources: needs at least 1 item(s)');
    expect(errorOf({ programs: [{ name: '../x', sources: ['a.c'] }] })).toContain('programs[0].name: "../x" does not match');
    expect(errorOf({ library: { name: 'l' } })).toContain('library: missing required property "sources"');
  });

  it('reports a Rust program against the Rust form and a C program against the C form', () => {
    expect(errorOf({ programs: [{ name: 'r', cargo: { bin: 1 } }] })).toContain('programs[0].cargo.bin: expected string, got integer');
    expect(errorOf({ programs: [{ name: 'c', sources: ['a.c'], libs: [] }] })).toContain('programs[0].libs: unknown property (did you mean "libraries"?)');
  });

  it('rejects two outputs with one name', () => {
    expect(errorOf({ programs: [{ name: 'a', sources: ['a.c'] }], library: { name: 'a', sources: ['b.c'] } })).toContain('the name "a" is used twice');
  });
});

describe('the schema', () => {
  it('has a property for every flag of LinkOptions, and nothing else', () => {
    const flags = Object.keys(defaultLinkOptions())
      .filter((k) => k !== 'inputs' && k !== 'output')
      .concat(['target', 'cpu', 'cpuFeatures', 'dumpModule', 'llvmPath'])
      .sort();
    const props = Object.keys(BPF_CONFIG_SCHEMA.definitions.linkSettings.properties).filter((k) => k !== 'report');
    expect([...new Set(flags)]).toEqual(props.sort());
    expect([...LINK_SETTING_KEYS].sort()).toEqual(Object.keys(BPF_CONFIG_SCHEMA.definitions.linkSettings.properties).sort());
  });

  it('is plain JSON (what editors load) and validates itself consistently', () => {
    const copy = JSON.parse(JSON.stringify(BPF_CONFIG_SCHEMA)) as JsonSchema;
    expect(validateAgainstSchema({ library: { name: 'l', sources: ['*.c'] } }, copy)).toEqual([]);
    expect(validateAgainstSchema({ library: { name: 'l', sources: ['*.c'], x: 1 } }, copy)).toHaveLength(1);
  });
});
