/**
 * verifyObject when the kernel refuses a program instead of the verifier rejecting it (here an
 * fentry program whose target function is not in the kernel): that program's verdict says
 * REFUSED and why, the programs after it are still loaded and judged, and a verifier rejection
 * in the same object stays a rejection. Real kernel, real libbpf, objects from clang-22.
 */
import { describe, expect, it } from 'vitest';
import { formatVerifyResult, verifyObject } from '@bpf-linker/core';
import { compileObject, verifyUnavailable } from './fixtures';
import { MISSING_FUNCTION, MISSING_TARGET_C, REFUSED_REJECTED_ACCEPTED_C } from './refusal-fixtures';

const unavailable = verifyUnavailable();
const title = (what: string) => (unavailable ? `${what} (skipped: ${unavailable})` : what);

describe.skipIf(unavailable !== null)(title('verifyObject: programs the kernel refuses'), () => {
  it('gives the fentry program with a missing target a refusal naming it, and still accepts the XDP program after it', () => {
    const r = verifyObject(compileObject('missing-target', MISSING_TARGET_C), { objectName: 'missing_target' });
    expect(r.programs.map((p) => [p.name, p.section, p.accepted])).toEqual([
      ['vfy_no_target', `fentry/${MISSING_FUNCTION}`, false],
      ['vfy_after', 'xdp', true],
    ]);
    const [refused, after] = r.programs;
    // libbpf finds no kernel BTF for the target: ESRCH, before the verifier ever runs.
    expect(refused.refused).toEqual({ errno: 3, code: 'ESRCH', reason: expect.stringMatching(/attach target .*is not in this kernel/) });
    expect(refused).toMatchObject({ errno: 3, code: 'ESRCH' });
    expect(refused.reason).toContain(`failed to find kernel BTF type ID of '${MISSING_FUNCTION}'`);
    // libbpf's closing lines say nothing about why; they are left out of the reason.
    expect(refused.reason).not.toMatch(/failed to (load|prepare load attributes)/);
    expect(refused.log).toBe('');
    expect(after.refused).toBeUndefined();
    expect(after.stats?.processedInsns).toBeGreaterThan(0);
    expect(r.accepted).toBe(false);

    const text = formatVerifyResult(r, { label: 'missing-target.o' });
    expect(text).toMatch(/^missing-target\.o: 1 of 2 programs refused by the kernel \(kernel /);
    expect(text).toMatch(
      new RegExp(`^ {2}REFUSED {3}vfy_no_target {2}fentry/${MISSING_FUNCTION} {2}tracing, \\d+ insns?, refused by the kernel: its attach target .*\\(ESRCH\\)$`, 'm'),
    );
    expect(text).toMatch(new RegExp(`^ {6}prog 'vfy_no_target': failed to find kernel BTF type ID of '${MISSING_FUNCTION}'`, 'm'));
    expect(text).toMatch(/^ {2}OK {8}vfy_after +xdp +xdp, /m);
    expect(text).not.toContain('REJECTED');
  });

  it('tells a refused program from a rejected one in the same object', () => {
    const r = verifyObject(compileObject('refused-rejected', REFUSED_REJECTED_ACCEPTED_C));
    const byName = Object.fromEntries(r.programs.map((p) => [p.name, p]));
    expect(Object.keys(byName)).toEqual(['vfy_no_target', 'vfy_overrun', 'vfy_fine']);

    expect(byName.vfy_no_target).toMatchObject({ accepted: false, refused: { errno: 3, code: 'ESRCH' } });
    // The verifier ran on this one and said no: a rejection, with its message, never a refusal.
    expect(byName.vfy_overrun).toMatchObject({ accepted: false, errno: 13, code: 'EACCES' });
    expect(byName.vfy_overrun.refused).toBeUndefined();
    expect(byName.vfy_overrun.reason).toMatch(/^invalid access to packet/);
    expect(byName.vfy_fine).toMatchObject({ accepted: true });

    const text = formatVerifyResult(r, { label: 'refused-rejected.o' });
    expect(text).toMatch(/^refused-rejected\.o: 1 of 3 programs rejected, 1 refused by the kernel \(kernel /);
    expect(text).toMatch(/^ {2}REFUSED {3}vfy_no_target .*refused by the kernel: .*\(ESRCH\)$/m);
    expect(text).toMatch(/^ {2}REJECTED {2}vfy_overrun .*rejected by the verifier \(EACCES\)$/m);
    expect(text).toMatch(/^ {2}OK {8}vfy_fine /m);
  });
});
