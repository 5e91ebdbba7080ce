/**
 * The BTF name rule (`_<HEX>_` escapes, SipHash-1-3 suffix past 128 bytes) against the upstream
 * vectors, and our SipHash-1-3 against Rust's own DefaultHasher (a host program built with the
 * Debian rustc at test time).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_KSYM_NAME_LEN, needsSanitizing, sanitizeName } from '../../src/btf/sanitize-name';
import { sipHash13, sipHash13Hex } from '../../src/btf/siphash';
import { makeTempDir } from '../support/toolchain';

const RUSTC = process.env.RUSTC && existsSync(process.env.RUSTC) ? process.env.RUSTC : '/usr/bin/rustc';

describe('sanitizeName', () => {
  it.each([
    ['MyStruct<u64, u64>', 'MyStruct_3C_u64_2C__20_u64_3E_'],
    ['PerfEventArray<[u8; 32]>', 'PerfEventArray_3C__5B_u8_3B__20_32_5D__3E_'],
    ['Foo<u32>', 'Foo_3C_u32_3E_'],
    ['Bar<di_generics::Foo<u32>>', 'Bar_3C_di_generics_3A__3A_Foo_3C_u32_3E__3E_'],
    ['my_function<u32>', 'my_function_3C_u32_3E_'],
    ['MaybeUninit<u8>', 'MaybeUninit_3C_u8_3E_'],
    ['*const u8', '_2A_const_20_u8'],
    ['café', 'caf_C3__A9_'],
    ['plain_Name_09', 'plain_Name_09'],
    ['', ''],
  ])('%j → %j', (input, output) => {
    expect(sanitizeName(input)).toBe(output);
    expect(sanitizeName(new TextEncoder().encode(input))).toBe(output);
    expect(needsSanitizing(input)).toBe(input !== output);
  });

  it('escapes control bytes and NUL unpadded, and accepts raw non-UTF-8 bytes', () => {
    expect(sanitizeName(new Uint8Array([0x61, 0x00, 0x0a, 0xff, 0x62]))).toBe('a_0__A__FF_b');
  });

  it('truncates a long generic name to 111 bytes + _ + its hash (upstream vector, exactly 128 bytes)', () => {
    const input =
      'my_function<aya_bpf::this::is::a::very::long::namespace::BpfContext, aya_log_ebpf::this::is::a::very::long::namespace::WriteToBuf>';
    const expected =
      'my_function_3C_aya_bpf_3A__3A_this_3A__3A_is_3A__3A_a_3A__3A_very_3A__3A_long_3A__3A_namespace_3A__3A_BpfContex_94e4085604b3142f';
    const out = sanitizeName(input);
    expect(out).toBe(expected);
    expect(out.length).toBe(MAX_KSYM_NAME_LEN);
    // the hash covers the whole escaped name (226 bytes), not the input
    const escaped = input.replace(/[^0-9A-Za-z_]/g, (c) => `_${c.charCodeAt(0).toString(16).toUpperCase()}_`);
    expect(escaped.length).toBe(226);
    expect(sipHash13(Buffer.from(escaped))).toBe(0x94e4085604b3142fn);
  });

  it('keeps a name of exactly 128 bytes and hashes one of 129', () => {
    expect(sanitizeName('a'.repeat(128))).toBe('a'.repeat(128));
    expect(sanitizeName('a'.repeat(129))).toBe(`${'a'.repeat(111)}_45c167d2f6f5599c`);
    expect(needsSanitizing('a'.repeat(128))).toBe(false);
    expect(needsSanitizing('a'.repeat(129))).toBe(true);
  });

  it('prints the hash unpadded, so a hash with a leading zero nibble gives a name under 128 bytes', () => {
    // Search for an input whose hash starts with a zero nibble (about 1 in 16).
    let found: string | undefined;
    for (let i = 0; i < 4096 && found === undefined; i++) {
      const name = `${'x'.repeat(130)}${i}`;
      if (sipHash13(Buffer.from(name)) < 1n << 60n) found = name;
    }
    expect(found).toBeDefined();
    const out = sanitizeName(found!);
    expect(out.length).toBeLessThan(MAX_KSYM_NAME_LEN);
    expect(out).toBe(`${found!.slice(0, 111)}_${sipHash13(Buffer.from(found!)).toString(16)}`);
  });
});

describe('sipHash13 (DefaultHasher::new(), one write)', () => {
  it('hashes the empty input to 0xd1fba762150c532c', () => {
    expect(sipHash13(new Uint8Array(0))).toBe(0xd1fba762150c532cn);
    expect(sipHash13Hex(new Uint8Array(0))).toBe('d1fba762150c532c');
  });

  describe('against Rust', () => {
    let rustHashes: (inputs: Uint8Array[]) => string[];
    beforeAll(() => {
      const dir = makeTempDir('bpfl-siphash-');
      const src = join(dir, 'hash.rs');
      // Reads hex lines, prints `{:x}` of DefaultHasher::new() after one write of the bytes.
      writeFileSync(
        src,
        `use std::hash::Hasher;
use std::io::Read;
fn main() {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).unwrap();
    for line in input.split('\\n').filter(|l| l.starts_with('#')) {
        let hex = &line[1..];
        let bytes: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        h.write(&bytes);
        println!("{:x}", h.finish());
    }
}
`,
      );
      const bin = join(dir, 'hash');
      execFileSync(RUSTC, ['--edition', '2021', '-O', '-o', bin, src], { stdio: 'pipe' });
      rustHashes = (inputs) =>
        execFileSync(bin, { input: inputs.map((b) => `#${Buffer.from(b).toString('hex')}`).join('\n') + '\n', encoding: 'utf8' })
          .trim()
          .split('\n');
    });

    it('agrees on every length from 0 to 40 and on random inputs up to 600 bytes', () => {
      let seed = 12345;
      const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) & 0xff;
      const inputs: Uint8Array[] = [];
      for (let n = 0; n <= 40; n++) inputs.push(Uint8Array.from({ length: n }, rand));
      for (let k = 0; k < 200; k++) inputs.push(Uint8Array.from({ length: rand() + rand() + rand() }, rand));
      inputs.push(new Uint8Array(256).fill(0xff));
      expect(inputs.map((b) => sipHash13Hex(b))).toEqual(rustHashes(inputs));
    });

    it('agrees on the sanitized long names', () => {
      const names = [`${'a'.repeat(129)}`, 'core::ptr::drop_in_place<core::option::Option<alloc::vec::Vec<u8>>>'.repeat(3)].map((n) =>
        Buffer.from(n.replace(/[^0-9A-Za-z_]/g, (c) => `_${c.charCodeAt(0).toString(16).toUpperCase()}_`)),
      );
      expect(names.map((b) => sipHash13Hex(b))).toEqual(rustHashes(names));
    });
  });
});
