/** The parser of the static loader's output (no kernel needed). */
import { describe, expect, it } from 'vitest';
import { parseLoaderOutput } from './harness';

describe('parseLoaderOutput', () => {
  it('reads accepted and rejected objects, with the verifier log of the rejected program', () => {
    const out = parseLoaderOutput(
      [
        '=== KERNEL 6.1.0-56-amd64 Linux version …',
        '=== OBJECT good',
        '=== LOADING',
        '=== PROG xdp_prog xdp OK',
        '=== PROG kprobe_prog kprobe/do_nanosleep OK',
        '=== RESULT good OK',
        '=== OBJECT bad',
        '=== LOADING',
        "libbpf: prog 'count_packets': BPF program load failed: Invalid argument",
        "libbpf: failed to load object '/objs/bad.o'",
        '=== PROG count_packets xdp FAIL',
        'Validating get_slot() func#1...',
        "Global function get_slot() doesn't return scalar. Only those are supported.",
        '=== LOAD-FAILED bad Invalid argument',
        '=== RESULT bad FAIL',
        '=== DONE 1/2 loaded',
      ].join('\n'),
    );
    expect(out.get('good')).toMatchObject({ ok: true, programs: [{ name: 'xdp_prog', state: 'OK' }, { name: 'kprobe_prog', state: 'OK' }] });
    const bad = out.get('bad')!;
    expect(bad).toMatchObject({ ok: false, error: 'Invalid argument' });
    expect(bad.programs).toHaveLength(1);
    expect(bad.programs[0].log).toBe(
      "libbpf: prog 'count_packets': BPF program load failed: Invalid argument\n" +
        'Validating get_slot() func#1...\n' +
        "Global function get_slot() doesn't return scalar. Only those are supported.\n",
    );
  });

  it('gives each program of a --each run its own messages', () => {
    const out = parseLoaderOutput(
      [
        '=== OBJECT o',
        '=== LOADING',
        '=== PROG first socket OK',
        '=== LOADING',
        "libbpf: extern (func ksym) 'bpf_kfunc_call_test1': not found in kernel or module BTFs",
        "libbpf: failed to load object '/tmp/o.o'",
        '=== PROG second tc NOT-LOADED',
        '=== LOAD-FAILED o Invalid argument',
        '=== RESULT o FAIL',
      ].join('\n'),
    );
    const [first, second] = out.get('o')!.programs;
    expect(first).toMatchObject({ name: 'first', state: 'OK', log: '' });
    expect(second.log).toContain("'bpf_kfunc_call_test1': not found");
  });

  it('reports an object libbpf cannot open', () => {
    const out = parseLoaderOutput(
      [
        '=== OBJECT legacy',
        "libbpf: elf: legacy map definitions in 'maps' section are not supported by libbpf v1.0+",
        '=== OPEN-FAILED Operation not supported',
        '=== RESULT legacy FAIL',
      ].join('\n'),
    );
    expect(out.get('legacy')).toMatchObject({
      ok: false,
      programs: [],
      openError: "libbpf: elf: legacy map definitions in 'maps' section are not supported by libbpf v1.0+",
    });
  });
});
