/**
 * The plugin's own parsing, without a bundler: which ids are BPF imports and in which mode, what
 * import attributes ask for, and options refused when the plugin is created, each named.
 */
import { describe, expect, it } from 'vitest';
import { attributeQuery, ImportError, parseBpfImport, withMode } from '../src/ids';
import { checkOptions } from '../src/state';

describe('parseBpfImport', () => {
  it('C sources: bytes by default, a query picks the mode, bundler parameters are ignored', () => {
    expect(parseBpfImport('/p/xdp.bpf.c')).toEqual({ file: '/p/xdp.bpf.c', kind: 'c', mode: 'bytes' });
    expect(parseBpfImport('/p/xdp.bpf.c?url')).toMatchObject({ mode: 'url' });
    expect(parseBpfImport('/p/xdp.bpf.c?import&url')).toMatchObject({ mode: 'url' });
    expect(parseBpfImport('/p/xdp.bpf.c?manifest&t=1712')).toMatchObject({ mode: 'manifest' });
    expect(parseBpfImport('/p/xdp.bpf.c?path&v=abc')).toMatchObject({ mode: 'path' });
    expect(parseBpfImport('\0/p/xdp.bpf.c?bytes')).toMatchObject({ file: '/p/xdp.bpf.c', mode: 'bytes' });
  });

  it('crates need ?bpf; ?bpf=url is ?bpf&url', () => {
    expect(parseBpfImport('/p/crate/Cargo.toml')).toBeNull();
    expect(parseBpfImport('/p/crate/Cargo.toml?raw')).toBeNull();
    expect(parseBpfImport('/p/crate/Cargo.toml?bpf')).toEqual({ file: '/p/crate/Cargo.toml', kind: 'cargo', mode: 'bytes' });
    expect(parseBpfImport('/p/crate/Cargo.toml?bpf&url')).toMatchObject({ mode: 'url' });
    expect(parseBpfImport('/p/crate/Cargo.toml?bpf=manifest')).toMatchObject({ mode: 'manifest' });
  });

  it('other files are not ours', () => {
    expect(parseBpfImport('/p/main.c')).toBeNull();
    expect(parseBpfImport('/p/xdp.bpf.h')).toBeNull();
  });

  it('two modes, or an unknown one, are refused naming the file and the choices', () => {
    expect(() => parseBpfImport('/p/xdp.bpf.c?url&path')).toThrow(new ImportError('/p/xdp.bpf.c: the import asks for ?url and ?path; choose one mode', '/p/xdp.bpf.c'));
    expect(() => parseBpfImport('/p/crate/Cargo.toml?bpf=wasm')).toThrow(/unknown mode "\?bpf=wasm"; use one of \?bytes, \?url, \?path, \?manifest/);
  });
});

describe('import attributes', () => {
  it("type: 'bytes' is the default mode; bpf: '<mode>' picks one", () => {
    expect(attributeQuery(undefined, '/p/x.bpf.c')).toBe('');
    expect(attributeQuery({}, '/p/x.bpf.c')).toBe('');
    expect(attributeQuery({ type: 'bytes' }, '/p/x.bpf.c')).toBe('');
    expect(attributeQuery({ bpf: 'url' }, '/p/x.bpf.c')).toBe('url');
    expect(withMode('/p/x.bpf.c', 'url')).toBe('/p/x.bpf.c?url');
    expect(withMode('/p/Cargo.toml?bpf', 'path')).toBe('/p/Cargo.toml?bpf&path');
  });

  it('other attributes are refused with the accepted spellings', () => {
    expect(() => attributeQuery({ type: 'json' }, '/p/x.bpf.c')).toThrow(/\/p\/x\.bpf\.c: import attribute type: 'json' is not supported.*with \{ type: 'bytes' \}/);
    expect(() => attributeQuery({ bpf: 'elf' }, '/p/x.bpf.c')).toThrow(/bpf: 'elf' is not a mode; use one of 'bytes', 'url', 'path', 'manifest'/);
  });
});

describe('options', () => {
  it('valid options pass', () => {
    expect(() => checkOptions({ includeDirs: ['include'], defines: { DEBUG: true, N: 3 }, link: { cpu: 'v3', btf: true, internalize: true }, inlineLimit: 4096, cargo: { rustc: '/usr/bin/rustc', profile: 'release' } })).not.toThrow();
  });

  it('every invalid option is listed with its name when the plugin is created', () => {
    let message = '';
    try {
      checkOptions({ includeDir: ['x'], link: { cpu: 'v9' }, target: 'x86', inlineLimit: -1, logLevel: 'loud' } as never);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.split('\n')).toEqual([
      '[unplugin-bpf] invalid options:',
      '  includeDir: unknown option (did you mean "includeDirs"?)',
      '  inlineLimit: expected an integer ≥ 0, got -1',
      '  logLevel: expected "silent", "info" or "debug", got "loud"',
      '  target: expected one of "bpf", "bpfel", "bpfeb", got "x86"',
      '  link.cpu: expected one of "generic", "probe", "v1", "v2", "v3", "v4", got "v9"',
      "  hint: see the options in unplugin-bpf's README; link takes every bpf-linker option by its bpf.config.json name",
    ]);
  });
});
