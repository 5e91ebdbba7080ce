/**
 * The CLI without --cpu: code for the CPU the bitcode asked for. The proof that matters is a
 * program that the verifier accepts only as v3 code (fixtures/v3_index.c): clang's own object
 * loads, and so must ours — the link used to generate v1 code for it, which the kernel rejects.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readBpfObject } from '@bpf-linker/core';
import { compileC, makeTempDir, writeSource, type LlvmMajor } from '../../linker-core/test/support/toolchain';
import { kernelLoadUnavailable, loadIntoKernel } from '../../linker-core/test/support/kernel';
import { runCli } from './support/cli';

const FIXTURES = join(__dirname, 'fixtures');
const V3_INDEX = join(FIXTURES, 'v3_index.c');
const noKernel = kernelLoadUnavailable();

function linkOk(args: string[]) {
  const r = runCli(args);
  expect(r.stderr, `bpf-linker ${args.join(' ')}`).not.toMatch(/Error:|WARN/);
  expect(r.status).toBe(0);
  return r;
}

const code = (path: string) => {
  const sections = readBpfObject(readFileSync(path)).codeSections;
  return {
    instructions: sections.reduce((n, s) => n + s.instructionCount, 0),
    alu32: sections.some((s) => s.usesAlu32),
    jmp32: sections.some((s) => s.usesJmp32),
  };
};

describe('a program that verifies only as v3 code (a 32-bit bounds-checked index)', () => {
  let dir: string;
  const out = (name: string) => join(dir, name);
  beforeAll(() => {
    dir = makeTempDir('bpfl-v3-index-');
  });

  // clang-22 compiles for v3 without -mcpu; clang-19 needs -mcpu=v3.
  const builds: { major: LlvmMajor; flags: string[] }[] = [
    { major: 22, flags: [] },
    { major: 22, flags: ['-mcpu=v3'] },
    { major: 19, flags: ['-mcpu=v3'] },
  ];
  for (const { major, flags } of builds) {
    const name = `v3_index-${major}${flags.join('')}`;
    describe(`clang-${major} ${flags.join(' ') || '(no -mcpu)'}`, () => {
      let ref: string;
      let ours: string;
      beforeAll(() => {
        const f = ['-g', '-O2', ...flags];
        ref = compileC({ major, source: V3_INDEX, out: out(`${name}.ref.o`), mode: 'obj', flags: f });
        const bc = compileC({ major, source: V3_INDEX, out: out(`${name}.bc`), mode: 'bc', flags: f });
        ours = out(`${name}.o`);
        linkOk([bc, '--btf', '-o', ours]);
      });

      it("is linked as v3 code, as clang's own object is", () => {
        expect(code(ours)).toEqual(code(ref));
        expect(code(ours)).toMatchObject({ alu32: true, jmp32: true });
      });

      it.skipIf(noKernel)("loads into the kernel, as clang's own object does", () => {
        const clang = loadIntoKernel(ref);
        expect(clang.ok ? 'accepted' : clang.log, "clang's object").toBe('accepted');
        const r = loadIntoKernel(ours);
        expect(r.ok ? 'accepted' : r.log).toBe('accepted');
      });
    });
  }

  it.skipIf(noKernel)('is rejected as v1 code, by clang -mcpu=v1 and by a link with --cpu generic (the old default)', () => {
    const ref = compileC({ major: 22, source: V3_INDEX, out: out('v1.ref.o'), mode: 'obj', flags: ['-g', '-O2', '-mcpu=v1'] });
    const bc = compileC({ major: 22, source: V3_INDEX, out: out('v3.bc'), mode: 'bc' });
    linkOk([bc, '--btf', '--cpu', 'generic', '-o', out('generic.o')]);
    for (const path of [ref, out('generic.o')]) {
      const r = loadIntoKernel(path);
      expect(r.ok, path).toBe(false);
      expect(r.log).toMatch(/min value is outside of the allowed memory range|unbounded memory access/);
    }
  });
});

describe('which CPU, and why, on the command line', () => {
  let dir: string;
  let bc22: string;
  let bc19: string;
  const out = (name: string) => join(dir, name);
  beforeAll(() => {
    dir = makeTempDir('bpfl-cli-cpu-');
    bc22 = compileC({ major: 22, source: V3_INDEX, out: out('v3_index-22.bc'), mode: 'bc' });
    // A helper library built by clang-19, whose default CPU is v1.
    const lib = writeSource(dir, 'helper.c', 'int helper(int x) { return x * 3 + 1; }\n');
    bc19 = compileC({ major: 19, source: lib, out: out('helper-19.bc'), mode: 'bc' });
  });

  it('--log-level=info names the CPU and where it came from', () => {
    const r = linkOk([bc22, '--log-level=info', '-o', out('info.o')]);
    expect(r.stderr).toContain(`[INFO] target CPU v3: the CPU the inputs were compiled for: v3, LLVM 22's default without -mcpu (${bc22}); no features: the inputs name none\n`);
    const forced = linkOk([bc22, '--cpu', 'v2', '--log-level=info', '-o', out('forced.o')]);
    expect(forced.stderr).toContain(`[INFO] target CPU v2: --cpu v2 (the inputs ask for v3, LLVM 22's default without -mcpu (${bc22}))`);
  });

  it('warns when the inputs were compiled for different CPUs, and takes the lowest', () => {
    const r = runCli([bc22, bc19, '-o', out('mixed.o')]);
    expect(r.stderr).toBe(
      `[WARN] the inputs were compiled for different BPF CPUs: v3, LLVM 22's default without -mcpu (${bc22}), ` +
        `v1, LLVM 19's default without -mcpu (${bc19}); linking for v1, the lowest, which every input accepts (pass --cpu to choose)\n`,
    );
    expect(r.status).toBe(0);
    expect(code(out('mixed.o'))).toMatchObject({ alu32: false, jmp32: false });
    // --cpu silences it: the user chose.
    expect(runCli([bc22, bc19, '--cpu', 'v3', '-o', out('mixed-v3.o')]).stderr).toBe('');
  });

  it('--report records the CPU, the features and what each input asked for', () => {
    linkOk([bc22, '--report', out('report.json'), '-o', out('report.o')]);
    const report = JSON.parse(readFileSync(out('report.json'), 'utf8'));
    expect(report.target).toEqual({
      cpu: 'v3',
      features: '',
      cpuFrom: 'inputs',
      featuresFrom: 'inputs',
      reason: `CPU v3: the CPU the inputs were compiled for: v3, LLVM 22's default without -mcpu (${bc22}); no features: the inputs name none`,
      inputs: [{ input: bc22, cpus: ['v3'], defaultCpuOf: 'LLVM 22', features: [''] }],
    });
  });
});
