/**
 * The target machine's CPU and features: the rule of pipeline/target-cpu.ts on its own (pure),
 * then on real clang-19/clang-22 bitcode through linkSync.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseTarget, createMemoryLogger, defaultLinkOptions, linkSync, lowestCpu, mergeFeatures, readBpfObject, type InputTarget } from '../../src';
import { compileC, makeTempDir, writeSource, type LlvmMajor } from '../support/toolchain';

const t = (input: string, cpus: string[], features: string[] = [''], defaulted?: InputTarget['defaulted']): InputTarget => ({
  input,
  cpus,
  features,
  ...(defaulted && { defaulted }),
});

describe('chooseTarget (the rule)', () => {
  it('takes the CPU and features every input asks for', () => {
    const logger = createMemoryLogger('info');
    const c = chooseTarget({}, [t('a.bc', ['v3'], ['+alu32']), t('b.bc', ['v3'], ['+alu32'])], logger);
    expect(c).toMatchObject({ cpu: 'v3', features: '+alu32', cpuFrom: 'inputs', featuresFrom: 'inputs', cpusDiffer: false, featuresDiffer: false });
    expect(c.reason).toBe(`CPU v3: the CPU the inputs were compiled for: v3 (a.bc, b.bc); features "+alu32": the inputs' target-features`);
    expect(logger.lines).toEqual([`INFO target ${c.reason}`]);
  });

  it("says when a CPU is the producer's default (no -mcpu)", () => {
    const c = chooseTarget({}, [t('a.bc', ['v3'], [''], { cpu: 'v3', llvm: 'LLVM 22' })], createMemoryLogger());
    expect(c.reason).toBe("CPU v3: the CPU the inputs were compiled for: v3, LLVM 22's default without -mcpu (a.bc); no features: the inputs name none");
  });

  it('takes the lowest CPU when the inputs differ, and warns naming who asked for what', () => {
    const logger = createMemoryLogger('warn');
    const c = chooseTarget({}, [t('a.bc', ['v3']), t('b.bc', ['v1'], [''], { cpu: 'v1', llvm: 'LLVM 19' }), t('c.bc', ['v2'])], logger);
    expect(c).toMatchObject({ cpu: 'v1', cpuFrom: 'inputs', cpusDiffer: true });
    expect(logger.lines).toEqual([
      "WARN the inputs were compiled for different BPF CPUs: v3 (a.bc), v1, LLVM 19's default without -mcpu (b.bc), v2 (c.bc); " +
        'linking for v1, the lowest, which every input accepts (pass --cpu to choose)',
    ]);
  });

  it('counts generic and v1 as one CPU, keeping the first spelling', () => {
    const logger = createMemoryLogger('warn');
    expect(chooseTarget({}, [t('a.bc', ['v3']), t('b.bc', ['generic']), t('c.bc', ['v1'])], logger).cpu).toBe('generic');
    expect(chooseTarget({}, [t('a.bc', ['generic']), t('b.bc', ['v1'])], logger)).toMatchObject({ cpu: 'generic', cpusDiffer: false });
    expect(logger.lines).toHaveLength(1); // only the first link mixes CPUs
  });

  it('uses probe only when every input asks for it', () => {
    expect(lowestCpu(['probe', 'probe']).cpu).toBe('probe');
    expect(lowestCpu(['probe', 'v3', 'v2']).cpu).toBe('v2');
    expect(lowestCpu([]).cpu).toBeUndefined();
    const c = chooseTarget({}, [t('a.bc', ['probe']), t('b.bc', ['probe'])], createMemoryLogger());
    expect(c.cpu).toBe('probe');
    expect(c.reason).toContain('(probe: the running kernel decides)');
  });

  it('ignores a CPU that is not a BPF one, with a warning', () => {
    const logger = createMemoryLogger('warn');
    const c = chooseTarget({}, [t('x.ll', ['pentium4']), t('y.bc', ['v2'])], logger);
    expect(c.cpu).toBe('v2');
    expect(logger.lines[0]).toBe('WARN x.ll asks for the CPU "pentium4", which is not a BPF CPU: ignored (pass --cpu to choose one)');
    expect(chooseTarget({}, [t('x.ll', ['pentium4'])], createMemoryLogger()).cpu).toBe('generic');
  });

  it('lets --cpu and --cpu-features win without a warning, and says what the inputs asked for', () => {
    const logger = createMemoryLogger('info');
    const c = chooseTarget({ cpu: 'v2', cpuFeatures: '-alu32' }, [t('a.bc', ['v3'], ['+alu32']), t('b.bc', ['v1'])], logger);
    expect(c).toMatchObject({ cpu: 'v2', features: '-alu32', cpuFrom: 'option', featuresFrom: 'option' });
    expect(c.reason).toBe('CPU v2: --cpu v2 (the inputs ask for v3 (a.bc), v1 (b.bc)); features "-alu32": --cpu-features');
    expect(logger.lines).toEqual([`INFO target ${c.reason}`]);
    // rustc: --cpu generic for bitcode that says generic.
    expect(chooseTarget({ cpu: 'generic', cpuFeatures: '' }, [t('lib.rlib(x.rcgu.o)', ['generic'])], logger).reason).toBe('CPU generic: --cpu generic; no features: --cpu-features');
  });

  it('takes the inputs’ features with --cpu alone, and the inputs’ CPU with --cpu-features alone', () => {
    const inputs = [t('a.bc', ['v3'], ['-alu32'])];
    expect(chooseTarget({ cpu: 'v4' }, inputs, createMemoryLogger())).toMatchObject({ cpu: 'v4', features: '-alu32', cpuFrom: 'option', featuresFrom: 'inputs' });
    expect(chooseTarget({ cpuFeatures: '' }, inputs, createMemoryLogger())).toMatchObject({ cpu: 'v3', features: '', cpuFrom: 'inputs', featuresFrom: 'option' });
  });

  it('falls back to generic when no input defines a function', () => {
    expect(chooseTarget({}, [], createMemoryLogger())).toMatchObject({ cpu: 'generic', features: '', cpuFrom: 'default', featuresFrom: 'default' });
  });

  it('merges differing features: any disable wins, an enable needs every input', () => {
    expect(mergeFeatures(['+alu32', '+alu32'])).toBe('+alu32');
    expect(mergeFeatures(['+alu32,+dwarfris', '+alu32'])).toBe('+alu32');
    expect(mergeFeatures(['+alu32', '-alu32'])).toBe('-alu32');
    expect(mergeFeatures(['-dwarfris', ''])).toBe('-dwarfris');
    expect(mergeFeatures(['+alu32', ''])).toBe('');
    expect(mergeFeatures([])).toBe('');
    const logger = createMemoryLogger('warn');
    const c = chooseTarget({}, [t('a.bc', ['v3'], ['+alu32']), t('b.bc', ['v3'], [''])], logger);
    expect(c).toMatchObject({ cpu: 'v3', features: '', featuresDiffer: true });
    expect(logger.lines).toEqual([
      'WARN the inputs were compiled with different CPU features: "+alu32" (a.bc), none (b.bc); linking with "" ' +
        '(a feature any input disables is off, one every input enables is on; pass --cpu-features to choose)',
    ]);
  });
});

describe('on real bitcode (linkSync without --cpu)', () => {
  let dir: string;
  const SOURCE = `
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
unsigned char table[64];
__attribute__((noinline)) int pick(int i) { return (i >= 0 && i < 64) ? table[i] : 0; }
SEC("xdp") int prog(struct xdp_md *ctx) { return pick((int)ctx->rx_queue_index - 5); }
char LICENSE[] SEC("license") = "GPL";
`;
  const LIB = `int helper(int x) { return x * 3; }\n`;
  const bc = (major: LlvmMajor, name: string, flags: string[] = [], text = SOURCE) => {
    const src = writeSource(dir, `${name}.c`, text);
    return compileC({ major, source: src, out: join(dir, `${name}.bc`), mode: 'bc', flags: ['-g', '-O2', ...flags] });
  };
  const alu32 = (bytes: Uint8Array) => readBpfObject(bytes).codeSections.some((s) => s.usesAlu32);

  beforeAll(() => {
    dir = makeTempDir('bpfl-target-cpu-');
  });

  it.each([
    [19, [], 'v1', "v1, LLVM 19's default without -mcpu"],
    [19, ['-mcpu=v3'], 'v3', 'v3'],
    [22, [], 'v3', "v3, LLVM 22's default without -mcpu"],
    [22, ['-mcpu=v2'], 'v2', 'v2'],
    [22, ['-mcpu=generic'], 'generic', 'generic'],
  ] as const)('clang-%i %j: %s', (major, flags, cpu, said) => {
    const input = bc(major, `one-${major}-${flags.join('')}`, [...flags]);
    const r = linkSync(defaultLinkOptions({ inputs: [input] }));
    expect(r.target).toMatchObject({ cpu, features: '', cpuFrom: 'inputs', featuresFrom: 'inputs' });
    expect(r.target.reason).toContain(`${said} (${input})`);
    expect(alu32(r.bytes)).toBe(cpu === 'v3');
  });

  it('reads target-features (-Xclang -target-feature +alu32 on v2), and --cpu-features still wins', () => {
    const input = bc(22, 'alu32', ['-mcpu=v2', '-Xclang', '-target-feature', '-Xclang', '+alu32']);
    const r = linkSync(defaultLinkOptions({ inputs: [input] }));
    expect(r.target).toMatchObject({ cpu: 'v2', features: '+alu32', featuresFrom: 'inputs' });
    expect(alu32(r.bytes)).toBe(true);
    const forced = linkSync(defaultLinkOptions({ inputs: [input], cpuFeatures: '' }));
    expect(forced.target).toMatchObject({ cpu: 'v2', features: '', featuresFrom: 'option' });
    expect(alu32(forced.bytes)).toBe(false);
  });

  it('takes the lowest CPU of clang-19 and clang-22 inputs, with a warning', () => {
    const logger = createMemoryLogger('warn');
    const a = bc(22, 'mixed-a');
    const b = bc(19, 'mixed-b', [], LIB);
    const r = linkSync(defaultLinkOptions({ inputs: [a, b] }), { logger });
    expect(r.target).toMatchObject({ cpu: 'v1', cpusDiffer: true });
    expect(logger.lines).toEqual([
      `WARN the inputs were compiled for different BPF CPUs: v3, LLVM 22's default without -mcpu (${a}), v1, LLVM 19's default without -mcpu (${b}); ` +
        'linking for v1, the lowest, which every input accepts (pass --cpu to choose)',
    ]);
  });

  it('lets --cpu win over the inputs, as before', () => {
    const input = bc(22, 'forced');
    const r = linkSync(defaultLinkOptions({ inputs: [input], cpu: 'generic' }));
    expect(r.target).toMatchObject({ cpu: 'generic', cpuFrom: 'option' });
    expect(alu32(r.bytes)).toBe(false);
  });

  it('ignores inputs that define no function', () => {
    const data = bc(19, 'data-only', [], 'int counter = 1;\n');
    const prog = bc(22, 'with-data');
    const r = linkSync(defaultLinkOptions({ inputs: [data, prog] }));
    expect(r.target).toMatchObject({ cpu: 'v3', cpusDiffer: false });
    expect(r.target.inputs.map((i) => i.input)).toEqual([prog]);
  });

  it('records the choice in the report', () => {
    const input = bc(22, 'reported', ['-mcpu=v3']);
    const r = linkSync(defaultLinkOptions({ inputs: [input] }), { report: true });
    expect(r.report?.target).toEqual({
      cpu: 'v3',
      features: '',
      cpuFrom: 'inputs',
      featuresFrom: 'inputs',
      reason: `CPU v3: the CPU the inputs were compiled for: v3 (${input}); no features: the inputs name none`,
      inputs: [{ input, cpus: ['v3'], features: [''] }],
    });
    expect(JSON.parse(JSON.stringify(r.report)).target.cpu).toBe('v3');
  });
});
