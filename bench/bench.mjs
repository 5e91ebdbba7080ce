#!/usr/bin/env node
// Measures our CLI against the LLVM tool pipeline (llvm-link + opt + llc, same LLVM, same
// options) on (a) the seed example, (b) a generated large C input, (c) a Rust crate; then the
// debug-info cost curve. Prints a Markdown report; `--write` also stores it in bench/README.md.
//
//   node bench/bench.mjs [--runs N] [--llvm 22] [--write] [--quick]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'packages/cli/dist/bpf-linker.cjs');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const RUNS = Number(opt('--runs', '5'));
const QUICK = args.includes('--quick');
const WRITE = args.includes('--write');
const MAJORS = (opt('--llvm', '19,22')).split(',').map(Number);
const INC = '-I/usr/include/x86_64-linux-gnu';
const MEMORY_BUILTINS = ['memcpy', 'memmove', 'memset', 'memcmp', 'bcmp'];

if (!existsSync(CLI)) {
  console.error(`${CLI} is missing: run scripts/setup.sh first`);
  process.exit(1);
}
if (!existsSync('/usr/bin/time')) {
  console.error('GNU time (/usr/bin/time) is needed for peak RSS: apt-get install time');
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'bpfl-bench-'));
const tool = (major, name) => `/usr/lib/llvm-${major}/bin/${name}`;
const log = (m) => process.stderr.write(`${m}\n`);

/** Runs a command once: wall ms and peak RSS (MB) of the process tree's largest process. */
function measure(cmd, argv, env = process.env) {
  const rssFile = join(work, 'rss.txt');
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', '-o', rssFile, cmd, ...argv], { encoding: 'utf8', maxBuffer: 1 << 26, env });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed:\n${r.stderr}`);
  const rssMb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) / 1024;
  return { ms, rssMb, stderr: r.stderr, stdout: r.stdout };
}

/** A sequence of commands run back to back counts as one run (wall summed, RSS max). */
function measureSeq(steps) {
  let ms = 0;
  let rssMb = 0;
  const perStep = [];
  for (const [cmd, argv] of steps) {
    const m = measure(cmd, argv);
    ms += m.ms;
    rssMb = Math.max(rssMb, m.rssMb);
    perStep.push(m.ms);
  }
  return { ms, rssMb, perStep };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Our CLI with --timings: per-stage times parsed from its output. */
function ours(inputs, out, flags, env) {
  const m = measure(process.execPath, [CLI, ...inputs, ...flags, '--timings', '-o', out], env);
  const stages = {};
  const line = m.stderr.split('\n').find((l) => l.includes('stage times (ms):'));
  if (line) {
    for (const part of line.split('stage times (ms):')[1].split(',')) {
      const [k, v] = part.trim().split(' ');
      if (k !== 'total') stages[k] = Number(v);
    }
  }
  return { ...m, stages };
}

/** `inOrder`: what our linker decides (only when the module defines memset and memmove, i.e. Rust). */
function pipeline(major, inputs, out, exports, { btf, inOrder = false }) {
  const linked = join(work, 'linked.bc');
  const optimized = join(work, 'opt.bc');
  const api = [...exports, ...MEMORY_BUILTINS].join(',');
  return measureSeq([
    [tool(major, 'llvm-link'), [...inputs, '-o', linked]],
    [tool(major, 'opt'), [linked, `-passes=internalize,default<O2>,dce`, `-internalize-public-api-list=${api}`, '--cold-callsite-rel-freq=0', ...(btf ? [] : ['-strip-debug']), '-o', optimized]],
    [
      tool(major, 'llc'),
      [
        optimized,
        '-mcpu=generic',
        '-O3',
        ...(inOrder ? ['--bpf-expand-memcpy-in-order'] : []),
        // LLVM 19/20 do not know the option (our linker passes it through the C API, which ignores it).
        ...(major >= 21 ? ['--bpf-disable-trap-unreachable'] : []),
        '-filetype=obj',
        '-o',
        out,
      ],
    ],
  ]);
}

function compileC(major, src, out, flags = []) {
  execFileSync(tool(major, 'clang'), ['-target', 'bpf', INC, '-g', '-O2', '-emit-llvm', '-c', src, '-o', out, ...flags]);
  return out;
}

/** Compiles many sources, two at a time (2-core machines). */
async function compileMany(major, jobs) {
  const { spawn } = await import('node:child_process');
  const queue = [...jobs];
  const worker = async () => {
    while (queue.length) {
      const [src, out] = queue.shift();
      await new Promise((res, rej) => {
        const p = spawn(tool(major, 'clang'), ['-target', 'bpf', INC, '-g', '-O2', '-emit-llvm', '-c', src, '-o', out]);
        p.on('exit', (c) => (c === 0 ? res() : rej(new Error(`clang failed on ${src}`))));
      });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(2, cpus().length)) }, worker));
}

