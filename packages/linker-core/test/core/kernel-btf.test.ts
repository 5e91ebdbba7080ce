/** The kernel BTF reader of the CO-RE stage, on the running kernel's BTF and on clang's objects. */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LinkError, coreBtfDigest, readKernelBtf } from '@bpf-linker/core';
import { compileC, makeTempDir, writeSource } from '../support/toolchain';

const VMLINUX = '/sys/kernel/btf/vmlinux';

describe.skipIf(!existsSync(VMLINUX))('the running kernel BTF', () => {
  const btf = readKernelBtf(VMLINUX);

  it('knows structs and unions by name and kind, flavors included', () => {
    expect(btf.has('struct', 'task_struct')).toBe(true);
    expect(btf.has('union', 'task_struct')).toBe(false);
    expect(btf.has('struct', 'task_struct___old')).toBe(true);
    expect(btf.has('struct', 'no_such_struct_anywhere')).toBe(false);
  });

  it('accepts member paths libbpf can relocate, through anonymous members and arrays', () => {
    expect(btf.whyNot('struct', 'task_struct', [{ member: 'pid', shape: 'scalar' }])).toBeUndefined();
    expect(btf.whyNot('struct', 'task_struct', [{ member: 'comm', shape: 'array' }, { index: 15, shape: 'scalar' }])).toBeUndefined();
    // cred's `union { int non_rcu; struct rcu_head rcu; }` has no name: libbpf looks through it.
    expect(btf.whyNot('struct', 'cred', [{ member: '', shape: 'union' }, { member: 'non_rcu', shape: 'scalar' }])).toBeUndefined();
    expect(btf.whyNot('struct', 'cred', [{ member: 'non_rcu', shape: 'scalar' }])).toBeUndefined();
    expect(btf.whyNot('struct', 'cred', [{ member: 'uid', shape: 'struct' }, { member: 'val', shape: 'scalar' }])).toBeUndefined();
  });

  it('says why a path cannot be relocated', () => {
    expect(btf.whyNot('struct', 'task_struct', [{ member: 'no_such_member', shape: 'scalar' }])).toBe("task_struct.no_such_member: no such member in the kernel's struct");
    expect(btf.whyNot('struct', 'task_struct', [{ member: 'pid', shape: 'pointer' }])).toBe('task_struct.pid: a pointer here, a scalar in the kernel');
    expect(btf.whyNot('struct', 'task_struct', [{ member: 'comm', shape: 'array' }, { index: 16, shape: 'scalar' }])).toBe("task_struct.comm[16]: index outside the kernel's array of 16");
    expect(btf.whyNot('union', 'task_struct', [])).toBe(`no union task_struct in ${VMLINUX}`);
  });
});

describe('BTF files', () => {
  const dir = makeTempDir('bpfl-kbtf-');

  it('reads the .BTF section of an ELF file', () => {
    const src = writeSource(dir, 'types.c', 'struct thing { int a; union { long b; char c; }; } thing_var;\n');
    const obj = compileC({ major: 22, source: src, out: join(dir, 'types.o'), mode: 'obj' });
    const btf = readKernelBtf(obj);
    expect(btf.has('struct', 'thing')).toBe(true);
    expect(btf.whyNot('struct', 'thing', [{ member: 'c', shape: 'scalar' }])).toBeUndefined();
  });

  it.each([
    ['/dev/zero', '/dev/zero: is a character device, not a BTF file', 'pass a kernel BTF: /sys/kernel/btf/vmlinux, or a vmlinux with a .BTF section'],
    ['/sys/kernel/btf', '/sys/kernel/btf: is a directory, not a BTF file', 'name the file, e.g. /sys/kernel/btf/vmlinux'],
  ].filter(([p]) => existsSync(p)))('refuses %s without reading from it (a device would never end)', (path, message, hint) => {
    let err: unknown;
    try {
      readKernelBtf(path);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LinkError);
    expect((err as LinkError).message).toBe(message);
    expect((err as LinkError).hint).toBe(hint);
    // Cache identities hash the file: a device is `absent` there, not an endless read.
    expect(coreBtfDigest(path)).toBe('absent');
  });

  it.each([
    ['short', 'tiny', 'shorter than a BTF header'],
    ['text', 'this is a text file and not BTF, long enough', 'no BTF magic (0xeb9f)'],
  ])('refuses a %s file with one message naming it', (name, content, why) => {
    const file = join(dir, name);
    writeFileSync(file, content);
    let err: unknown;
    try {
      readKernelBtf(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LinkError);
    expect((err as LinkError).message).toBe(`the CO-RE target BTF ${file} is not usable: ${why}`);
    expect((err as LinkError).hint).toBe('pass a kernel BTF: /sys/kernel/btf/vmlinux, or a vmlinux built with CONFIG_DEBUG_INFO_BTF');
  });
});
