/**
 * The built CLI never destroys anything: outputs that are inputs, pipes, devices, directories or
 * each other are refused before any work, and temporaries of killed runs are swept. Each case
 * asserts the exit status, the exact message, and the state of the files afterwards.
 */
import { existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli';
import { DEAD_PID, linked, refused, setUpFiles, snapshot, type FileFixtures } from './support/files';

let f: FileFixtures;
let dir: string;
let prog: string;
let lib: string;
let archive: string;
let fifo: string;
let socket: string;
const path = (name: string) => f.path(name);

beforeAll(async () => {
  f = await setUpFiles('bpfl-outputs-');
  ({ dir, prog, lib, archive, fifo, socket } = f);
});

afterAll(() => f?.close());

describe('an output that is an input is refused, and the input is untouched', () => {
  it('-o naming an input (bitcode, the archive)', () => {
    for (const input of [prog, archive]) {
      const before = snapshot(input);
      refused(
        [prog, archive, '--btf', '-o', input],
        `Error: the output ${input} is the same file as the input ${input}: refusing to overwrite an input\n  hint: write the output to another path\n`,
      );
      expect(snapshot(input)).toEqual(before);
    }
  });

  it('-o through a symlink to an input, and a hard link of one', () => {
    const soft = path('soft.o');
    symlinkSync(prog, soft);
    const hard = path('hard.o');
    linkSync(archive, hard);
    const before = [snapshot(prog), snapshot(archive)];
    refused([prog, archive, '-o', soft], `Error: the output ${soft} is the same file as the input ${prog}: refusing to overwrite an input\n  hint: write the output to another path\n`);
    refused([prog, archive, '-o', hard], `Error: the output ${hard} is the same file as the input ${archive}: refusing to overwrite an input\n  hint: write the output to another path\n`);
    // An input named through a symlink is the file it points to.
    refused([soft, lib, '-o', prog], `Error: the output ${prog} is the same file as the input ${soft}: refusing to overwrite an input\n  hint: write the output to another path\n`);
    expect([snapshot(prog), snapshot(archive)]).toEqual(before);
    expect(lstatSync(soft).isSymbolicLink()).toBe(true);
  });

  it('--report, --log-file and --dump-module files naming an input, or -o naming the --export-symbols file', () => {
    const symbols = path('symbols.txt');
    writeFileSync(symbols, 'xdp_prog\n');
    const before = [snapshot(prog), snapshot(lib), snapshot(symbols)];
    const out = path('never.o');
    refused([prog, lib, '-o', out, '--report', lib], `Error: the --report file ${lib} is the same file as the input ${lib}: refusing to overwrite an input\n  hint: write the output to another path\n`);
    refused([prog, lib, '-o', out, '--log-file', prog], `Error: the --log-file ${prog} is the same file as the input ${prog}: refusing to overwrite an input\n  hint: write the output to another path\n`);
    const dump = path('dump');
    mkdirSync(dump);
    symlinkSync(lib, join(dump, 'post-opt.ll'));
    refused([prog, lib, '-o', out, '--dump-module', dump], `Error: the module dump ${dump}/post-opt.ll is the same file as the input ${lib}: refusing to overwrite an input\n  hint: write the output to another path\n`);
    refused([prog, lib, '--export-symbols', symbols, '-o', symbols], `Error: the output ${symbols} is the same file as the --export-symbols file ${symbols}: refusing to overwrite an input\n  hint: write the output to another path\n`);
    expect([snapshot(prog), snapshot(lib), snapshot(symbols)]).toEqual(before);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dump)).toEqual(['post-opt.ll']);
  });
});

describe('an existing output that is not a regular file is refused, and left as it was', () => {
  it('a FIFO', () => {
    const before = snapshot(fifo);
    refused([prog, lib, '-o', fifo], `Error: the output ${fifo} is a FIFO (named pipe), not a regular file: refusing to replace it\n  hint: choose a path that is a regular file or does not exist yet\n`);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(snapshot(fifo)).toEqual(before);
  });

  it('/dev/null (a character device; we may be root)', () => {
    const before = statSync('/dev/null');
    refused([prog, lib, '-o', '/dev/null'], 'Error: the output /dev/null is a character device, not a regular file: refusing to replace it\n  hint: choose a path that is a regular file or does not exist yet\n');
    const after = statSync('/dev/null');
    expect(after.isCharacterDevice()).toBe(true);
    expect([after.ino, after.rdev, after.mode]).toEqual([before.ino, before.rdev, before.mode]);
  });

  it('a directory, a socket, and a FIFO as --report or --log-file', () => {
    const d = path('outdir');
    mkdirSync(d);
    writeFileSync(join(d, 'keep'), 'x');
    refused([prog, lib, '-o', d], `Error: the output ${d} is a directory, not a regular file: refusing to replace it\n  hint: name the file to write, not a directory\n`);
    expect(readdirSync(d)).toEqual(['keep']);
    refused([prog, lib, '-o', socket], `Error: the output ${socket} is a socket, not a regular file: refusing to replace it\n  hint: choose a path that is a regular file or does not exist yet\n`);
    expect(lstatSync(socket).isSocket()).toBe(true);
    const out = path('never.o');
    refused([prog, lib, '-o', out, '--report', fifo], `Error: the --report file ${fifo} is a FIFO (named pipe), not a regular file: refusing to replace it\n  hint: choose a path that is a regular file or does not exist yet\n`);
    // Appending to a FIFO without a reader would block forever.
    refused([prog, lib, '-o', out, '--log-file', fifo], `Error: the --log-file ${fifo} is a FIFO (named pipe), not a regular file: refusing to write to it\n  hint: choose a path that is a regular file or does not exist yet\n`);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(existsSync(out)).toBe(false);
  });
});

