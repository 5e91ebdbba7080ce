/**
 * One object from one C source, built for real (clang-22, linkSync) and cached in ccache's direct
 * mode: the second build runs nothing, editing an included header rebuilds, switching it back
 * hits the earlier object, flags and toolchain are keyed; compile errors name the real file,
 * line and column. Also the depfile and diagnostics readers on real clang output.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EM_BPF, readElf } from '../../src/inputs/elf';
import {
  SingleObjectBuildError,
  buildSingleObject,
  checkSingleObjectSettings,
  crateBinaryName,
  firstToolError,
  knownDependencies,
  lookupSingleObject,
  parseDepfile,
  parseToolDiagnostics,
  planSingleObject,
  probeToolchain,
  programNameOf,
  summarizeObject,
  type SingleObjectRequest,
} from '../../src/plan';
import { kernelLoadUnavailable, loadIntoKernel } from '../support/kernel';
import { makeTempDir } from '../support/toolchain';

const CLANG = '/usr/lib/llvm-22/bin/clang';
const noKernel = kernelLoadUnavailable();

const XDP = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "verdict.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} hits SEC(".maps");

SEC("xdp") int count_xdp(struct xdp_md *ctx) {
  __u32 key = 0;
  __u64 *v = bpf_map_lookup_elem(&hits, &key);
  if (v) __sync_fetch_and_add(v, 1);
  return VERDICT;
}
char LICENSE[] SEC("license") = "GPL";
`;

describe('parseDepfile', () => {
  it('reads continuation lines, escaped spaces and $$', () => {
    expect(parseDepfile('out/a.bc: a.c /x/y\\ z.h \\\n  /usr/include/linux/bpf.h b$$c.h\n')).toEqual(['a.c', '/x/y z.h', '/usr/include/linux/bpf.h', 'b$c.h']);
  });
  it('reads every rule, without duplicates', () => {
    expect(parseDepfile('a.o: a.c h.h\nb.o: b.c h.h\n\n')).toEqual(['a.c', 'h.h', 'b.c']);
  });
});

describe('names', () => {
  it('program names of sources', () => {
    expect(programNameOf('/p/xdp.bpf.c')).toBe('xdp');
    expect(programNameOf('/p/tc filter.c')).toBe('tc_filter');
    expect(programNameOf('/p/-x.c')).toBe('_-x');
  });
  it("a crate's binary target: [[bin]] first, else the package", () => {
    expect(crateBinaryName('[package]\nname = "my-prog"\n')).toBe('my-prog');
    expect(crateBinaryName('[package]\nname = "p"\n[[bin]]\nname = "xdp_main"\npath = "src/main.rs"\n')).toBe('xdp_main');
    expect(crateBinaryName('[workspace]\nmembers = []\n')).toBeUndefined();
  });
});

describe('buildSingleObject (clang-22, the in-process linker)', () => {
  let dir: string;
  let src: string;
  let header: string;
  let request: SingleObjectRequest;

  beforeAll(() => {
    dir = makeTempDir('bpfl-single-');
    mkdirSync(join(dir, 'src', 'include'), { recursive: true });
    src = join(dir, 'src', 'xdp.bpf.c');
    header = join(dir, 'src', 'include', 'verdict.h');
    writeFileSync(src, XDP);
    writeFileSync(header, '#define VERDICT XDP_PASS\n');
    request = {
      source: src,
      cacheDir: join(dir, 'cache'),
      compile: { clang: CLANG, includeDirs: ['include'] },
      toolchain: probeToolchain({ clang: CLANG, tools: ['clang', 'llvm'] }),
    };
  });

  it('builds an object with BTF and the program, records the header from the depfile', async () => {
    const r = await buildSingleObject(request);
    expect(r.cached).toBe(false);
    expect(r.steps.map((s) => s.kind)).toEqual(['compile', 'link']);
    const elf = readElf(r.bytes);
    expect(elf.machine).toBe(EM_BPF);
    expect(elf.section('.BTF')).toBeDefined();
    expect(r.dependencies).toContain(header);
    expect(r.dependencies).toContain('/usr/include/linux/bpf.h');
    expect(r.dependencies).not.toContain(src);
    expect(readFileSync(r.objectPath)).toEqual(Buffer.from(r.bytes));
    const summary = summarizeObject(r.name, r.bytes);
    expect(summary).toMatchObject({ name: 'xdp', license: 'GPL', btf: true, btfExt: true });
    expect(summary.programs).toEqual([expect.objectContaining({ name: 'count_xdp', section: 'xdp' })]);
    expect(summary.maps).toEqual([expect.objectContaining({ name: 'hits', type: 'array', maxEntries: 4 })]);
    // Nothing of the build is left but the cache's own files.
    expect(readdirSync(join(dir, 'cache', 'runs'))).toEqual([]);
    expect(readdirSync(join(dir, 'src')).sort()).toEqual(['include', 'xdp.bpf.c']);
  });

  it.skipIf(noKernel)('the object loads into the kernel', async () => {
    const r = await buildSingleObject(request);
    const res = loadIntoKernel(r.objectPath);
    expect(res.log, 'verifier').toBe(res.ok ? res.log : '<accepted>');
  });

  it('a second build runs nothing and gives the same bytes', async () => {
    const first = await buildSingleObject(request);
    const again = await buildSingleObject(request);
    expect(again.cached).toBe(true);
    expect(again.steps).toEqual([]);
    expect(again.objectKey).toBe(first.objectKey);
    expect(Buffer.from(again.bytes).equals(Buffer.from(first.bytes))).toBe(true);
  });

  it('editing an included header rebuilds; switching it back hits the first object', async () => {
    const first = await buildSingleObject(request);
    writeFileSync(header, '#define VERDICT XDP_DROP\n');
    const edited = await buildSingleObject(request);
    expect(edited.cached).toBe(false);
    expect(edited.steps.map((s) => s.kind)).toEqual(['compile', 'link']);
    expect(edited.objectKey).not.toBe(first.objectKey);
    writeFileSync(header, '#define VERDICT XDP_PASS\n');
    const back = await buildSingleObject(request);
    expect(back.cached).toBe(true);
    expect(back.objectKey).toBe(first.objectKey);
  });

  it('a header edited while the build runs: the object is not recorded, the next build runs again', async () => {
    writeFileSync(header, '#define VERDICT XDP_PASS\n/* race */\n');
    const build = buildSingleObject(request);
    await new Promise((r) => setTimeout(r, 30));
    // Replaced in one step, as editors save: clang must not read a half-written header.
    writeFileSync(`${header}.new`, '#define VERDICT XDP_PASS\n/* race, edited during the build */\n');
    renameSync(`${header}.new`, header);
    expect((await build).cached).toBe(false);
    const next = await buildSingleObject(request);
    expect(next.cached).toBe(false);
    expect((await buildSingleObject(request)).cached).toBe(true);
    writeFileSync(header, '#define VERDICT XDP_PASS\n');
  });

  it('defines, flags and link settings are part of the key', async () => {
    const base = planSingleObject(request).directKey;
    expect(planSingleObject({ ...request, compile: { ...request.compile, defines: { EXTRA: 1 } } }).directKey).not.toBe(base);
    expect(planSingleObject({ ...request, link: { cpu: 'v3' } }).directKey).not.toBe(base);
    expect(planSingleObject({ ...request, link: { btf: true } }).directKey).toBe(base);
    expect(planSingleObject({ ...request, link: { btf: false } }).directKey).not.toBe(base);
    expect(planSingleObject({ ...request, env: { ...process.env, BPF_LINKER_LLVM: '/usr/lib/llvm-22/lib/libLLVM.so' } }).directKey).not.toBe(base);
    const other = { ...request.toolchain!, clang: { ...request.toolchain!.clang, version: 'clang version 99.0.0' } };
    expect(planSingleObject({ ...request, toolchain: other }).directKey).not.toBe(base);
  });

  it('without BTF: no .BTF section', async () => {
    const r = await buildSingleObject({ ...request, link: { btf: false } });
    expect(readElf(r.bytes).section('.BTF')).toBeUndefined();
  });

  it('a syntax error names the real source, line and column; nothing is cached for it', async () => {
    const bad = join(dir, 'src', 'broken.bpf.c');
    writeFileSync(bad, '#include <linux/bpf.h>\nint f(void) {\n  return x;\n}\n');
    const p = planSingleObject({ ...request, source: bad });
    const e = await buildSingleObject({ ...request, source: bad }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(SingleObjectBuildError);
    const err = e as SingleObjectBuildError;
    expect(err.code).toBe('COMPILE_FAILED');
    expect(err.message).toBe(`${bad}:3:10: error: use of undeclared identifier 'x'`);
    expect(err.diagnostic).toMatchObject({ file: bad, line: 3, column: 10 });
    expect(err.output).toContain(`${bad}:3:10: error`);
    expect(err.hint).toContain(`fix ${bad} at line 3, column 10`);
    expect(lookupSingleObject(p)).toBeUndefined();
  });

  it('an error in an included header names the header', async () => {
    const dir2 = join(dir, 'hdr');
    mkdirSync(dir2);
    writeFileSync(join(dir2, 'bad.h'), 'int broken(void) { return ; }\n');
    writeFileSync(join(dir2, 'prog.bpf.c'), '#include "bad.h"\nint f(void) { return broken(); }\n');
    const e = (await buildSingleObject({ ...request, source: join(dir2, 'prog.bpf.c') }).catch((err: unknown) => err)) as SingleObjectBuildError;
    expect(e.diagnostic).toMatchObject({ file: join(dir2, 'bad.h'), line: 1, severity: 'error' });
  });

  it('after the error is fixed the build succeeds and records its dependencies', async () => {
    const src3 = join(dir, 'src', 'fixed.bpf.c');
    writeFileSync(src3, '#include "verdict.h"\nint f(void) { return VERDICT + ; }\n');
    const req = { ...request, source: src3 };
    await expect(buildSingleObject(req)).rejects.toThrow(/fixed\.bpf\.c:2:/);
    writeFileSync(src3, '#include <linux/bpf.h>\n#include "verdict.h"\n__attribute__((section("xdp"), used)) int f(void *ctx) { return VERDICT; }\nchar LICENSE[] __attribute__((section("license"), used)) = "GPL";\n');
    const r = await buildSingleObject(req);
    expect(r.cached).toBe(false);
    expect(knownDependencies(planSingleObject(req))).toContain(header);
  });

  it('invalid settings are one error listing each value with its path', async () => {
    const bad = { ...request, link: { cpu: 'v9', btff: true } as never, compile: { ...request.compile, target: 'x86' as never }, settingsLabel: 'plugin options' };
    await expect(buildSingleObject(bad)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/^invalid plugin options:\n(?=[\s\S]*  link\.cpu: )(?=[\s\S]*  link\.btff: unknown property \(did you mean "btf"\?\))(?=[\s\S]*  compile\.target: )/),
    });
  });

  it('the run directory of a build killed halfway is removed by the next build', async () => {
    const dead = spawnSync('true').pid!;
    const leftover = join(dir, 'cache', 'runs', `xdp.${dead}.AbC123`);
    mkdirSync(join(leftover, 'out'), { recursive: true });
    writeFileSync(join(leftover, 'out', 'partial.bc'), 'half');
    writeFileSync(header, `#define VERDICT XDP_PASS\n/* ${dead} */\n`);
    await buildSingleObject(request);
    expect(readdirSync(join(dir, 'cache', 'runs'))).toEqual([]);
    writeFileSync(header, '#define VERDICT XDP_PASS\n');
  });

  it('a missing source is one clear error naming it', async () => {
    const missing = join(dir, 'src', 'nope.bpf.c');
    await expect(buildSingleObject({ ...request, source: missing })).rejects.toMatchObject({ code: 'INPUT_NOT_FOUND', file: missing });
  });
});