/** N programs, each in its own module with `fnsPerModule` helpers calling each other and a shared map. */
function generateLargeC(dir, programs, fnsPerModule) {
  mkdirSync(dir, { recursive: true });
  const sources = [];
  const common = `#include <linux/types.h>\n#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n`;
  writeFileSync(join(dir, 'maps.c'), `${common}struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64); } stats SEC(".maps");\nchar LICENSE[] SEC("license") = "GPL";\n`);
  sources.push(join(dir, 'maps.c'));
  for (let p = 0; p < programs; p++) {
    let s = `${common}extern struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64); } stats SEC(".maps");\n`;
    s += `struct pkt_${p} { __u32 len; __u32 proto; __u64 seen; };\n`;
    for (let f = 0; f < fnsPerModule; f++) {
      const callee = f > 0 ? `h${p}_${f - 1}(x ^ ${f}, s)` : 'x';
      s += `static __noinline __u32 h${p}_${f}(__u32 x, struct pkt_${p} *s) { s->seen += x; return (${callee}) * ${f + 3} + (s->len >> ${f % 7}); }\n`;
    }
    s += `SEC("xdp") int prog_${p}(struct xdp_md *ctx) {\n  struct pkt_${p} s = { .len = ctx->data_end - ctx->data, .proto = ${p} };\n  __u32 key = ${p % 64};\n  __u64 *v = bpf_map_lookup_elem(&stats, &key);\n  __u32 r = h${p}_${fnsPerModule - 1}(ctx->ingress_ifindex, &s);\n  if (v) __sync_fetch_and_add(v, r);\n  return XDP_PASS;\n}\n`;
    const path = join(dir, `prog_${p}.c`);
    writeFileSync(path, s);
    sources.push(path);
  }
  return sources;
}

function rustCase(dir) {
  const rustc = '/usr/bin/rustc';
  const sysroot = '/usr/lib/rustlib/bpfel-unknown-none/lib';
  if (!existsSync(rustc) || !existsSync(sysroot)) return undefined;
  mkdirSync(dir, { recursive: true });
  const src = join(dir, 'lib.rs');
  writeFileSync(
    src,
    `#![no_std]
use core::hint::black_box;
#[derive(Clone, Copy)] pub struct Pair<T> { a: T, b: T }
#[inline(never)] fn combine<T: Copy + core::ops::Add<Output = T>>(p: Pair<T>) -> T { p.a + p.b }
pub enum Event { Tick(u32), Data { len: u16, kind: u8 }, Idle }
#[inline(never)] fn score(e: &Event) -> u32 { match e { Event::Tick(n) => *n, Event::Data { len, kind } => *len as u32 * *kind as u32, Event::Idle => 0 } }
#[no_mangle] #[link_section = "xdp"] pub extern "C" fn prog(ctx: *mut u8) -> u32 {
  let x = black_box(ctx as usize as u32);
  let s = score(&Event::Data { len: x as u16, kind: 3 }) + score(&Event::Tick(x));
  combine(Pair { a: s, b: x }) & 2
}
#[no_mangle] #[link_section = "license"] pub static LICENSE: [u8; 4] = *b"GPL\\0";
#[panic_handler] fn panic(_: &core::panic::PanicInfo) -> ! { loop {} }
`,
  );
  const bc = join(dir, 'lib.bc');
  execFileSync(rustc, ['--edition', '2021', '--target', 'bpfel-unknown-none', '--crate-type', 'cdylib', '-C', 'panic=abort', '-C', 'opt-level=3', '-C', 'debuginfo=2', '--emit=llvm-bc', '-o', bc, src]);
  const rlibs = readdirSync(sysroot).filter((f) => /^lib(core|compiler_builtins)-.*\.rlib$/.test(f)).map((f) => join(sysroot, f));
  // llvm-link cannot read rlibs (they hold an ELF lib.rmeta): give it the bitcode members.
  const members = join(dir, 'members');
  mkdirSync(members, { recursive: true });
  const memberFiles = [];
  for (const rlib of rlibs) {
    const sub = join(members, rlib.split('/').pop());
    mkdirSync(sub, { recursive: true });
    execFileSync(tool(22, 'llvm-ar'), ['x', rlib], { cwd: sub });
    for (const f of readdirSync(sub)) if (!f.startsWith('lib.rmeta')) memberFiles.push(join(sub, f));
  }
  return { oursInputs: [bc, ...rlibs], pipelineInputs: [bc, ...memberFiles], exports: ['prog', 'LICENSE'] };
}