describe('two outputs of one run that are the same file are refused', () => {
  it('-o and --report, --report and --log-file, -o and a --dump-module file; spelled differently too', () => {
    const out = path('same.o');
    refused([prog, lib, '-o', out, '--report', out], `Error: the --report file ${out} is the same file as the output ${out}: one would overwrite the other\n  hint: give each output its own path\n`);
    const dotted = join(dir, '.', 'sub', '..', 'same.o');
    refused([prog, lib, '-o', out, '--report', dotted], `Error: the --report file ${dotted} is the same file as the output ${out}: one would overwrite the other\n  hint: give each output its own path\n`);
    const json = path('r.json');
    refused([prog, lib, '-o', out, '--report', json, '--log-file', json], `Error: the --log-file ${json} is the same file as the --report file ${json}: one would overwrite the other\n  hint: give each output its own path\n`);
    const dump = path('dumps');
    refused([prog, lib, '-o', join(dump, 'pre-opt.ll'), '--dump-module', dump], `Error: the module dump ${dump}/pre-opt.ll is the same file as the output ${dump}/pre-opt.ll: one would overwrite the other\n  hint: give each output its own path\n`);
    expect([existsSync(out), existsSync(json), existsSync(dump)]).toEqual([false, false, false]);
  });

  it('an existing output and its hard link', () => {
    const a = path('a.o');
    writeFileSync(a, 'old object');
    const b = path('b.json');
    linkSync(a, b);
    refused([prog, lib, '-o', a, '--report', b], `Error: the --report file ${b} is the same file as the output ${a}: one would overwrite the other\n  hint: give each output its own path\n`);
    expect(readFileSync(a, 'utf8')).toBe('old object');
  });
});

describe('an output that cannot be created is a clean error', () => {
  it('-o, --log-file and --dump-module under a regular file: the path named, no stack trace', () => {
    const file = path('afile');
    writeFileSync(file, 'keep');
    refused([prog, lib, '-o', join(file, 'x.o')], `Error: cannot write the output ${file}/x.o: ${file} is a regular file, not a directory\n  hint: choose a path whose directories exist or can be created\n`);
    refused([prog, lib, '-o', join(file, 'sub', 'x.o')], `Error: cannot write the output ${file}/sub/x.o: ${file} is a regular file, not a directory\n  hint: choose a path whose directories exist or can be created\n`);
    refused([prog, lib, '-o', path('ok.o'), '--log-file', join(file, 'l.log')], `Error: cannot write the --log-file ${file}/l.log: ${file} is a regular file, not a directory\n  hint: choose a path whose directories exist or can be created\n`);
    refused([prog, lib, '-o', path('ok.o'), '--dump-module', file], `Error: cannot write the module dump ${file}/pre-opt.ll: ${file} is a regular file, not a directory\n  hint: choose a path whose directories exist or can be created\n`);
    expect(readFileSync(file, 'utf8')).toBe('keep');
    expect(existsSync(path('ok.o'))).toBe(false);
  });

  it('missing directories are created: -o, --report and --log-file', () => {
    const out = path('new/a/prog.o');
    const report = path('new/b/report.json');
    const log = path('new/c/link.log');
    const r = runCli([prog, lib, '--btf', '-o', out, '--report', report, '--log-file', log, '--log-level', 'info']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(out).subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
    expect(JSON.parse(readFileSync(report, 'utf8')).output).toBe(out);
    expect(readFileSync(log, 'utf8')).toBe(r.stdout);
    expect(r.stdout).toMatch(/^\[INFO\] using /);
  });
});

describe('temporaries of killed runs', () => {
  it('are swept by the next write to their directory; live writers and other files are left alone', () => {
    const d = path('swept');
    mkdirSync(d);
    const now = Date.now() / 1000;
    const make = (name: string, ageSeconds: number) => {
      writeFileSync(join(d, name), 'partial');
      utimesSync(join(d, name), now - ageSeconds, now - ageSeconds);
    };
    make(`.prog.o.${DEAD_PID}.0a1b2c.tmp`, 300); // killed run
    make(`.report.json.${process.pid}.3d4e5f.tmp`, 3 * 3600); // three hours old
    make(`.prog.o.${process.pid}.777777.tmp`, 0); // a live run writing right now
    make('.keep.tmp', 3 * 3600);
    linked([prog, lib, '--btf', '-o', join(d, 'prog.o')]);
    expect(readdirSync(d).sort()).toEqual(['.keep.tmp', `.prog.o.${process.pid}.777777.tmp`, 'prog.o']);
  });
});
