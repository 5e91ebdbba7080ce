/**
 * The walk itself, on the linker's own stages: it skips only definitions the optimizer deletes
 * (so the object is the same as with a full walk), leaves a module the LLVM verifier accepts,
 * reaches debug records on LLVM 19 (as intrinsics) and 22 (record API), and stays small on a
 * Rust program linked with all of core.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readInputs } from '../../src/inputs';
import { LlvmContext } from '../../src/llvm/context';
import { DebugInfo, liveDefinitions, makeSubprogramsLocal, sanitizeDebugInfo } from '../../src/llvm/debug-info';
import { loadLlvmLibrary, setGlobalOptions, type LlvmLibrary } from '../../src/llvm/library';
import { functions, globalVariables, isDeclaration, valueName, verifyModule } from '../../src/llvm/module';
import { createTargetMachine } from '../../src/llvm/target';
import type { ModuleRef } from '../../src/llvm/types';
import { createMemoryLogger, silentLogger } from '../../src/log';
import { readObjectBtf, formatBtfDump } from '../../src/object';
import { defaultLinkOptions } from '../../src/options';
import { prepareDebugInfo, type DebugInfoResult } from '../../src/pipeline/debug-info';
import { emit } from '../../src/pipeline/emit';
import { decideExports } from '../../src/pipeline/exports';
import { llvmGlobalOptions } from '../../src/pipeline/global-options';
import { internalize } from '../../src/pipeline/internalize';
import { linkModules } from '../../src/pipeline/link-modules';
import { optimize } from '../../src/pipeline/optimize';
import { LLVM_MAJORS, compileC, makeTempDir, writeSource, type LlvmMajor } from '../support/toolchain';
import { FIXTURES, RUSTC, RUST_BPF_LIB, rustUnavailable } from './support';

/** Live and dead functions, inlined and not, static and global, with locals (debug records). */
const PROGRAM_C = `
struct point { int x; int y; };
static int twice(int v) { return v * 2; }
int weight(struct point *p) { int w = p->x * 3 + twice(p->y); return w; }
__attribute__((noinline)) int scale(struct point *p, int by) { int r = p->x * by; return r + p->y; }
__attribute__((noinline)) int unused_global(struct point *p) { return p->x - p->y; }
__attribute__((noinline)) static int unused_static(int v) { return v + 17; }
int (*const keep_alive)(int) = unused_static;
__attribute__((section("xdp"), used)) int prog(struct point *p) {
  int total = weight(p);
  total += scale(p, p->y);
  return total;
}
`;

interface Linked {
  lib: LlvmLibrary;
  ctx: LlvmContext;
  m: ModuleRef;
}

const open: Linked[] = [];
afterEach(() => {
  for (const l of open.splice(0)) {
    l.lib.api.LLVMDisposeModule(l.m);
    l.ctx.dispose();
  }
});

function link(major: LlvmMajor, inputs: string[]): Linked {
  const lib = loadLlvmLibrary(`/usr/lib/llvm-${major}/lib/libLLVM.so.${major}.1`);
  setGlobalOptions(lib, llvmGlobalOptions(defaultLinkOptions()));
  const ctx = new LlvmContext(lib);
  const m = linkModules(ctx, readInputs(inputs, silentLogger).units, silentLogger);
  const l = { lib, ctx, m };
  open.push(l);
  return l;
}

const definedNames = (l: Linked) =>
  [...functions(l.lib, l.m), ...globalVariables(l.lib, l.m)].filter((v) => !isDeclaration(l.lib, v)).map((v) => valueName(l.lib, v));

/** Internalize, optimize and emit as the linker does; the BTF with its func and line info as text. */
function finish(l: Linked, exports: ReturnType<typeof decideExports>): string {
  internalize(l.lib, l.m, exports, silentLogger);
  const tm = createTargetMachine(l.lib, 'bpfel', 'generic', '');
  try {
    optimize(l.lib, l.m, tm, '2');
    const { btf, btfExt } = readObjectBtf(emit(l.lib, l.m, tm, 'obj'));
    return formatBtfDump(btf!, btfExt, { funcInfo: true, lineInfo: true });
  } finally {
    tm.dispose();
  }
}

/** The pipeline's stage (live definitions only), with its warnings. */
function sanitizeLive(l: Linked, exportList: string[]): { exports: ReturnType<typeof decideExports>; result: DebugInfoResult; warnings: string[] } {
  const exports = decideExports(l.lib, l.m, defaultLinkOptions({ exports: exportList }));
  const logger = createMemoryLogger('warn');
  const result = prepareDebugInfo(l.ctx, l.m, exports, true, logger);
  return { exports, result, warnings: logger.lines };
}

/** The reference: every internalized function (and memory builtin) localized, every definition walked. */
function sanitizeAll(l: Linked, exportList: string[]) {
  const exports = decideExports(l.lib, l.m, defaultLinkOptions({ exports: exportList }));
  const di = new DebugInfo(l.lib, l.ctx);
  const toLocalize = [...exports.toInternalize.filter((s) => s.isFunction), ...exports.btfStatic].map((s) => s.value);
  const local = makeSubprogramsLocal(di, l.m, toLocalize);
  const report = sanitizeDebugInfo(di, l.m, local);
  return { exports, report, local };
}

