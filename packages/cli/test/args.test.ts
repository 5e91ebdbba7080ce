import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_OPTIONS, parseArgs, readExportSymbolsFile } from '../src/args';
import type { ParsedCommand } from '../src/args';
import { HELP_TEXT, versionText } from '../src/help';
import { BPF_CPUS, LOG_LEVELS, OPT_LEVELS, OUTPUT_KINDS, defaultLinkOptions } from '../../linker-core/src/options';
import type { LinkOptions } from '../../linker-core/src/options';
import { LinkError } from '../../linker-core/src/errors';

/** Parse a command line that must be a link and return it. */
function link(argv: string[]): Extract<ParsedCommand, { kind: 'link' }> {
  const parsed = parseArgs(argv);
  if (parsed.kind !== 'link') throw new Error(`expected a link command, got ${parsed.kind}`);
  return parsed;
}

/** Options of a minimal valid link (`-o out in.o`) plus `extra`. */
function options(extra: string[]): LinkOptions {
  return link(['-o', 'out', 'in.o', ...extra]).options;
}

/** The LinkError thrown for `argv`; fails when nothing or something else is thrown. */
function failure(argv: string[]): LinkError {
  try {
    parseArgs(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(LinkError);
    const error = e as LinkError;
    expect(error.code).toBe('INVALID_ARGUMENT');
    return error;
  }
  throw new Error(`expected ${JSON.stringify(argv)} to be rejected`);
}

const T = '/work/target/bpfel-unknown-none/release/deps/rustcAbC123';

describe('what rustc passes', () => {
  it('parses the captured bin command line (-C opt-level=2 -C debuginfo=2 -C link-arg=--btf)', () => {
    const argv = [
      '--export-symbols', `${T}/symbols`,
      `${T}/symbols.o`,
      'prog.prog.7f766c21033323d5-cgu.0.rcgu.o',
      '-L', `${T}/raw-dylibs`,
      '--cpu', 'generic',
      '-o', 'prog',
      '-O2',
      '--debug',
      '--btf',
    ];
    expect(parseArgs(argv)).toEqual({
      kind: 'link',
      options: defaultLinkOptions({
        inputs: [`${T}/symbols.o`, 'prog.prog.7f766c21033323d5-cgu.0.rcgu.o'],
        output: 'prog',
        optLevel: '2',
        cpu: 'generic',
        btf: true,
        libraryPaths: [`${T}/raw-dylibs`],
      }),
      log: {},
      exportSymbolsFile: `${T}/symbols`,
    });
  });

  it('parses the captured command line with an rlib, -Os, --cpu v3 and --cpu-features +alu32', () => {
    const argv = [
      '--export-symbols', `${T}/symbols`,
      `${T}/symbols.o`,
      'prog2.prog2.1a2b3c4d5e6f7a8b-cgu.0.rcgu.o',
      '/work/target/bpfel-unknown-none/release/deps/libdep-0123456789abcdef.rlib',
      '-L', `${T}/raw-dylibs`,
      '--cpu', 'v3',
      '--cpu-features', '+alu32',
      '-L', '.',
      '-o', 'prog2',
      '-Os',
      '--debug',
    ];
    expect(parseArgs(argv)).toEqual({
      kind: 'link',
      options: defaultLinkOptions({
        inputs: [
          `${T}/symbols.o`,
          'prog2.prog2.1a2b3c4d5e6f7a8b-cgu.0.rcgu.o',
          '/work/target/bpfel-unknown-none/release/deps/libdep-0123456789abcdef.rlib',
        ],
        output: 'prog2',
        optLevel: 's',
        cpu: 'v3',
        cpuFeatures: '+alu32',
        libraryPaths: [`${T}/raw-dylibs`, '.'],
      }),
      log: {},
      exportSymbolsFile: `${T}/symbols`,
    });
  });

  it('honours user link args appended after rustc own arguments', () => {
    const parsed = link([
      '--export-symbols', `${T}/symbols`, `${T}/symbols.o`, 'a.rcgu.o',
      '/sysroot/lib/rustlib/bpfel-unknown-none/lib/libcore-0011223344556677.rlib',
      '/sysroot/lib/rustlib/bpfel-unknown-none/lib/libcompiler_builtins-8899aabbccddeeff.rlib',
      '-L', `${T}/raw-dylibs`, '--cpu', 'generic', '--cpu-features', '-alu32',
      '-L', '/sysroot/lib/rustlib/bpfel-unknown-none/lib',
      '-o', 'out', '-O3', '--debug',
      '--btf', '--emit=llvm-ir', '--log-level=DEBUG', '--log-file=link.log', '--llvm-args=-bpf-stack-size=1024',
    ]);
    expect(parsed.options.inputs).toHaveLength(4);
    expect(parsed.options.cpuFeatures).toBe('-alu32');
    expect(parsed.options.optLevel).toBe('3');
    expect(parsed.options.emit).toBe('llvm-ir');
    expect(parsed.options.btf).toBe(true);
    expect(parsed.options.llvmArgs).toEqual(['-bpf-stack-size=1024']);
    expect(parsed.log).toEqual({ level: 'debug', file: 'link.log' });
  });

  it('maps every -O level rustc sends', () => {
    for (const level of OPT_LEVELS) expect(options([`-O${level}`]).optLevel).toBe(level);
  });
});

describe('defaults and positional inputs', () => {
  it('fills the bpf-linker defaults', () => {
    expect(parseArgs(['-o', 'out', 'in.o'])).toEqual({
      kind: 'link',
      options: defaultLinkOptions({ inputs: ['in.o'], output: 'out' }),
      log: {},
    });
    const o = options([]);
    expect(o.emit).toBe('obj');
    expect(o.optLevel).toBe('2');
    // No --cpu/--cpu-features: the link takes what the inputs were compiled for.
    expect(o.cpu).toBeUndefined();
    expect(o.cpuFeatures).toBeUndefined();
    expect(o.fatalErrors).toBe(true);
    expect(o.target).toBeUndefined();
    expect(o.dumpModule).toBeUndefined();
    expect(o.llvmPath).toBeUndefined();
  });

  it('keeps inputs in command-line order, wherever they appear', () => {
    expect(link(['c.o', '-o', 'out', 'a.o', '--btf', 'b.a']).options.inputs).toEqual(['c.o', 'a.o', 'b.a']);
  });

  it('treats a lone - and everything after -- as inputs', () => {
    expect(link(['-o', 'out', '-', '--', '-weird.o', '--btf']).options).toMatchObject({
      inputs: ['-', '-weird.o', '--btf'],
      btf: false,
    });
  });

  it('accepts -o in all its spellings', () => {
    for (const argv of [['-o', 'x'], ['-ox'], ['-o=x'], ['--output', 'x'], ['--output=x']]) {
      expect(link([...argv, 'in.o']).options.output).toBe('x');
    }
  });

  it('returns fresh objects and leaves argv alone', () => {
    const argv = ['-o', 'out', 'in.o', '--export', 'a', '-flavor'];
    expect(() => parseArgs(argv)).toThrow(LinkError);
    expect(argv).toEqual(['-o', 'out', 'in.o', '--export', 'a', '-flavor']);
    const first = options(['--export', 'a']);
    first.exports.push('mutated');
    first.llvmArgs.push('mutated');
    first.libraryPaths.push('mutated');
    expect(options([])).toEqual(defaultLinkOptions({ inputs: ['in.o'], output: 'out' }));
  });
});

describe('--emit and -O', () => {
  it('the first --emit wins', () => {
    expect(options(['--emit', 'asm', '--emit=obj', '--emit', 'llvm-bc']).emit).toBe('asm');
    expect(options(['--emit=llvm-bc', '--emit=asm']).emit).toBe('llvm-bc');
    for (const kind of OUTPUT_KINDS) expect(options(['--emit', kind]).emit).toBe(kind);
  });

  it('still validates later --emit values', () => {
    expect(failure(['-o', 'out', 'in.o', '--emit=asm', '--emit=elf']).message).toBe('unknown emission type: `elf`');
  });

  it('the last -O wins, in every spelling', () => {
    expect(options(['-O0', '-O', '3', '-O=s']).optLevel).toBe('s');
    expect(options(['-Os', '-O1']).optLevel).toBe('1');
    expect(options(['-O', 'z']).optLevel).toBe('z');
    expect(options(['-O=0']).optLevel).toBe('0');
  });
});

describe('code generation options', () => {
  it('accepts every CPU, including v4', () => {
    for (const cpu of BPF_CPUS) expect(options(['--cpu', cpu]).cpu).toBe(cpu);
    expect(options(['--cpu=v4']).cpu).toBe('v4');
  });

  it('takes a --cpu-features value that starts with -', () => {
    expect(options(['--cpu-features', '-alu32']).cpuFeatures).toBe('-alu32');
    expect(link(['--cpu-features', '-alu32,+dwarfris', '-o', 'out', 'in.o']).options.cpuFeatures).toBe('-alu32,+dwarfris');
    expect(options(['--cpu-features=-alu32']).cpuFeatures).toBe('-alu32');
    expect(options(['--cpu-features', '+alu32']).cpuFeatures).toBe('+alu32');
    expect(options(['--cpu-features=']).cpuFeatures).toBe('');
  });

  it('keeps the last value of a repeated single-value option', () => {
    expect(options(['--cpu', 'generic', '--cpu=v3']).cpu).toBe('v3');
    expect(options(['--target', 'bpfel', '--target=bpfeb']).target).toBe('bpfeb');
  });

  it('sets --target', () => {
    expect(options(['--target', 'bpfel']).target).toBe('bpfel');
    expect(options(['--target=bpf']).target).toBe('bpf');
  });

  it('splits --llvm-args on commas, keeps order, and takes values starting with -', () => {
    expect(options(['--llvm-args=-debug-only=x']).llvmArgs).toEqual(['-debug-only=x']);
    expect(options(['--llvm-args', '-x']).llvmArgs).toEqual(['-x']);
    expect(options(['--llvm-args', '--stats']).llvmArgs).toEqual(['--stats']);
    expect(options(['--llvm-args=-a,-b', '--llvm-args', '-c', '--llvm-args=-d,,']).llvmArgs).toEqual(['-a', '-b', '-c', '-d']);
  });

  it('sets each boolean flag', () => {
    const o = options([
      '--btf',
      '--allow-bpf-trap',
      '--internalize',
      '--unroll-loops',
      '--ignore-inline-never',
      '--disable-expand-memcpy-in-order',
      '--disable-memory-builtins',
    ]);
    expect(o).toMatchObject({
      btf: true,
      allowBpfTrap: true,
      internalize: true,
      unrollLoops: true,
      ignoreInlineNever: true,
      disableExpandMemcpyInOrder: true,
      disableMemoryBuiltins: true,
    });
    expect(options(['--btf', '--btf']).btf).toBe(true);
  });

  it('ignores --debug', () => {
    expect(options(['--debug'])).toEqual(options([]));
  });

  it('keeps -L directories in every spelling, and nothing else changes', () => {
    const o = options(['-L', 'a', '-Lb', '-L=c', '-L', '/abs/d']);
    expect(o.libraryPaths).toEqual(['a', 'b', 'c', '/abs/d']);
    expect({ ...o, libraryPaths: [] }).toEqual(options([]));
  });

  it('sets --dump-module and --llvm-path', () => {
    expect(options(['--dump-module', 'dump']).dumpModule).toBe('dump');
    expect(options(['--llvm-path=/usr/lib/llvm-22']).llvmPath).toBe('/usr/lib/llvm-22');
  });
});

describe('exports', () => {
  it('does not swallow inputs after --export foo (bpf-linker issue #27)', () => {
    const parsed = link(['--export', 'foo', 'a.o', '-o', 'out']);
    expect(parsed.options.exports).toEqual(['foo']);
    expect(parsed.options.inputs).toEqual(['a.o']);
  });

  it('matches upstream test_export_input_args', () => {
    const parsed = link([
      '--export', 'foo', '--export', 'bar', 'symbols.o', 'rcgu.o',
      '-L', 'target/debug/deps', '-L', 'target/debug',
      '-L', '/home/foo/.rustup/toolchains/nightly-x86_64-unknown-linux-gnu/lib',
      '-o', '/tmp/bin.s', '--target=bpf', '--emit=asm',
    ]);
    expect(parsed.options.exports).toEqual(['foo', 'bar']);
    expect(parsed.options.inputs).toEqual(['symbols.o', 'rcgu.o']);
    expect(parsed.options.target).toBe('bpf');
    expect(parsed.options.emit).toBe('asm');
  });

  it('matches upstream test_export_delimiter', () => {
    const parsed = link([
      '--export', 'foo,bar', '--export=ayy,lmao', 'symbols.o', '--export=lol', '--export', 'rotfl', 'rcgu.o',
      '-L', 'target/debug/deps', '-o', '/tmp/bin.s', '--target=bpf', '--emit=asm',
    ]);
    expect(parsed.options.exports).toEqual(['foo', 'bar', 'ayy', 'lmao', 'lol', 'rotfl']);
    expect(parsed.options.inputs).toEqual(['symbols.o', 'rcgu.o']);
  });

  it('names the --export-symbols file without reading it', () => {
    const parsed = link(['--export-symbols=/does/not/exist', '-o', 'out', 'in.o']);
    expect(parsed.exportSymbolsFile).toBe('/does/not/exist');
    expect(parsed.options.exports).toEqual([]);
    expect(link(['-o', 'out', 'in.o'])).not.toHaveProperty('exportSymbolsFile');
  });

  it('combines --internalize with an explicit list', () => {
    expect(options(['--internalize', '--export=keep_me'])).toMatchObject({ internalize: true, exports: ['keep_me'] });
  });
});

describe('readExportSymbolsFile', () => {
  it('splits on LF and CRLF', () => {
    expect(readExportSymbolsFile('a\nb\r\nc')).toEqual(['a', 'b', 'c']);
    expect(readExportSymbolsFile('xdp_prog\r\nMAP\r\n_license\r\n')).toEqual(['xdp_prog', 'MAP', '_license']);
  });

  it('drops empty lines and a trailing newline', () => {
    expect(readExportSymbolsFile('a\n\nb\n')).toEqual(['a', 'b']);
    expect(readExportSymbolsFile('')).toEqual([]);
    expect(readExportSymbolsFile('\r\n\n')).toEqual([]);
  });

  it('keeps names byte for byte (no trimming, no demangling)', () => {
    expect(readExportSymbolsFile('_ZN4prog3foo17h0123456789abcdefE\nwith space \n')).toEqual([
      '_ZN4prog3foo17h0123456789abcdefE',
      'with space ',
    ]);
  });

  it('decodes UTF-8 bytes and drops a byte order mark', () => {
    expect(readExportSymbolsFile(new TextEncoder().encode('\uFEFFcafé\nb\n'))).toEqual(['café', 'b']);
  });

  it('rejects bytes that are not UTF-8', () => {
    expect(() => readExportSymbolsFile(new Uint8Array([0x61, 0xff, 0x0a]))).toThrow('export symbols file is not valid UTF-8');
  });
});

describe('logging and diagnostics', () => {
  it('parses --log-level case-insensitively', () => {
    for (const level of LOG_LEVELS) {
      expect(link(['-o', 'out', 'in.o', '--log-level', level]).log.level).toBe(level);
      expect(link(['-o', 'out', 'in.o', `--log-level=${level.toUpperCase()}`]).log.level).toBe(level);
    }
    expect(link(['-o', 'out', 'in.o', '--log-level=Warn']).log.level).toBe('warn');
  });

  it('accepts tracing-style numeric levels 1-5', () => {
    expect(link(['-o', 'out', 'in.o', '--log-level=1']).log.level).toBe('error');
    expect(link(['-o', 'out', 'in.o', '--log-level=5']).log.level).toBe('trace');
  });

  it('sets --log-file', () => {
    expect(link(['-o', 'out', 'in.o', '--log-file', 'logs/bpf-linker.log']).log).toEqual({ file: 'logs/bpf-linker.log' });
  });

  it('parses --fatal-errors in every form', () => {
    expect(options([]).fatalErrors).toBe(true);
    expect(options(['--fatal-errors=false']).fatalErrors).toBe(false);
    expect(options(['--fatal-errors', 'false']).fatalErrors).toBe(false);
    expect(options(['--fatal-errors=false', '--fatal-errors=true']).fatalErrors).toBe(true);
    expect(options(['--fatal-errors', 'true']).fatalErrors).toBe(true);
    expect(options(['--fatal-errors']).fatalErrors).toBe(true);
  });

  it('takes yes/no, on/off and 1/0 (any case) as --fatal-errors values, also as the next argument', () => {
    for (const [word, value] of [['no', false], ['NO', false], ['off', false], ['0', false], ['yes', true], ['on', true], ['1', true]] as const) {
      const parsed = link(['-o', 'out', 'a.o', '--fatal-errors', word]);
      expect(parsed.options.fatalErrors, word).toBe(value);
      expect(parsed.options.inputs, word).toEqual(['a.o']);
      expect(options([`--fatal-errors=${word}`]).fatalErrors, word).toBe(value);
    }
    expect(failure(['-o', 'out', 'a.o', '--fatal-errors=maybe']).hint).toContain('possible values: true, false (or yes/no, on/off, 1/0)');
  });

  it('does not take an input as the value of a bare --fatal-errors', () => {
    const parsed = link(['-o', 'out', '--fatal-errors', 'a.o']);
    expect(parsed.options.fatalErrors).toBe(true);
    expect(parsed.options.inputs).toEqual(['a.o']);
  });
});

describe('commands that stop parsing', () => {
  it('recognises help and version without the required arguments', () => {
    expect(parseArgs(['-h'])).toEqual({ kind: 'help' });
    expect(parseArgs(['--help'])).toEqual({ kind: 'help' });
    expect(parseArgs(['-V'])).toEqual({ kind: 'version' });
    expect(parseArgs(['--version'])).toEqual({ kind: 'version' });
  });

  it('acts on help and version where they appear, like clap', () => {
    expect(parseArgs(['-o', 'out', 'in.o', '--help', '--bogus'])).toEqual({ kind: 'help' });
    expect(parseArgs(['--version', '--help'])).toEqual({ kind: 'version' });
    expect(parseArgs(['-hV'])).toEqual({ kind: 'help' });
    expect(failure(['--bogus', '--help']).message).toBe("unexpected argument '--bogus' found");
  });

  it('rejects a value given to --help', () => {
    expect(failure(['--help=yes']).message).toBe("unexpected value 'yes' for '--help' found; no more were expected");
  });

  it('parses --print-llvm without inputs or output', () => {
    expect(parseArgs(['--print-llvm'])).toEqual({ kind: 'print-llvm' });
    expect(parseArgs(['--print-llvm', '--llvm-path', '/usr/lib/llvm-22'])).toEqual({
      kind: 'print-llvm',
      llvmPath: '/usr/lib/llvm-22',
    });
    expect(parseArgs(['--llvm-path=/opt/libLLVM.so.22.1', '-o', 'x', 'a.o', '--print-llvm'])).toEqual({
      kind: 'print-llvm',
      llvmPath: '/opt/libLLVM.so.22.1',
    });
  });

  it('still rejects unknown options next to --print-llvm', () => {
    expect(failure(['--print-llvm', '--bogus']).message).toBe("unexpected argument '--bogus' found");
  });
});

describe('--opt=value works for every option that takes a value', () => {
  const samples: Record<string, [value: string, check: (p: Extract<ParsedCommand, { kind: 'link' }>) => unknown]> = {
    output: ['o.bpf', (p) => p.options.output],
    emit: ['asm', (p) => p.options.emit],
    target: ['bpfeb', (p) => p.options.target],
    cpu: ['v2', (p) => p.options.cpu],
    'cpu-features': ['+alu32', (p) => p.options.cpuFeatures],
    export: ['x', (p) => p.options.exports[0]],
    'export-symbols': ['syms', (p) => p.exportSymbolsFile],
    'llvm-args': ['-stats', (p) => p.options.llvmArgs[0]],
    'dump-module': ['dump', (p) => p.options.dumpModule],
    'source-root': ['src-root', (p) => p.options.sourceRoot],
    'log-level': ['info', (p) => p.log.level],
    'log-file': ['l.log', (p) => p.log.file],
    'fatal-errors': ['false', (p) => String(p.options.fatalErrors)],
    'llvm-path': ['/usr/lib/llvm-21', (p) => p.options.llvmPath],
    report: ['link.json', (p) => p.reportFile],
    'max-input-size': ['1048576', (p) => String(p.options.maxInputSize)],
    core: ['auto', (p) => p.options.core],
    'core-btf': ['/sys/kernel/btf/vmlinux', (p) => p.options.coreBtf],
    'core-types': ['task_struct', (p) => p.options.coreTypes?.[0]],
    partitions: ['8', (p) => String(p.options.partitions)],
    jobs: ['3', (p) => String(p.options.jobs)],
  };

  for (const option of CLI_OPTIONS.filter((o) => o.long !== undefined && o.value !== undefined)) {
    it(`--${option.long}=value`, () => {
      const sample = samples[option.long as string];
      expect(sample, `no sample for --${option.long}`).toBeDefined();
      const [value, check] = sample;
      const argv = option.long === 'output' ? [`--output=${value}`, 'in.o'] : ['-o', 'out', 'in.o', `--${option.long}=${value}`];
      expect(check(link(argv))).toBe(value);
    });
  }
});

describe('--max-input-size', () => {
  it('takes bytes, or K, M and G (powers of 1024, any case); absent, the core default applies', () => {
    const size = (v: string) => link(['-o', 'out', 'in.o', '--max-input-size', v]).options.maxInputSize;
    expect([size('1'), size('4096'), size('512k'), size('64M'), size('2G'), size('3g')]).toEqual([1, 4096, 512 * 1024, 64 * 1024 ** 2, 2 * 1024 ** 3, 3 * 1024 ** 3]);
    expect(link(['-o', 'out', 'in.o']).options.maxInputSize).toBeUndefined();
  });

  it('rejects zero, fractions, other units and sizes beyond 2^53', () => {
    for (const v of ['0', '0K', '1.5G', '2GB', '1T', '-1', ' 1', '0x10', '9007199254740993', '99999999999999G']) {
      const error = failure(['-o', 'out', 'in.o', `--max-input-size=${v}`]);
      expect(error.message, v).toBe(`invalid size '${v}' for '--max-input-size <BYTES>'`);
      expect(error.hint).toBe('a positive number of bytes, optionally with a K, M or G suffix (powers of 1024): --max-input-size=2G');
    }
  });
});

describe('error messages', () => {
  it('requires inputs and --output', () => {
    expect(failure([]).message).toBe('the following required arguments were not provided:\n  --output <OUTPUT>\n  <INPUTS>...');
    expect(failure(['in.o']).message).toBe('the following required arguments were not provided:\n  --output <OUTPUT>');
    const noInputs = failure(['-o', 'out', '--btf']);
    expect(noInputs.message).toBe('the following required arguments were not provided:\n  <INPUTS>...');
    expect(noInputs.hint).toContain('bpf-linker [OPTIONS] --output <OUTPUT> <INPUTS>...');
  });

  it('rejects an unknown emission type', () => {
    const error = failure(['-o', 'out', 'in.o', '--emit', 'elf']);
    expect(error.message).toBe('unknown emission type: `elf`');
    expect(error.hint).toBe('expected one of: `obj`, `asm`, `llvm-ir`, `llvm-bc`');
    expect(failure(['-o', 'out', 'in.o', '--emit=']).message).toBe("a value is required for '--emit <TYPE>' but none was supplied");
  });

  it('rejects a bad optimization level', () => {
    expect(failure(['-o', 'out', 'in.o', '-Ofast']).message).toBe(
      'optimization level needs to be between 0-3, s or z (instead was `fast`)',
    );
    expect(failure(['-o', 'out', 'in.o', '-O', '4']).message).toBe(
      'optimization level needs to be between 0-3, s or z (instead was `4`)',
    );
    expect(failure(['-o', 'out', 'in.o', '-O=S']).message).toBe(
      'optimization level needs to be between 0-3, s or z (instead was `S`)',
    );
  });

  it('rejects an unknown CPU and lists the valid ones', () => {
    const error = failure(['-o', 'out', 'in.o', '--cpu', 'v5']);
    expect(error.message).toBe('invalid CPU v5');
    expect(error.hint).toBe('valid CPUs: generic, probe, v1, v2, v3, v4');
    expect(failure(['-o', 'out', 'in.o', '--cpu=Generic']).message).toBe('invalid CPU Generic');
  });

  it('rejects an unknown log level', () => {
    const error = failure(['-o', 'out', 'in.o', '--log-level', 'verbose']);
    expect(error.message).toBe('invalid log level `verbose`');
    expect(error.hint).toContain('error, warn, info, debug, trace');
    expect(failure(['-o', 'out', 'in.o', '--log-level=off']).message).toBe('invalid log level `off`');
  });

  it('rejects a log file path without a file name', () => {
    expect(failure(['-o', 'out', 'in.o', '--log-file', 'logs/..']).message).toBe(
      'invalid log file `logs/..`: the path must end in a file name',
    );
    expect(failure(['-o', 'out', 'in.o', '--log-file=/']).message).toBe('invalid log file `/`: the path must end in a file name');
  });

  it('rejects a --fatal-errors value other than true or false', () => {
    const error = failure(['-o', 'out', 'in.o', '--fatal-errors=maybe']);
    expect(error.message).toBe("invalid value 'maybe' for '--fatal-errors <BOOL>'");
    expect(error.hint).toContain('possible values: true, false');
    expect(failure(['-o', 'out', 'in.o', '--fatal-errors=']).message).toBe(
      "a value is required for '--fatal-errors <BOOL>' but none was supplied",
    );
  });

  it('rejects a value given to a flag', () => {
    expect(failure(['-o', 'out', 'in.o', '--btf=yes']).message).toBe("unexpected value 'yes' for '--btf' found; no more were expected");
    expect(failure(['-o', 'out', 'in.o', '--debug=']).message).toBe("unexpected value '' for '--debug' found; no more were expected");
  });

  it('rejects -flavor, which is rewritten to the unknown --flavor', () => {
    for (const argv of [['-flavor', 'wasm', '-o', 'out', 'in.o'], ['--flavor', 'wasm'], ['--flavor=wasm']]) {
      const error = failure(argv);
      expect(error.message).toBe("unexpected argument '--flavor' found");
      expect(error.hint).toContain("try '--help'");
      expect(error.hint).toContain('wasm-ld');
    }
  });

  it('rejects unknown long options with a hint to --help', () => {
    const error = failure(['-o', 'out', 'in.o', '--frobnicate']);
    expect(error.message).toBe("unexpected argument '--frobnicate' found");
    expect(error.hint).toContain("try '--help'");
    expect(error.hint).toContain("'-- --frobnicate'");
    expect(failure(['--no-entry=1']).message).toBe("unexpected argument '--no-entry' found");
  });

  it('suggests a similar option', () => {
    expect(failure(['-o', 'out', 'in.o', '--exports=foo']).hint).toContain("a similar argument exists: '--export'");
    expect(failure(['-o', 'out', 'in.o', '--cpu-feature', '+alu32']).hint).toContain("a similar argument exists: '--cpu-features'");
    expect(failure(['-o', 'out', 'in.o', '--zzzzzz']).hint).not.toContain('similar');
    // Two letters swapped is one edit.
    expect(failure(['-o', 'out', 'in.o', '--bft']).hint).toContain("a similar argument exists: '--btf'");
    expect(failure(['-o', 'out', 'in.o', '--internalise']).hint).toContain("a similar argument exists: '--internalize'");
  });

  it('rejects unknown short options by their letter, like clap', () => {
    expect(failure(['-o', 'out', 'in.o', '-x']).message).toBe("unexpected argument '-x' found");
    const cluster = failure(['-o', 'out', 'in.o', '-flto']);
    expect(cluster.message).toBe("unexpected argument '-f' found");
    expect(cluster.hint).toContain("'-- -flto'");
    expect(parseArgs(['-o', 'out', 'in.o', '-hx'])).toEqual({ kind: 'help' }); // -h acts before -x is seen
    expect(failure(['-xh']).message).toBe("unexpected argument '-x' found");
  });

  it('names the option whose value is missing', () => {
    const cases: Array<[string[], string]> = [
      [['in.o', '-o'], '--output <OUTPUT>'],
      [['in.o', '--output'], '--output <OUTPUT>'],
      [['-o', 'out', 'in.o', '--emit'], '--emit <TYPE>'],
      [['-o', 'out', 'in.o', '-O'], '-O <LEVEL>'],
      [['-o', 'out', 'in.o', '-L'], '-L <DIR>'],
      [['-o', 'out', 'in.o', '--target'], '--target <TRIPLE>'],
      [['-o', 'out', 'in.o', '--cpu'], '--cpu <CPU>'],
      [['-o', 'out', 'in.o', '--cpu-features'], '--cpu-features <FEATURES>'],
      [['-o', 'out', 'in.o', '--export'], '--export <SYMBOLS>'],
      [['-o', 'out', 'in.o', '--export-symbols'], '--export-symbols <PATH>'],
      [['-o', 'out', 'in.o', '--llvm-args'], '--llvm-args <ARGS>'],
      [['-o', 'out', 'in.o', '--dump-module'], '--dump-module <DIR>'],
      [['-o', 'out', 'in.o', '--log-level'], '--log-level <LEVEL>'],
      [['-o', 'out', 'in.o', '--log-file'], '--log-file <PATH>'],
      [['-o', 'out', 'in.o', '--llvm-path'], '--llvm-path <PATH>'],
    ];
    for (const [argv, option] of cases) {
      expect(failure(argv).message, argv.join(' ')).toBe(`a value is required for '${option}' but none was supplied`);
    }
  });

  it('does not take an option as the value of another option', () => {
    const error = failure(['in.o', '-o', '--btf']);
    expect(error.message).toBe("a value is required for '--output <OUTPUT>' but none was supplied");
    expect(error.hint).toContain('--output=--btf');
    expect(failure(['-o', 'out', 'in.o', '--export', '-foo']).message).toBe(
      "a value is required for '--export <SYMBOLS>' but none was supplied",
    );
    expect(failure(['-o', 'out', 'in.o', '--cpu-features', '--btf']).message).toBe(
      "a value is required for '--cpu-features <FEATURES>' but none was supplied",
    );
    expect(failure(['-o', 'out', 'in.o', '-O', '-2']).message).toBe("a value is required for '-O <LEVEL>' but none was supplied");
  });

  it('rejects empty values for paths', () => {
    expect(failure(['--output=', 'in.o']).message).toBe("a value is required for '--output <OUTPUT>' but none was supplied");
    expect(failure(['-o=', 'in.o']).message).toBe("a value is required for '--output <OUTPUT>' but none was supplied");
    expect(failure(['-o', 'out', 'in.o', '-O=']).message).toBe("a value is required for '-O <LEVEL>' but none was supplied");
  });

  it('rejects two different outputs', () => {
    expect(failure(['-o', 'a', '-o', 'b', 'in.o']).message).toBe("the argument '--output <OUTPUT>' cannot be used multiple times");
    expect(link(['-o', 'a', '--output=a', 'in.o']).options.output).toBe('a');
  });

  it('reports every error as INVALID_ARGUMENT with a hint', () => {
    for (const argv of [[], ['--bogus'], ['-o'], ['--emit=x'], ['-Ox'], ['--cpu=x'], ['--log-level=x'], ['--btf=1']]) {
      const error = failure(argv);
      expect(error.hint, argv.join(' ')).toBeTruthy();
      expect(error.format()).toContain('hint: ');
    }
  });
});

describe('help and version', () => {
  it('has the usage line', () => {
    expect(HELP_TEXT).toContain('Usage: bpf-linker [OPTIONS] --output <OUTPUT> <INPUTS>...');
  });

  it('mentions every option the parser accepts (except the hidden --debug in the option list)', () => {
    for (const option of CLI_OPTIONS) {
      if (option.hidden) continue;
      if (option.long !== undefined) expect(HELP_TEXT, option.long).toMatch(new RegExp(`--${option.long}\\b`));
      if (option.short !== undefined) expect(HELP_TEXT, option.short).toMatch(new RegExp(`(^|\\s)-${option.short}\\b`, 'm'));
    }
  });

  it('mentions each flag by name (independent of the parser table)', () => {
    const names = [
      '-o, --output <OUTPUT>', '--emit <TYPE>', '-O <LEVEL>', '--target <TRIPLE>', '--cpu <CPU>',
      '--cpu-features <FEATURES>', '--btf', '--allow-bpf-trap', '--export <SYMBOLS>', '--export-symbols <PATH>',
      '--internalize', '-L <DIR>', '--llvm-args <ARGS>', '--unroll-loops', '--ignore-inline-never',
      '--disable-expand-memcpy-in-order', '--disable-memory-builtins', '--dump-module <DIR>', '--source-root <DIR>',
      '--log-level <LEVEL>', '--log-file <PATH>', '--fatal-errors <BOOL>', '--llvm-path <PATH>', '--print-llvm',
      '-h, --help', '-V, --version', '--report <PATH>', '--timings', '--max-input-size <BYTES>', '--whole-archive', '--allow-undefined',
      '--core <MODE>', '--core-btf <FILE>', '--core-types <TYPES>', '--core-strict',
      '--partitions <off|auto|N>', '-j, --jobs <N>',
    ];
    for (const name of names) expect(HELP_TEXT).toContain(name);
    expect(CLI_OPTIONS).toHaveLength(names.length + 1); // + the hidden --debug
  });

  it('names every BPF_LINKER_* variable the CLI and core read (except the BTF-rules test knob)', () => {
    const src = ['../../linker-core/src', '../src'].map((d) => fileURLToPath(new URL(d, import.meta.url)));
    const read = new Set<string>();
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(dir, e.name));
        else if (e.name.endsWith('.ts')) for (const m of readFileSync(join(dir, e.name), 'utf8').matchAll(/env\.(BPF_LINKER_[A-Z_]+)/g)) read.add(m[1]);
      }
    };
    src.forEach(walk);
    read.delete('BPF_LINKER_BTF_RULES');
    expect([...read].sort()).toEqual(['BPF_LINKER_CODEGEN_TIMEOUT', 'BPF_LINKER_CRASH_GUARD', 'BPF_LINKER_LLVM', 'BPF_LINKER_READ_TIMEOUT']);
    for (const name of read) expect(HELP_TEXT).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
  });

  it('lists the valid values and the defaults', () => {
    expect(HELP_TEXT).toContain('obj, asm, llvm-ir or llvm-bc');
    expect(HELP_TEXT).toContain('[default: obj]');
    expect(HELP_TEXT).toContain('[default: 2]');
    expect(HELP_TEXT).toContain('v1, v2, v3, v4 [default: see below]');
    expect(HELP_TEXT).toMatch(/-alu32 \[default:\s+the\s+inputs'\]/);
    expect(HELP_TEXT).toMatch(/Without --cpu, code is generated for the CPU the inputs were compiled for/);
    expect(HELP_TEXT).toContain('[default: true]');
    for (const cpu of BPF_CPUS) expect(HELP_TEXT).toContain(cpu);
    for (const level of LOG_LEVELS) expect(HELP_TEXT).toContain(level);
  });

  it('explains the export modes, -L, --debug and BPF_LINKER_LLVM', () => {
    expect(HELP_TEXT).toMatch(/explicit\s+--export and\/or --export-symbols/);
    expect(HELP_TEXT).toMatch(/default\s+no list and no --internalize/);
    expect(HELP_TEXT).toContain('.data/.rodata/.bss/.kconfig');
    expect(HELP_TEXT).toMatch(/-L <DIR>\s+Library search path: accepted because rustc passes it, and ignored/);
    expect(HELP_TEXT).toContain('--debug');
    expect(HELP_TEXT).toContain('BPF_LINKER_LLVM');
  });

  it('groups the options', () => {
    const titles = ['Output:', 'Optimization and code generation:', 'Exports:', 'Debug info and BTF:', 'LLVM selection:', 'Logging and diagnostics:'];
    const positions = titles.map((t) => HELP_TEXT.indexOf(`\n${t}\n`));
    for (const p of positions) expect(p).toBeGreaterThan(0);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('fits in 100 columns', () => {
    for (const line of HELP_TEXT.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
  });

  it('formats the version like clap', () => {
    expect(versionText('0.1.0')).toBe('bpf-linker 0.1.0');
  });
});
