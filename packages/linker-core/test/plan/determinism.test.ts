/**
 * Path independence of a build: one workspace's sources built at two absolute paths (of different
 * depth), each from another working directory — as `nx run` typed in a project directory does —
 * give byte-identical bitcode, archives, objects (with and without BTF), manifests and reports, and
 * none of them holds either path. LLVM's BPF backend reads each source line it puts into BTF line
 * info from disk at code generation, relative to the working directory: the objects must carry the
 * real line text in both builds, not whatever the working directory happens to make readable.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readObjectBtf } from '../../src/object';
import { planBuild, probeToolchain, readBpfProjects, runSteps } from '../../src/plan';
import { makeTempDir } from '../support/toolchain';
import { COUNTERS_LIBRARY, writeWorkspace } from '../support/workspace';

const CLI = fileURLToPath(new URL('../../../cli/dist/bpf-linker.cjs', import.meta.url));

const FILES: Record<string, string> = {
  ...COUNTERS_LIBRARY,
  'apps/probe/bpf.config.json': JSON.stringify({
    programs: [
      { name: 'probe', sources: ['src/*.c'], libraries: ['counters'], link: { report: true, dumpModule: 'dist/bpf/dump' } },
      { name: 'probe-plain', sources: ['src/*.c'], libraries: ['counters'], link: { btf: false } },
    ],
  }),
  'apps/probe/src/xdp.c':
    '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n#include "counters.h"\nSEC("xdp") int probe_xdp(struct xdp_md *ctx) {\n  counters_record(0);\n  return XDP_PASS;\n}\nchar LICENSE[] SEC("license") = "GPL";\n',
};
const PROJECTS = [
  { name: 'counters', root: 'libs/counters' },
  { name: 'probe', root: 'apps/probe' },
];

/** Every file below dist/ of both projects, relative to the workspace → its bytes. */
function outputs(ws: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(ws, p), readFileSync(p));
    }
  };
  for (const p of PROJECTS) walk(join(ws, p.root, 'dist'));
  return out;
}

/** Builds both projects with the process's working directory at `cwd` (what `nx` typed there does). */
async function buildFrom(ws: string, cwd: string): Promise<void> {
  const previous = process.cwd();
  process.chdir(cwd);
  try {
    const projects = readBpfProjects(ws, PROJECTS);
    for (const p of projects) {
      const plan = planBuild(p.config, { workspaceRoot: ws, project: p, projects, toolchain: probeToolchain({ env: process.env }), env: process.env, linker: CLI });
      await runSteps(plan.steps, { workspaceRoot: ws });
    }
  } finally {
    process.chdir(previous);
  }
}

const lineTexts = (object: Buffer): string[] => (readObjectBtf(object).btfExt?.lineInfo ?? []).flatMap((s) => s.records.map((r) => r.lineText));

describe('a build does not depend on where the workspace is, nor on the working directory', () => {
  let a: string;
  let b: string;
  let tmp: string;
  const cwd = process.cwd();
  afterEach(() => process.chdir(cwd));

  beforeAll(async () => {
    tmp = makeTempDir('bpfl-determinism-');
    a = writeWorkspace(join(tmp, 'a'), FILES);
    b = writeWorkspace(join(tmp, 'elsewhere', 'much', 'deeper', 'b'), FILES);
    // A from its root, B from its project directory, where the debug info's relative source
    // paths do not resolve.
    await buildFrom(a, a);
    await buildFrom(b, join(b, 'apps/probe'));
  });

  it('gives byte-identical outputs: bitcode, depfiles, archive, objects with and without BTF, manifests, report, module dumps', () => {
    const outA = outputs(a);
    const outB = outputs(b);
    expect([...outA.keys()].sort()).toEqual([...outB.keys()].sort());
    expect([...outA.keys()].sort()).toEqual(
      expect.arrayContaining([
        'apps/probe/dist/bpf/probe.o',
        'apps/probe/dist/bpf/probe.manifest.json',
        'apps/probe/dist/bpf/probe.report.json',
        'apps/probe/dist/bpf/probe-plain.o',
        'libs/counters/dist/bpf/libcounters.a',
        'apps/probe/dist/bpf/bc/src/xdp.bc',
        'apps/probe/dist/bpf/bc/src/xdp.d',
        'apps/probe/dist/bpf/dump/pre-opt.ll',
        'apps/probe/dist/bpf/dump/post-opt.ll',
      ]),
    );
    for (const [file, bytes] of outA) expect(bytes.equals(outB.get(file)!), file).toBe(true);
  });

  it('no output holds either absolute path', () => {
    for (const ws of [a, b]) {
      for (const [file, bytes] of outputs(ws)) {
        expect(bytes.includes(tmp), `${file} mentions ${tmp}`).toBe(false);
      }
    }
  });

  it("the BTF object carries the sources' line text, read from the workspace; the object without BTF has no .BTF.ext", () => {
    const texts = lineTexts(readFileSync(join(a, 'apps/probe/dist/bpf/probe.o')));
    expect(texts).toContain('  counters_record(0);');
    expect(texts).toContain('  __u64 *v = bpf_map_lookup_elem(&counters_hits, &key);');
    expect(readObjectBtf(readFileSync(join(a, 'apps/probe/dist/bpf/probe-plain.o'))).btfExt).toBeUndefined();
  });

  it('the CLI: --source-root makes the link independent of its working directory; without it the line text depends on it', () => {
    const bc = [join(a, 'apps/probe/dist/bpf/bc/src/xdp.bc'), join(a, 'libs/counters/dist/bpf/libcounters.a')];
    const linkFrom = (dir: string, out: string, extra: string[] = []) => {
      execFileSync(process.execPath, [CLI, ...bc, '--btf', ...extra, '-o', join(tmp, out)], { cwd: dir, stdio: 'pipe' });
      return readFileSync(join(tmp, out));
    };
    const fromRoot = linkFrom('/', 'root.o', ['--source-root', a]);
    const fromProject = linkFrom(join(a, 'apps/probe'), 'project.o', [`--source-root=${a}`]);
    expect(fromRoot.equals(fromProject)).toBe(true);
    expect(fromRoot.equals(readFileSync(join(a, 'apps/probe/dist/bpf/probe.o')))).toBe(true);
    // What LLVM does by itself: from the workspace root it reads the sources, from / it cannot.
    const plainInWorkspace = linkFrom(a, 'plain-ws.o');
    const plainElsewhere = linkFrom('/', 'plain-root.o');
    expect(plainInWorkspace.equals(fromRoot)).toBe(true);
    expect(lineTexts(plainElsewhere)).not.toContain('  counters_record(0);');
    expect(plainElsewhere.equals(fromRoot)).toBe(false);
  });

  it('refuses a --source-root that is not a directory, before linking', () => {
    let err = '';
    try {
      execFileSync(process.execPath, [CLI, join(a, 'apps/probe/dist/bpf/bc/src/xdp.bc'), '--btf', '--source-root', join(tmp, 'missing'), '-o', join(tmp, 'never.o')], { stdio: 'pipe' });
    } catch (e) {
      err = String((e as { stderr: Buffer }).stderr);
    }
    expect(err).toContain(`--source-root ${join(tmp, 'missing')}: not a directory`);
    expect(() => readFileSync(join(tmp, 'never.o'))).toThrow();
  });
});