describe.each(LLVM_MAJORS)('C through clang-%i', (major) => {
  let bc: string;
  beforeAll(() => {
    const dir = makeTempDir(`bpfl-walk-${major}-`);
    bc = compileC({ major, source: writeSource(dir, 'program.c', PROGRAM_C), out: join(dir, 'program.bc'), mode: 'bc' });
  });

  it('reaches debug records (intrinsics on LLVM 19, the record API on 22) and restores the module format', () => {
    const l = link(major, [bc]);
    const { result } = sanitizeLive(l, ['prog']);
    expect(result.sanitized?.records).toBe(major === 19 ? 'intrinsics' : 'api');
    if (major === 22) expect(result.sanitized?.debugRecords).toBeGreaterThan(0);
    expect(l.lib.api.LLVMIsNewDbgInfoFormat!(l.m)).toBe(1);
  });

  it('skips only dead definitions, localizes the live internalized ones, and the module verifies', () => {
    const l = link(major, [bc]);
    const exports = decideExports(l.lib, l.m, defaultLinkOptions({ exports: ['prog', 'keep_alive'] }));
    const live = liveDefinitions(l.lib, l.m, new Set(exports.toInternalize.map((s) => s.value)));
    const names = (keep: boolean) =>
      [...functions(l.lib, l.m), ...globalVariables(l.lib, l.m)]
        .filter((v) => !isDeclaration(l.lib, v) && live.has(v) === keep)
        .map((v) => valueName(l.lib, v))
        .sort();
    // clang inlined weight into prog (and dropped twice); unused_static is reachable through
    // the initializer of the exported keep_alive
    expect(names(false)).toEqual(['unused_global', 'weight']);
    expect(names(true)).toEqual(['keep_alive', 'llvm.compiler.used', 'prog', 'scale', 'unused_static']);
    const { result } = sanitizeLive(l, ['prog', 'keep_alive']);
    expect(result.localizedSubprograms).toEqual(['scale']);
    expect(result.sanitized?.skippedDead).toBe(2);
    expect(verifyModule(l.lib, l.m)).toBeUndefined();
  });

  it('is conservative: everything left after optimization was walked', () => {
    const l = link(major, [bc]);
    const { exports } = sanitizeLive(l, ['prog']);
    const live = liveDefinitions(l.lib, l.m, new Set(exports.toInternalize.map((s) => s.value)));
    const liveNames = new Set([...functions(l.lib, l.m), ...globalVariables(l.lib, l.m)].filter((v) => live.has(v)).map((v) => valueName(l.lib, v)));
    finish(l, exports);
    for (const name of definedNames(l)) expect(liveNames, name).toContain(name);
  });

  it('gives the same BTF, func info and line info as walking everything', () => {
    const a = link(major, [bc]);
    const fast = finish(a, sanitizeLive(a, ['prog']).exports);
    const b = link(major, [bc]);
    const full = finish(b, sanitizeAll(b, ['prog']).exports);
    expect(fast).toBe(full);
    expect(fast).toContain("<FUNC> 'scale' --> static");
  });
});

describe.skipIf(rustUnavailable())('a Rust program linked with core and compiler_builtins (LLVM 22)', () => {
  let inputs: string[];
  beforeAll(() => {
    const dir = makeTempDir('bpfl-walk-rust-');
    const bc = join(dir, 'program.bc');
    execFileSync(RUSTC, ['--edition', '2021', '--target', 'bpfel-unknown-none', '--crate-type', 'bin', '-C', 'panic=abort', '-C', 'opt-level=2', '-C', 'debuginfo=2', '--emit=llvm-bc', '-o', bc, join(FIXTURES, 'program.rs')], { stdio: 'pipe' });
    const rlibs = readdirSync(RUST_BPF_LIB).filter((f) => /^lib(core|compiler_builtins)-.*\.rlib$/.test(f)).map((f) => join(RUST_BPF_LIB, f));
    expect(rlibs).toHaveLength(2);
    inputs = [bc, ...rlibs];
  });

  it('walks the program, not core: most definitions are skipped, the module verifies', () => {
    const l = link(22, inputs);
    const { result, warnings } = sanitizeLive(l, ['prog']);
    const r = result.sanitized!;
    expect(r.skippedDead).toBeGreaterThan(1000);
    expect(r.instructions).toBeLessThan(2000);
    expect(result.localizedSubprograms.length).toBeLessThan(20);
    expect(warnings).toEqual(['WARN debug info was not emitted for the following types: DataCarryingEnum']);
    expect(verifyModule(l.lib, l.m)).toBeUndefined();
  });

  it('gives the same BTF, func info and line info as walking all of core', () => {
    const a = link(22, inputs);
    const fast = finish(a, sanitizeLive(a, ['prog']).exports);
    const b = link(22, inputs);
    const all = sanitizeAll(b, ['prog']);
    expect(all.report.instructions).toBeGreaterThan(20_000);
    expect(all.local.changed.length).toBeGreaterThan(1000);
    const full = finish(b, all.exports);
    expect(fast).toBe(full);
    expect(fast).toContain("<FUNC> 'measure_3C_u32_3E_' --> static");
  });
});
