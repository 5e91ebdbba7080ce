/**
 * `bpf-linker verify` when the kernel refuses one program: the binary prints that program as
 * REFUSED with why, judges the others, and exits 3 (refused only) or 1 (a verifier rejection
 * too); JSON carries `refused`. A refusal with EPERM is made for real by running the binary as
 * root with CAP_BPF alone (setpriv): the kernel then refuses XDP (it needs CAP_NET_ADMIN) and
 * loads a socket filter. Only when no program at all may be loaded is the object an error.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileC, makeTempDir, writeSource } from '../../linker-core/test/support/toolchain';
import { ONE_OF_TWO_C, verifyUnavailable } from '../../linker-core/test/verify/fixtures';
import {
  MISSING_FUNCTION,
  MISSING_TARGET_C,
  NET_ADMIN_FIRST_C,
  NET_ADMIN_ONLY_C,
  REFUSED_REJECTED_ACCEPTED_C,
} from '../../linker-core/test/verify/refusal-fixtures';
import { CLI, runCli } from './support/cli';

const unavailable = verifyUnavailable();
const canDropCapabilities = process.getuid?.() === 0 && existsSync('/usr/bin/setpriv') ? null : 'needs root and setpriv to run a child with CAP_BPF alone';
const skipped = (what: string, reason: string | null) => (reason ? `${what} (skipped: ${reason})` : what);

let dir: string;
const objects: Record<'missingTarget' | 'mixed' | 'rejected' | 'adminFirst' | 'adminOnly', string> = {
  missingTarget: '',
  mixed: '',
  rejected: '',
  adminFirst: '',
  adminOnly: '',
};

beforeAll(() => {
  dir = makeTempDir('bpfl-verify-refused-');
  const obj = (name: string, source: string) => compileC({ major: 22, source: writeSource(dir, `${name}.c`, source), out: join(dir, `${name}.o`), mode: 'obj' });
  objects.missingTarget = obj('missing-target', MISSING_TARGET_C);
  objects.mixed = obj('mixed', REFUSED_REJECTED_ACCEPTED_C);
  objects.rejected = obj('rejected', ONE_OF_TWO_C);
  objects.adminFirst = obj('admin-first', NET_ADMIN_FIRST_C);
  objects.adminOnly = obj('admin-only', NET_ADMIN_ONLY_C);
});

/** The built binary as root with CAP_BPF as its only capability (bounding set: the child gets no other). */
function runWithCapBpfOnly(args: string[]) {
  const r = spawnSync('setpriv', ['--bounding-set=-all,+bpf', '--inh-caps=-all', process.execPath, CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface JsonProgram {
  name: string;
  accepted: boolean;
  errno?: number;
  code?: string;
  reason?: string;
  refused?: { errno: number; code: string; reason: string };
}

describe.skipIf(unavailable !== null)(skipped('bpf-linker verify: a program the kernel refuses', unavailable), () => {
  it('prints the fentry program with a missing target as REFUSED, accepts the program after it: exit status 3', () => {
    const r = runCli(['verify', objects.missingTarget]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`${objects.missingTarget}: 1 of 2 programs refused by the kernel`);
    expect(r.stdout).toMatch(/^ {2}REFUSED {3}vfy_no_target .*refused by the kernel: its attach target .*is not in this kernel \(ESRCH\)$/m);
    expect(r.stdout).toMatch(new RegExp(`^ {6}prog 'vfy_no_target': failed to find kernel BTF type ID of '${MISSING_FUNCTION}'`, 'm'));
    expect(r.stdout).toMatch(/^ {2}OK {8}vfy_after +xdp +xdp, \d+ insns, \d+ processed/m);
    expect(r.status).toBe(3);
  });

  it('carries the refusal in --json as `refused: { errno, code, reason }`', () => {
    const r = runCli(['verify', '--json', objects.missingTarget]);
    expect(r.status).toBe(3);
    const [entry] = JSON.parse(r.stdout) as { accepted: boolean; programs: JsonProgram[] }[];
    expect(entry.accepted).toBe(false);
    const [refused, after] = entry.programs;
    expect(refused).toMatchObject({ name: 'vfy_no_target', accepted: false, errno: 3, code: 'ESRCH' });
    expect(refused.refused).toEqual({ errno: 3, code: 'ESRCH', reason: expect.stringContaining('attach target') });
    expect(refused.reason).toContain(MISSING_FUNCTION);
    expect(after).toMatchObject({ name: 'vfy_after', accepted: true });
    expect(after.refused).toBeUndefined();
  });

  it('exits 1 when the verifier rejected a program, refused ones or not; 2 still wins for an object not verified at all', () => {
    const mixed = runCli(['verify', objects.mixed]);
    expect(mixed.stdout).toContain('1 of 3 programs rejected, 1 refused by the kernel');
    expect(mixed.stdout).toMatch(/^ {2}REFUSED {3}vfy_no_target .*\(ESRCH\)$/m);
    expect(mixed.stdout).toMatch(/^ {2}REJECTED {2}vfy_overrun .*rejected by the verifier \(EACCES\)$/m);
    expect(mixed.stdout).toMatch(/^ {2}OK {8}vfy_fine /m);
    expect(mixed.status).toBe(1);

    // Over several objects the first status that applies: 2, then 1, then 3.
    expect(runCli(['verify', objects.missingTarget, objects.rejected]).status).toBe(1);
    expect(runCli(['verify', objects.rejected, objects.missingTarget]).status).toBe(1);
    expect(runCli(['verify', objects.missingTarget, join(dir, 'missing.o')]).status).toBe(2);
  });
});

describe.skipIf(unavailable !== null || canDropCapabilities !== null)(
  skipped('bpf-linker verify: a program refused with EPERM (CAP_BPF without CAP_NET_ADMIN)', unavailable ?? canDropCapabilities),
  () => {
    it('gives the XDP program, refused first, its own EPERM verdict and still loads the socket filter: exit status 3', () => {
      const r = runWithCapBpfOnly(['verify', objects.adminFirst]);
      expect(r.stderr).not.toMatch(/Error:/);
      expect(r.stdout).toContain(`${objects.adminFirst}: 1 of 2 programs refused by the kernel`);
      expect(r.stdout).toMatch(/^ {2}REFUSED {3}vfy_needs_admin +xdp +xdp, \d+ insns, refused by the kernel: not permitted .*\(EPERM\)$/m);
      expect(r.stdout).toMatch(/^ {2}OK {8}vfy_socket +socket +socket_filter, \d+ insns, \d+ processed/m);
      expect(r.status).toBe(3);

      const json = runWithCapBpfOnly(['verify', '--json', objects.adminFirst]);
      expect(json.status).toBe(3);
      const [entry] = JSON.parse(json.stdout) as { programs: JsonProgram[] }[];
      expect(entry.programs.map((p) => [p.name, p.accepted, p.refused?.code])).toEqual([
        ['vfy_needs_admin', false, 'EPERM'],
        ['vfy_socket', true, undefined],
      ]);
      expect(entry.programs[0].refused).toMatchObject({ errno: 1, code: 'EPERM' });
    });

    it('keeps the whole-object BPF_NOT_PERMITTED error when no program of the object may be loaded: exit status 2', () => {
      const r = runWithCapBpfOnly(['verify', objects.adminOnly]);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^Error: the kernel refused to load BPF programs: bpf\(\) failed with EPERM/m);
      expect(r.status).toBe(2);
      // The same binary and capabilities judge an object with a program it may load.
      expect(runWithCapBpfOnly(['verify', objects.adminFirst]).status).toBe(3);
    });
  },
);
