/**
 * Member selection on a real rustc link (Debian rustc, libcore and compiler_builtins rlibs, our
 * built CLI as the linker): most members of the rlibs are left out, --report lists them, and the
 * object has the code and BTF that --whole-archive links, so every loader and verifier sees the
 * same program. The kernel loads both.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBpfObject } from '../../src/object';
import { UNUSED_MEMBER_REASON } from '../../src/pipeline/select-members';
import { kernelLoadUnavailable, loadIntoKernel } from '../support/kernel';
import { makeTempDir } from '../support/toolchain';
import { expectFreshCli, rustUnavailable, rustc } from './support';

const noRust = rustUnavailable();
const noKernel = kernelLoadUnavailable();

/** What a loader and the verifier see of an object, independent of DWARF and function order. */
function summary(bytes: Uint8Array) {
  const o = readBpfObject(bytes);
  const functions = o.programs
    .map((p) => ({ name: p.name, section: p.section, binding: p.binding, insns: p.instructionCount, calls: p.calls, helpers: p.helperCalls, btf: p.btfLinkage }))
    .sort((x, y) => x.name.localeCompare(y.name));
  const btf = o.btf!.types.map((t) => `${t.kind} ${t.name}`).sort();
  return { functions, maps: o.maps.map((m) => m.name).sort(), license: o.license, btf };
}

interface Report {
  skipped: { input: string; reason: string }[];
}

describe.skipIf(noRust)('rustc links: archive members the program does not need are not linked', () => {
  let dir: string;
  beforeAll(() => {
    expectFreshCli();
    dir = makeTempDir('bpfl-rust-members-');
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const src of ['program.rs', 'memory_builtins.rs']) {
    describe(src, () => {
      let selected: string;
      let whole: string;
      let report: Report;
      beforeAll(() => {
        const stem = src.replace(/\.rs$/, '');
        selected = join(dir, `${stem}.o`);
        whole = join(dir, `${stem}-whole.o`);
        const reportFile = join(dir, `${stem}.report.json`);
        rustc({ src, crateType: 'bin', out: selected, linkArgs: ['--btf', `--report=${reportFile}`] });
        rustc({ src, crateType: 'bin', out: whole, linkArgs: ['--btf', '--whole-archive'] });
        report = JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
      });

      it('--report lists the libcore and compiler_builtins members left out: most of them', () => {
        const unused = report.skipped.filter((s) => s.reason === UNUSED_MEMBER_REASON).map((s) => s.input);
        const builtins = unused.filter((i) => /libcompiler_builtins-[0-9a-f]+\.rlib\(/.test(i));
        expect(builtins.length).toBeGreaterThan(300);
        expect(unused.some((i) => /libcore-[0-9a-f]+\.rlib\(/.test(i))).toBe(true);
        // The members that define the memory builtins are linked (LLVM may call them).
        expect(builtins.some((i) => i.includes('memcpy'))).toBe(false);
      });

      // Not byte for byte: --whole-archive also carries the debug info of every compile unit of
      // the rlibs into DWARF, and may order identical functions (memcmp, bcmp) differently.
      it('the code is the code --whole-archive links: the same functions, instructions, calls and BTF', () => {
        const a = summary(readFileSync(selected));
        const b = summary(readFileSync(whole));
        expect(a.functions.length).toBeGreaterThan(1);
        expect(a).toEqual(b);
        // Every function has its BTF linkage, mangled Rust helpers (_ZN…, sanitized names in BTF)
        // included: the reader ties them to their FUNC through .BTF.ext.
        expect(a.functions.filter((f) => f.btf === undefined).map((f) => f.name)).toEqual([]);
        if (src === 'program.rs') expect(a.functions.find((f) => f.name.startsWith('_ZN'))?.btf).toBe('static');
      });
    });
  }

  it.skipIf(noKernel)('program.rs loads into the kernel linked either way', () => {
    for (const o of ['program.o', 'program-whole.o']) {
      const r = loadIntoKernel(join(dir, o));
      expect(r.ok, `${o}: ${r.log}`).toBe(true);
    }
  });
});
