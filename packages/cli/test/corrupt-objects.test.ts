/**
 * `inspect` and `verify` on corrupt objects: a clang-built object and one linked by the binary,
 * truncated or with a header field changed. Each is refused with one `Error: <file>: …` line
 * saying what is wrong and the hint, exit 1 (inspect) or 2 (verify: "verification could not
 * run"), and never `internal error` or a stack trace. `verify` refuses them with our own reader
 * before libbpf parses them (libbpf and libelf are not made for hostile input).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readElf } from '@bpf-linker/core';
import { compileC, makeTempDir } from '../../linker-core/test/support/toolchain';
import { verifyUnavailable } from '../../linker-core/test/verify/fixtures';
import { runCli } from './support/cli';

const SEED = join(__dirname, '../../../examples/seed');
const HINT = 'the file is truncated or damaged: link it again (bpf-linker -o <object> <inputs>...) or rebuild it with clang -target bpf -c';

let dir: string;
const objects: Record<'clang' | 'linked', Uint8Array> = { clang: new Uint8Array(), linked: new Uint8Array() };

beforeAll(() => {
  dir = makeTempDir('bpfl-corrupt-objects-');
  const clang = compileC({ major: 22, source: join(SEED, 'program.c'), out: join(dir, 'clang.o'), mode: 'obj' });
  objects.clang = readFileSync(clang);
  const bc = (name: string) => compileC({ major: 22, source: join(SEED, `${name}.c`), out: join(dir, `${name}.bc`), mode: 'bc' });
  const linked = join(dir, 'linked.o');
  const r = runCli([bc('program'), bc('lib'), '--btf', '-o', linked]);
  expect(r.status, r.stderr).toBe(0);
  objects.linked = readFileSync(linked);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function field(bytes: Uint8Array, at: number, size: 1 | 2 | 4 | 8, value: number): Uint8Array {
  const b = new Uint8Array(bytes);
  const v = new DataView(b.buffer);
  if (size === 1) b[at] = value;
  else if (size === 2) v.setUint16(at, value, true);
  else if (size === 4) v.setUint32(at, value, true);
  else v.setBigUint64(at, BigInt(value), true);
  return b;
}

const shoff = (b: Uint8Array) => Number(new DataView(b.buffer, b.byteOffset).getBigUint64(40, true));
const sectionHeader = (b: Uint8Array, name: string) => shoff(b) + readElf(b).section(name)!.index * 64;
const sectionOffset = (b: Uint8Array, name: string) => readElf(b).section(name)!.offset;

/** Corruptions of a real object, and the reason the message must give (after `<file>: not a valid BPF object: `). */
const CORRUPTIONS: { name: string; corrupt: (b: Uint8Array) => Uint8Array; reason: RegExp }[] = [
  { name: 'truncated inside the ELF header', corrupt: (b) => b.slice(0, 40), reason: /^truncated ELF header$/ },
  {
    name: 'truncated before the section headers',
    corrupt: (b) => b.slice(0, 300),
    reason: /^truncated or corrupt ELF: section header table at offset \d+ \(\+64\) lies outside the 300-byte file$/,
  },
  {
    name: 'e_shoff past the end',
    corrupt: (b) => field(b, 40, 8, b.length + 64),
    reason: /^truncated or corrupt ELF: section header table at offset \d+ \(\+64\) lies outside the \d+-byte file$/,
  },
  { name: 'e_shstrndx out of range', corrupt: (b) => field(b, 62, 2, 0x7ff0), reason: /^corrupt ELF: section name table index 32752 out of range$/ },
  { name: 'e_shentsize too small', corrupt: (b) => field(b, 58, 2, 16), reason: /^corrupt ELF: section header size 16$/ },
  {
    name: '.BTF sh_size past the end',
    corrupt: (b) => field(b, sectionHeader(b, '.BTF') + 32, 8, 0x7fffffff),
    reason: /^section '\.BTF': truncated or corrupt ELF: contents of section #\d+ at offset \d+ \(\+2147483647\) lies outside the \d+-byte file$/,
  },
  {
    name: 'BTF magic flipped',
    corrupt: (b) => field(b, sectionOffset(b, '.BTF'), 1, 0x00),
    reason: /^\.BTF section: bad BTF magic 0x00eb \(expected 0xeb9f in either byte order\)$/,
  },
  {
    name: 'BTF str_len too large',
    corrupt: (b) => field(b, sectionOffset(b, '.BTF') + 20, 4, 0x00ffffff),
    reason: /^\.BTF section: BTF string section \(offset \d+, length 16777215\) lies outside the \d+-byte body$/,
  },
  { name: 'BTF.ext version 7', corrupt: (b) => field(b, sectionOffset(b, '.BTF.ext') + 2, 1, 7), reason: /^\.BTF\.ext section: unsupported BTF\.ext version 7$/ },
  {
    name: 'xdp section size not a multiple of 8',
    corrupt: (b) => field(b, sectionHeader(b, 'xdp') + 32, 8, readElf(b).section('xdp')!.size - 4),
    reason: /^code section 'xdp': instruction bytes are \d+ long, not a multiple of 8$/,
  },
];

