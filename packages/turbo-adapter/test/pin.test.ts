/** The toolchain pin: what it records, how differences read, and the build's refusal of a stale pin. */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLinkError } from '@bpf-linker/core';
import { assertPinCurrent, computePin, pinDifferences, toolNeeds, writePin, type ToolchainPin } from '../src/pin';
import { tempMonorepo } from './support';

const C_ONLY = toolNeeds([{ programs: [{ name: 'p', sources: ['*.c'] }] }]);

describe('toolNeeds', () => {
  it('collects the clangs of C projects and whether any builds Rust', () => {
    expect(toolNeeds([{ library: { name: 'l', sources: ['*.c'] } }, { compile: { clang: '/usr/bin/clang-19' }, programs: [{ name: 'p', sources: ['*.c'] }] }])).toEqual({
      clangs: [undefined, '/usr/bin/clang-19'],
      rust: false,
      rustEnvs: [],
    });
    expect(toolNeeds([{ programs: [{ name: 'r', cargo: {} }] }])).toEqual({ clangs: [], rust: true, rustEnvs: [{}] });
    // Each crate's toolchain setting, once.
    expect(
      toolNeeds([
        { programs: [{ name: 'r', cargo: { rustc: '/usr/bin/rustc' } }] },
        { programs: [{ name: 's', cargo: { rustc: '/usr/bin/rustc' } }, { name: 'n', cargo: { toolchain: 'nightly', cargo: '/opt/cargo' } }] },
      ]).rustEnvs,
    ).toEqual([{ RUSTC: '/usr/bin/rustc' }, { RUSTUP_TOOLCHAIN: 'nightly', CARGO: '/opt/cargo' }]);
  });
});

describe('the kernel BTF of CO-RE links', () => {
  it('is a need when a Rust program relocates against a BTF outside the repository (--core=auto: the running kernel)', () => {
    expect(toolNeeds([{ link: { core: 'auto' }, programs: [{ name: 'r', cargo: {} }] }]).kernelBtfs).toEqual(['/sys/kernel/btf/vmlinux']);
    expect(toolNeeds([{ programs: [{ name: 'r', cargo: {}, link: { coreBtf: '/boot/vmlinux-6.1' } }] }]).kernelBtfs).toEqual(['/boot/vmlinux-6.1']);
    // A BTF in the repository is a task input; CO-RE off, or C only, needs none.
    expect(toolNeeds([{ programs: [{ name: 'r', cargo: {}, link: { coreBtf: 'btf/vmlinux' } }] }]).kernelBtfs).toBeUndefined();
    expect(toolNeeds([{ link: { core: 'off' }, programs: [{ name: 'r', cargo: {} }] }]).kernelBtfs).toBeUndefined();
  });

  it('is pinned by content: another kernel BTF makes the pin stale', () => {
    const dir = tempMonorepo();
    const btf = join(dir, 'kernel.btf');
    writeFileSync(btf, 'one kernel');
    const pin = computePin({ clangs: [], rust: false, kernelBtfs: [btf] });
    expect(pin.kernelBtf).toEqual([`kernel BTF ${btf}: ${createHash('sha256').update('one kernel').digest('hex')}`]);
    writeFileSync(btf, 'another kernel');
    expect(pinDifferences(pin, computePin({ clangs: [], rust: false, kernelBtfs: [btf] }))).toEqual([
      `kernel BTF: "kernel BTF ${btf}: ${createHash('sha256').update('another kernel').digest('hex')}" is not pinned`,
    ]);
  });
});

describe('computePin', () => {
  it('records each clang with its version, every libLLVM with its size, and Rust only when used', () => {
    const pin = computePin({ clangs: [undefined, '/usr/lib/llvm-19/bin/clang'], rust: false });
    expect(pin.clang).toEqual([expect.stringMatching(/^clang \/usr\/lib\/llvm-19\/bin\/clang: .*clang version 19\./), expect.stringMatching(/^clang \/usr\/lib\/llvm-22\/bin\/clang: .*clang version 22\./)]);
    expect(pin.llvm!.some((l) => /^libLLVM 22\.1 system \S+ \d+$/.test(l))).toBe(true);
    expect(pin.rust).toBeUndefined();
    expect(computePin({ clangs: [], rust: true }, { ...process.env, RUSTC: '/usr/bin/rustc', CARGO: '/usr/bin/cargo' }).rust).toEqual([
      expect.stringMatching(/^rustc \/usr\/bin\/rustc: rustc 1\.\d+/),
      expect.stringMatching(/^cargo \/usr\/bin\/cargo: cargo 1\.\d+/),
    ]);
    // A crate's own toolchain setting (bpf.config.json's cargo.rustc) is what the pin records.
    const own = computePin({ clangs: [], rust: true, rustEnvs: [{ RUSTC: '/usr/bin/rustc' }] }, { ...process.env, RUSTC: 'rustc' });
    expect(own.rust![0]).toMatch(/^rustc \/usr\/bin\/rustc: rustc 1\.\d+/);
  });
});

describe('pinDifferences', () => {
  const base: ToolchainPin = { $comment: '', common: ['bpf-linker 1.0.0', 'host x86_64'], clang: ['clang a: 22'], llvm: ['libLLVM 22.1 system /l 1'] };
  it('is empty for the same toolchain, and for a build using a subset of the pinned clangs', () => {
    expect(pinDifferences(base, base)).toEqual([]);
    expect(pinDifferences({ ...base, clang: ['clang a: 22', 'clang b: 19'] }, base)).toEqual([]);
  });
  it('names what changed', () => {
    expect(pinDifferences(base, { ...base, llvm: ['libLLVM 22.1 system /l 2'], clang: ['clang a: 23'] })).toEqual([
      'clang: "clang a: 23" is not pinned',
      'libLLVM: pinned "libLLVM 22.1 system /l 1", gone now',
      'libLLVM: "libLLVM 22.1 system /l 2" is not pinned',
    ]);
    expect(pinDifferences(undefined, base)).toEqual(['.bpf-toolchain.json is missing or not valid JSON']);
  });
  it('exact (pin, init): a clang or Rust no package uses any more is a difference', () => {
    expect(pinDifferences({ ...base, clang: ['clang a: 22', 'clang b: 19'], rust: ['rustc r'] }, base, true)).toEqual([
      'clang: pinned "clang b: 19", gone now',
      'rust: pinned "rustc r", gone now',
    ]);
  });
});

describe('assertPinCurrent', () => {
  it('passes on a fresh pin and refuses a stale one with the file and the fix', () => {
    const root = tempMonorepo({ 'package.json': { name: 'm', workspaces: [] } });
    writePin(root, computePin(C_ONLY));
    expect(() => assertPinCurrent(root, C_ONLY)).not.toThrow();
    const pin = computePin(C_ONLY);
    pin.clang = ['clang clang: clang version 3.0'];
    writeFileSync(join(root, '.bpf-toolchain.json'), JSON.stringify(pin));
    let error: unknown;
    try {
      assertPinCurrent(root, C_ONLY);
    } catch (e) {
      error = e;
    }
    expect(isLinkError(error) && error.code).toBe('TOOLCHAIN_PIN_STALE');
    const text = (error as { format(): string }).format();
    expect(text).toContain(".bpf-toolchain.json does not describe this machine's BPF toolchain, so turbo's cache key would be wrong:");
    expect(text).toMatch(/clang: "clang \S+: .*clang version 22\.[^"]*" is not pinned/);
    expect(text).toContain('run `npx bpf-turbo pin` at the repository root and commit .bpf-toolchain.json');
  });
});