describe('parseToolDiagnostics', () => {
  it("reads clang's real output: errors, notes, the excerpt", () => {
    const dir = makeTempDir('bpfl-diag-');
    writeFileSync(join(dir, 'a.c'), 'int f(int y) {\n  return yy;\n}\n');
    const r = spawnSync(CLANG, ['-target', 'bpf', '-c', 'a.c', '-o', '/dev/null'], { cwd: dir, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    const diags = parseToolDiagnostics(r.stderr, dir);
    expect(diags[0]).toMatchObject({ file: join(dir, 'a.c'), line: 2, column: 10, severity: 'error' });
    expect(diags[0].message).toMatch(/undeclared identifier 'yy'/);
    expect(diags[0].excerpt).toContain('return yy;');
    expect(firstToolError(r.stderr)?.file).toBe('a.c');
  });

  it("reads rustc's error format", () => {
    const out = 'warning: unused import\n --> src/lib.rs:1:5\n\nerror[E0425]: cannot find value `x` in this scope\n --> src/main.rs:7:12\n  |\n7 |     return x;\n  |            ^ not found in this scope\n\nerror: aborting due to 1 previous error\n';
    expect(firstToolError(out)).toMatchObject({ file: 'src/main.rs', line: 7, column: 12, severity: 'error', message: 'cannot find value `x` in this scope' });
  });

  it('clang is the one the tests use', () => {
    expect(existsSync(CLANG)).toBe(true);
    expect(execFileSync(CLANG, ['--version'], { encoding: 'utf8' })).toMatch(/clang version 22/);
  });
});