function row(label, o, p) {
  const ratio = o.ms / p.ms;
  return `| ${label} | ${o.ms.toFixed(0)} | ${p.ms.toFixed(0)} | ${ratio.toFixed(2)}× | ${o.rssMb.toFixed(0)} | ${p.rssMb.toFixed(0)} |`;
}

function repeat(n, fn) {
  const results = [];
  for (let i = 0; i < n; i++) results.push(fn());
  return results;
}

function summarize(results) {
  const stages = {};
  for (const key of Object.keys(results[0].stages ?? {})) stages[key] = median(results.map((r) => r.stages[key] ?? 0));
  return { ms: median(results.map((r) => r.ms)), rssMb: Math.max(...results.map((r) => r.rssMb)), stages };
}

function stageLine(label, s) {
  const inLlvm = (s.stages.link ?? 0) + (s.stages.optimize ?? 0) + (s.stages.codegen ?? 0);
  const stagesText = Object.entries(s.stages).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');
  const outside = s.ms - inLlvm;
  return `| ${label} | ${stagesText} | ${outside.toFixed(0)} ms (${((100 * outside) / s.ms).toFixed(0)}%) |`;
}

const report = [];
const out = (l = '') => report.push(l);
const cpuModel = cpus()[0]?.model ?? 'unknown CPU';
out(`Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpuModel}, Node ${process.version}; median of ${RUNS} runs (large inputs: ${Math.max(3, Math.ceil(RUNS / 2))}).`);
out();
out('Both sides use the same libLLVM major, the same export list and the same LLVM options (`--cold-callsite-rel-freq=0`, `--bpf-disable-trap-unreachable` on LLVM ≥ 21, `--bpf-expand-memcpy-in-order` for Rust only, `default<O2>,dce`, codegen -O3); debug info is kept (BTF) unless noted. Times are wall clock of whole processes, including process start and loading libLLVM.');