function expectRefused(stderr: string, path: string, reason: RegExp): void {
  const prefix = `Error: ${path}: not a valid BPF object: `;
  expect(stderr.startsWith(prefix), stderr).toBe(true);
  const [first, hint, ...rest] = stderr.slice(prefix.length).split('\n');
  expect(first).toMatch(reason);
  expect(hint).toBe(`  hint: ${HINT}`);
  expect(rest).toEqual(['']);
  expect(stderr).not.toContain('internal error');
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe.each(['clang', 'linked'] as const)('a corrupt %s object', (kind) => {
  it.each(CORRUPTIONS)('$name: inspect and verify name the file and say what is wrong', ({ name, corrupt, reason }) => {
    const path = join(dir, `${kind}-${name.replace(/\W+/g, '-')}.o`);
    writeFileSync(path, corrupt(objects[kind]));

    const inspect = runCli(['inspect', path]);
    expect(inspect.status).toBe(1);
    expect(inspect.stdout).toBe('');
    expectRefused(inspect.stderr, path, reason);
    const json = runCli(['inspect', '--json', '--btf', path]);
    expect(json.status).toBe(1);
    expectRefused(json.stderr, path, reason);

    const verify = runCli(['verify', path]);
    expect(verify.status).toBe(2);
    expect(verify.stdout).toBe('');
    expectRefused(verify.stderr, path, reason);
    const verifyJson = runCli(['verify', '--json', path]);
    expect(verifyJson.status).toBe(2);
    expect(verifyJson.stderr).toBe('');
    const [entry] = JSON.parse(verifyJson.stdout);
    expect(entry).toEqual({ path, error: { code: 'OBJECT_INVALID', message: expect.stringMatching(`^${path}: not a valid BPF object: `), hint: HINT } });
    expect(entry.error.message.slice(`${path}: not a valid BPF object: `.length)).toMatch(reason);
  });
});

describe('verify with good and corrupt objects', () => {
  const unavailable = verifyUnavailable();
  it.skipIf(unavailable !== null)('verifies the good one and refuses the corrupt one before libbpf opens it (exit 2)', () => {
    const good = join(dir, 'good.o');
    const bad = join(dir, 'bad-btf.o');
    writeFileSync(good, objects.linked);
    writeFileSync(bad, field(objects.linked, sectionOffset(objects.linked, '.BTF'), 1, 0x00));
    const r = runCli(['verify', good, bad]);
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(new RegExp(`^${good}: 2 programs accepted`));
    expectRefused(r.stderr, bad, /^\.BTF section: bad BTF magic/);
    expect(r.stderr).not.toContain('libbpf');
  });
});
