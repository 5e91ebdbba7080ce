/**
 * The built CLI reads inputs, --export-symbols files and objects to inspect only if they are
 * regular files of a bounded size whose first bytes fit: a FIFO used to block forever, /dev/zero
 * to grow memory without limit, and a 1 GiB file to take more than 3 GB. Each case asserts the
 * exit status, the exact message, and (with GNU time) the peak memory.
 */
import { closeSync, existsSync, lstatSync, openSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linked, refused, refusedMeasured, setUpFiles, SMALL_RSS, type FileFixtures } from './support/files';

let f: FileFixtures;
let dir: string;
let prog: string;
let lib: string;
let fifo: string;
let socket: string;
const path = (name: string) => f.path(name);

beforeAll(async () => {
  f = await setUpFiles('bpfl-inputs-');
  ({ dir, prog, lib, fifo, socket } = f);
});

afterAll(() => f?.close());

describe('inputs are read only if they are regular files of a bounded size', () => {
  it('a FIFO without a writer is refused at once (it used to block forever), and stays a FIFO', () => {
    refused([prog, fifo, '-o', path('never.o')], `Error: ${fifo}: is a FIFO (named pipe), not an input file\n  hint: inputs are read as regular files: save the data to a file and pass that\n`);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(existsSync(path('never.o'))).toBe(false);
  });

  it('/dev/zero (it used to grow memory without limit), a socket and a directory', () => {
    refused([prog, '/dev/zero', '-o', path('never.o')], 'Error: /dev/zero: is a character device, not an input file\n  hint: inputs are read as regular files: save the data to a file and pass that\n');
    refused([prog, socket, '-o', path('never.o')], `Error: ${socket}: is a socket, not an input file\n  hint: inputs are read as regular files: save the data to a file and pass that\n`);
    refused([prog, dir, '-o', path('never.o')], `Error: ${dir}: is a directory, not an input file\n  hint: pass the files inside it (objects, bitcode or archives)\n`);
  });

  it('a 1 GiB file that begins like IR text is refused by size, quickly (it used to take > 3 GB of memory)', () => {
    const big = path('big.ll');
    writeFileSync(big, '; ModuleID = "big"\ntarget triple = "bpf"\n');
    truncateSync(big, 1024 ** 3); // sparse: costs no disk
    const rss = refusedMeasured(
      [prog, big, '-o', path('never.o')],
      `Error: ${big}: the file is 1073741824 bytes (1 GiB), more than the limit of 536870912 bytes (512 MiB)\n  hint: if it really is an input, raise the limit with --max-input-size=<BYTES> (K, M and G suffixes: --max-input-size=2G)\n`,
    );
    if (rss !== undefined) expect(rss).toBeLessThan(SMALL_RSS);
    expect(statSync(big).size).toBe(1024 ** 3);
  });

  it('a large file under the limit that is not an input is refused from its first bytes', () => {
    const blob = path('blob.bin');
    const fd = openSync(blob, 'w');
    writeSync(fd, 'PK\x03\x04 not an object');
    closeSync(fd);
    truncateSync(blob, 400 * 1024 ** 2);
    const rss = refusedMeasured(
      [prog, blob, '-o', path('never.o')],
      `Error: ${blob}: invalid input file: not LLVM bitcode, LLVM IR, an ELF object with .llvmbc or an ar archive\n  hint: pass LLVM bitcode (clang -emit-llvm -c or -flto -c, rustc *.rcgu.o), LLVM IR text (.ll), an ELF object with a .llvmbc section, or an ar archive of these\n`,
    );
    // Not read beyond its first bytes: reading it whole took 450 MB.
    if (rss !== undefined) expect(rss).toBeLessThan(SMALL_RSS);
  });

  it('--max-input-size lowers and raises the limit', () => {
    const size = statSync(prog).size;
    refused(
      [prog, lib, '--max-input-size=1K', '-o', path('never.o')],
      `Error: ${prog}: the file is ${size} bytes (${(size / 1024).toFixed(1)} KiB), more than the limit of 1024 bytes (1 KiB)\n  hint: if it really is an input, raise the limit with --max-input-size=<BYTES> (K, M and G suffixes: --max-input-size=2G)\n`,
    );
    linked([prog, lib, '--btf', '--max-input-size', '64k', '-o', path('limited.o')]);
    expect(existsSync(path('limited.o'))).toBe(true);
    refused([prog, '--max-input-size', '0', '-o', path('never.o')], "Error: invalid size '0' for '--max-input-size <BYTES>'\n  hint: a positive number of bytes, optionally with a K, M or G suffix (powers of 1024): --max-input-size=2G\n");
    refused([prog, '--max-input-size=1.5G', '-o', path('never.o')], "Error: invalid size '1.5G' for '--max-input-size <BYTES>'\n  hint: a positive number of bytes, optionally with a K, M or G suffix (powers of 1024): --max-input-size=2G\n");
  });

  it('--export-symbols: a FIFO, /dev/zero and a file over the limit are refused', () => {
    refused([prog, lib, '--export-symbols', fifo, '-o', path('never.o')], `Error: ${fifo}: is a FIFO (named pipe), not an export symbols file\n  hint: pass a regular text file with one symbol name per line to --export-symbols\n`);
    refused([prog, lib, '--export-symbols', '/dev/zero', '-o', path('never.o')], 'Error: /dev/zero: is a character device, not an export symbols file\n  hint: pass a regular text file with one symbol name per line to --export-symbols\n');
    const symbols = path('many-symbols.txt');
    writeFileSync(symbols, 'xdp_prog\n'.repeat(200));
    refused(
      [prog, lib, '--export-symbols', symbols, '--max-input-size=1K', '-o', path('never.o')],
      `Error: ${symbols}: the file is 1800 bytes (1.8 KiB), more than the limit of 1024 bytes (1 KiB)\n  hint: pass a text file with one symbol name per line; --max-input-size=<BYTES> raises the limit\n`,
    );
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('inspect: a FIFO, /dev/zero and a 1 GiB file are refused', () => {
    refused(['inspect', fifo], `Error: ${fifo}: is a FIFO (named pipe), not a BPF object\n  hint: pass the path of a BPF object file (the output of bpf-linker, or clang -target bpf -c)\n`);
    refused(['inspect', '/dev/zero'], 'Error: /dev/zero: is a character device, not a BPF object\n  hint: pass the path of a BPF object file (the output of bpf-linker, or clang -target bpf -c)\n');
    const big = path('big.o');
    writeFileSync(big, '\x7fELF');
    truncateSync(big, 1024 ** 3);
    refused(['inspect', big], `Error: ${big}: the file is 1073741824 bytes (1 GiB), more than the limit of 536870912 bytes (512 MiB)\n  hint: pass the path of a BPF object (the output of bpf-linker, or clang -target bpf -c)\n`);
  });
});