const timingsRows = [];
const guardRows = [];
for (const major of MAJORS) {
  log(`== LLVM ${major}`);
  out();
  out(`### LLVM ${major}`);
  out();
  out('| case | ours (ms) | llvm-link+opt+llc (ms) | ratio | ours peak RSS (MB) | pipeline peak RSS (MB) |');
  out('|---|---|---|---|---|---|');

  // (a) seed example
  const seedDir = join(work, `seed-${major}`);
  mkdirSync(seedDir, { recursive: true });
  const libBc = compileC(major, join(ROOT, 'examples/seed/lib.c'), join(seedDir, 'lib.bc'));
  const progBc = compileC(major, join(ROOT, 'examples/seed/program.c'), join(seedDir, 'program.bc'));
  const exportsSeed = ['xdp_prog', 'kprobe_prog', 'counters', 'LICENSE'];
  const seedOurs = summarize(repeat(RUNS, () => ours([progBc, libBc], join(seedDir, 'ours.o'), ['--btf', `--export=${exportsSeed.join(',')}`])));
  const seedPipe = summarize(repeat(RUNS, () => pipeline(major, [progBc, libBc], join(seedDir, 'pipe.o'), exportsSeed, { btf: true })));
  out(row('(a) seed example', seedOurs, seedPipe));
  timingsRows.push(stageLine(`LLVM ${major} (a) seed`, seedOurs));
  // What the crash watcher costs (a second process started at the first link, see crash-guard.ts):
  // the same link with it switched off, runs interleaved so machine noise hits both alike.
  const guarded = [];
  const unguarded = [];
  for (let i = 0; i < Math.max(RUNS, 9); i++) {
    guarded.push(ours([progBc, libBc], join(seedDir, 'ours.o'), ['--btf', `--export=${exportsSeed.join(',')}`]));
    unguarded.push(ours([progBc, libBc], join(seedDir, 'ours.o'), ['--btf', `--export=${exportsSeed.join(',')}`], { ...process.env, BPF_LINKER_CRASH_GUARD: '0' }));
  }
  guardRows.push(`| LLVM ${major} (a) seed | ${summarize(guarded).ms.toFixed(0)} | ${summarize(unguarded).ms.toFixed(0)} | ${(summarize(guarded).ms - summarize(unguarded).ms).toFixed(0)} |`);

  // (b) generated large C input
  const programs = QUICK ? 25 : 200;
  const fns = 20;
  const largeDir = join(work, `large-${major}-${programs}`);
  const sources = generateLargeC(largeDir, programs, fns);
  log(`compiling ${sources.length} C modules with clang-${major}…`);
  await compileMany(major, sources.map((s) => [s, s.replace(/\.c$/, '.bc')]));
  const largeInputs = sources.map((s) => s.replace(/\.c$/, '.bc'));
  const exportsLarge = [...Array.from({ length: programs }, (_, i) => `prog_${i}`), 'stats', 'LICENSE'];
  const exportFile = join(largeDir, 'exports.txt');
  writeFileSync(exportFile, exportsLarge.join('\n'));
  const largeRuns = Math.max(3, Math.ceil(RUNS / 2));
  for (const btf of [true, false]) {
    const label = `(b) ${programs} modules, ${programs * fns} functions${btf ? '' : ', no debug info'}`;
    log(label);
    const o = summarize(repeat(largeRuns, () => ours(largeInputs, join(largeDir, 'ours.o'), [...(btf ? ['--btf'] : []), '--export-symbols', exportFile])));
    const p = summarize(repeat(largeRuns, () => pipeline(major, largeInputs, join(largeDir, 'pipe.o'), exportsLarge, { btf })));
    out(row(label, o, p));
    timingsRows.push(stageLine(`LLVM ${major} ${label}`, o));
  }

  // (c) Rust crate (rustc's bitcode is LLVM 22)
  if (major >= 22) {
    const rust = rustCase(join(work, 'rust'));
    if (rust) {
      const o = summarize(repeat(RUNS, () => ours(rust.oursInputs, join(work, 'rust', 'ours.o'), ['--btf', `--export=${rust.exports.join(',')}`])));
      const p = summarize(repeat(RUNS, () => pipeline(major, rust.pipelineInputs, join(work, 'rust', 'pipe.o'), rust.exports, { btf: true, inOrder: true })));
      out(row('(c) Rust crate + core + compiler_builtins', o, p));
      timingsRows.push(stageLine(`LLVM ${major} (c) Rust`, o));
    } else {
      out('| (c) Rust crate | skipped: /usr/bin/rustc or the bpfel core rlibs are missing | | | | |');
    }
  }

  // Debug-info curve: codegen time with and without debug info as the module grows.
  out();
  out(`Debug info cost, LLVM ${major} (our per-stage times, ms; median of ${largeRuns}):`);
  out();
  out('| programs | functions | codegen with BTF | codegen without | debug-info stage | total with BTF | total without |');
  out('|---|---|---|---|---|---|---|');
  for (const n of QUICK ? [10, 25] : [25, 50, 100, 200]) {
    const dir = join(work, `curve-${major}-${n}`);
    const srcs = generateLargeC(dir, n, fns);
    await compileMany(major, srcs.map((s) => [s, s.replace(/\.c$/, '.bc')]));
    const inputs = srcs.map((s) => s.replace(/\.c$/, '.bc'));
    const ex = join(dir, 'exports.txt');
    writeFileSync(ex, [...Array.from({ length: n }, (_, i) => `prog_${i}`), 'stats', 'LICENSE'].join('\n'));
    const withDi = summarize(repeat(largeRuns, () => ours(inputs, join(dir, 'o.o'), ['--btf', '--export-symbols', ex])));
    const without = summarize(repeat(largeRuns, () => ours(inputs, join(dir, 'o.o'), ['--export-symbols', ex])));
    out(`| ${n} | ${n * fns} | ${withDi.stages.codegen?.toFixed(0)} | ${without.stages.codegen?.toFixed(0)} | ${withDi.stages['debug-info']?.toFixed(0)} | ${withDi.ms.toFixed(0)} | ${without.ms.toFixed(0)} |`);
  }
}

out();
out('Our per-stage times (ms, from the linker\'s own timings) and the time outside the LLVM-dominated stages (link, optimize, codegen) — process start, loading libLLVM, reading inputs, the debug-info walk, writing:');
out();
out('| case | stages | outside link/optimize/codegen |');
out('|---|---|---|');
for (const r of timingsRows) out(r);

out();
out('The crash watcher (a process that reports a crash inside libLLVM naming the input; BPF_LINKER_CRASH_GUARD=0 switches it off), median ms of interleaved runs:');
out();
out('| case | with watcher | without | cost |');
out('|---|---|---|---|');
for (const r of guardRows) out(r);

const text = report.join('\n');
console.log(text);
if (WRITE) {
  const readme = join(ROOT, 'bench/README.md');
  const head = existsSync(readme) ? readFileSync(readme, 'utf8').split('<!-- results -->')[0] : '';
  writeFileSync(readme, `${head}<!-- results -->\n\n${text}\n`);
}
rmSync(work, { recursive: true, force: true });
