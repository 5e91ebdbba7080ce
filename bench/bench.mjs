#!/usr/bin/env node
// Measures our CLI against the LLVM tool pipeline (llvm-link + opt + llc, same LLVM, same
// options) on (a) the seed example, (b) a generated large C input, (c) a Rust crate, the
// debug-info cost curve, and (d) the third-party C corpus of e2e/corpus (every program, one link
// each, summed). Prints a Markdown report; `--write` also stores it in bench/README.md.
//
//   node bench/bench.mjs [--runs N] [--llvm 22] [--write] [--quick] [--cases a,b,c,d] [--btf-rules all]
//
// `--cases d` runs only the corpus; with `--write` it replaces only the corpus section.
// `--btf-rules all` links with BPF_LINKER_BTF_RULES=all: the debug-info stage applies every
// (Rust) rule to C too, as it did before C had its own path (for before/after numbers).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

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
const CASES = new Set(opt('--cases', 'a,b,c,d,p').split(','));
const BTF_RULES = opt('--btf-rules', undefined);
const ALL_CASES = ['a', 'b', 'c', 'd', 'p'].every((c) => CASES.has(c));
const SEED_ONLY = [...CASES].sort().join(',') === 'a,b,c';
const ONE_SECTION = [...CASES].join(',') === 'd' || [...CASES].join(',') === 'p';
if (WRITE && !ALL_CASES && !SEED_ONLY && !ONE_SECTION) {
  console.error('--write needs every case, --cases a,b,c (which keeps the corpus and partition sections), or --cases d or --cases p alone (which replace only their section)');
  process.exit(1);
}
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
function ours(inputs, out, flags, env = process.env) {
  if (BTF_RULES) env = { ...env, BPF_LINKER_BTF_RULES: BTF_RULES };
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

/**
 * `inOrder`: what our linker decides (only when the module defines memset and memmove, i.e. Rust).
 * `exports` null: our default mode (no export list), where nothing is internalized. `cpu`: what
 * our link got with --cpu; without it llc gets no -mcpu either and generates code for each
 * function's target-cpu (else its LLVM's default), which is what our linker does without --cpu
 * (an explicit -mcpu would override the functions' CPU).
 */
function pipeline(major, inputs, out, exports, { btf, inOrder = false, cpu }) {
  const linked = join(work, 'linked.bc');
  const optimized = join(work, 'opt.bc');
  const internalize = exports ? ['-passes=internalize,default<O2>,dce', `-internalize-public-api-list=${[...exports, ...MEMORY_BUILTINS].join(',')}`] : ['-passes=default<O2>,dce'];
  return measureSeq([
    [tool(major, 'llvm-link'), [...inputs, '-o', linked]],
    [tool(major, 'opt'), [linked, ...internalize, '--cold-callsite-rel-freq=0', ...(btf ? [] : ['-strip-debug']), '-o', optimized]],
    [
      tool(major, 'llc'),
      [
        optimized,
        ...(cpu ? [`-mcpu=${cpu}`] : []),
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

/**
 * N programs, each in its own module with `fnsPerModule` helpers calling each other and a shared
 * map. `sharedHelper`: every program also calls one helper of maps.c, which the export list
 * makes static, so no partition can be optimized apart (the link splits after optimization).
 */
function generateLargeC(dir, programs, fnsPerModule, sharedHelper = false) {
  mkdirSync(dir, { recursive: true });
  const sources = [];
  const common = `#include <linux/types.h>\n#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n`;
  const helper = sharedHelper ? '__attribute__((noinline)) int shared_helper(int x) { return x * 7 + 3; }\n' : '';
  writeFileSync(join(dir, 'maps.c'), `${common}struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64); } stats SEC(".maps");\n${helper}char LICENSE[] SEC("license") = "GPL";\n`);
  sources.push(join(dir, 'maps.c'));
  for (let p = 0; p < programs; p++) {
    let s = `${common}extern struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64); } stats SEC(".maps");\n`;
    s += `struct pkt_${p} { __u32 len; __u32 proto; __u64 seen; };\n`;
    for (let f = 0; f < fnsPerModule; f++) {
      const callee = f > 0 ? `h${p}_${f - 1}(x ^ ${f}, s)` : 'x';
      s += `static __noinline __u32 h${p}_${f}(__u32 x, struct pkt_${p} *s) { s->seen += x; return (${callee}) * ${f + 3} + (s->len >> ${f % 7}); }\n`;
    }
    if (sharedHelper) s += 'int shared_helper(int x);\n';
    const result = sharedHelper ? 'shared_helper(r) > 0 ? XDP_PASS : XDP_DROP' : 'XDP_PASS';
    s += `SEC("xdp") int prog_${p}(struct xdp_md *ctx) {\n  struct pkt_${p} s = { .len = ctx->data_end - ctx->data, .proto = ${p} };\n  __u32 key = ${p % 64};\n  __u64 *v = bpf_map_lookup_elem(&stats, &key);\n  __u32 r = h${p}_${fnsPerModule - 1}(ctx->ingress_ifindex, &s);\n  if (v) __sync_fetch_and_add(v, r);\n  return ${result};\n}\n`;
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
  const common = ['--edition', '2021', '--target', 'bpfel-unknown-none', '-C', 'panic=abort', '-C', 'opt-level=3', '-C', 'debuginfo=2'];
  // The library crate, as an Aya program's `-common`/helper crate: generics, an enum, a map value type.
  const libSrc = join(dir, 'lib.rs');
  writeFileSync(
    libSrc,
    `#![no_std]
#[derive(Clone, Copy)] pub struct Pair<T> { pub a: T, pub b: T }
#[inline(never)] pub fn combine<T: Copy + core::ops::Add<Output = T>>(p: Pair<T>) -> T { p.a + p.b }
pub enum Event { Tick(u32), Data { len: u16, kind: u8 }, Idle }
#[inline(never)] pub fn score(e: &Event) -> u32 { match e { Event::Tick(n) => *n, Event::Data { len, kind } => *len as u32 * *kind as u32, Event::Idle => 0 } }
#[repr(C)] pub struct PacketLog { pub ipv4: u32, pub action: u32 }
pub fn never_used(x: u64) -> u64 { x.rotate_left(7) ^ x.wrapping_mul(0x9e37_79b9_7f4a_7c15) }
`,
  );
  execFileSync(rustc, [...common, '--crate-type', 'rlib', '--crate-name', 'xdp_common', '-o', join(dir, 'libxdp_common.rlib'), libSrc]);
  // The program crate: an XDP program, as aya-template's, using the library.
  const src = join(dir, 'main.rs');
  writeFileSync(
    src,
    `#![no_std]
#![no_main]
use core::hint::black_box;
use xdp_common::{combine, score, Event, Pair, PacketLog};
#[no_mangle] #[link_section = "xdp"] pub extern "C" fn prog(ctx: *const u32) -> u32 {
  // xdp_md.ingress_ifindex
  let x = black_box(unsafe { core::ptr::read_volatile(ctx.add(3)) });
  let log = black_box(PacketLog { ipv4: x, action: 2 });
  let s = score(&Event::Data { len: x as u16, kind: 3 }) + score(&Event::Tick(x));
  (combine(Pair { a: s, b: log.ipv4 }) & 2) | (log.action & 2)
}
#[no_mangle] #[link_section = "license"] pub static LICENSE: [u8; 4] = *b"GPL\\0";
#[panic_handler] fn panic(_: &core::panic::PanicInfo) -> ! { loop {} }
`,
  );
  const bc = join(dir, 'main.bc');
  execFileSync(rustc, [...common, '--crate-type', 'bin', '--extern', `xdp_common=${join(dir, 'libxdp_common.rlib')}`, '--emit=llvm-bc', '-o', bc, src]);
  const rlibs = [join(dir, 'libxdp_common.rlib'), ...readdirSync(sysroot).filter((f) => /^lib(core|compiler_builtins)-.*\.rlib$/.test(f)).map((f) => join(sysroot, f))];
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
  return { oursInputs: [bc, ...rlibs], pipelineInputs: [bc, ...memberFiles], exports: ['prog', 'LICENSE'], members: memberFiles.length };
}

/** The host kernel's verdict on an object (`bpftool prog loadall`, then the pins removed), or why there is none. */
/** `accepted/rejected` program counts of an object in the host kernel (CLI verify), or `–` without root. */
function verdictCounts(object) {
  if (process.getuid?.() !== 0) return '–';
  const r = spawnSync(process.execPath, [CLI, 'verify', '--json', object], { encoding: 'utf8', maxBuffer: 1 << 28 });
  try {
    const [res] = JSON.parse(r.stdout);
    return `${res.programs.filter((p) => p.accepted).length}/${res.programs.filter((p) => !p.accepted).length}`;
  } catch {
    return `verify failed (${r.status})`;
  }
}

function verdict(object) {
  if (process.getuid?.() !== 0 || !existsSync('/usr/sbin/bpftool')) return 'not checked (needs root and bpftool)';
  const pin = join('/sys/fs/bpf', `bpfl-bench-${process.pid}`);
  const r = spawnSync('/usr/sbin/bpftool', ['prog', 'loadall', object, pin], { encoding: 'utf8' });
  rmSync(pin, { recursive: true, force: true });
  return r.status === 0 ? 'accepted' : `rejected (${(r.stderr.trim().split('\n').find((l) => /^(R\d|invalid|Error)/.test(l)) ?? 'see bpftool').slice(0, 80)})`;
}

/**
 * (d) The corpus of e2e/corpus: its discovery and helpers (corpus.ts, bundled with the object
 * readers only), and the sources unpacked by `scripts/kernels.sh corpus` when it can.
 */
async function corpusSources() {
  const { buildSync } = await import('esbuild');
  const bundle = join(work, 'corpus.mjs');
  buildSync({
    entryPoints: [join(ROOT, 'e2e/corpus/corpus.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: bundle,
    logLevel: 'warning',
    alias: { '@bpf-linker/core': join(ROOT, 'packages/linker-core/src/object/index.ts') },
  });
  const corpus = await import(pathToFileURL(bundle).href);
  const st = spawnSync('bash', [join(ROOT, 'scripts/kernels.sh'), 'corpus'], { encoding: 'utf8', timeout: 600_000 });
  const root = st.status === 0 ? st.stdout.trim() : undefined;
  const missing = root ? undefined : `gobpf and the kernel selftests are missing (scripts/kernels.sh corpus: ${(st.stderr ?? '').trim().split('\n').pop()})`;
  const sources = [...corpus.discoverCilium(), ...(root ? [...corpus.discoverGobpf(root), ...corpus.discoverSelftests(root)] : [])];
  return { corpus, sources, missing };
}

/** `measure` that reports a failure instead of throwing. */
function tryMeasure(fn) {
  try {
    return fn();
  } catch (e) {
    return { failed: String(e.message).split('\n').find((l) => /error/i.test(l)) ?? String(e.message).split('\n')[1] ?? 'failed' };
  }
}

/**
 * Links every corpus program as the corpus test does (`--btf` plus its flags, default mode: no
 * export list), and the same bitcode through llvm-link + opt (no internalize) + llc with the same
 * CPU; one run each, interleaved, summed over the objects.
 */
/**
 * The core's linkSync in one long-lived process (bench/resident-linker.ts), as the build runner
 * (runSteps) links the programs of one build: `link(inputs, output)` resolves to the round-trip
 * wall time in ms; `startMs` is the process's start until it is ready.
 */
async function startResident() {
  const { buildSync } = await import('esbuild');
  const { spawn } = await import('node:child_process');
  const bundle = join(work, 'resident-linker.cjs');
  buildSync({ entryPoints: [join(ROOT, 'bench/resident-linker.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: bundle, external: ['koffi'], logLevel: 'warning' });
  let child;
  let waiting = [];
  let startMs = 0;
  // (Re)starts the process: an LLVM fatal error (pyperf600's branch range) ends it, as it ends the CLI.
  const start = async () => {
    const t0 = process.hrtime.bigint();
    child = spawn(process.execPath, [bundle], { stdio: ['pipe', 'pipe', 'ignore'], env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules') } });
    let buffer = '';
    // A write racing the process's end fails with EPIPE; the exit handler reports the link.
    child.stdin.on('error', () => {});
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      buffer += d;
      let i;
      while ((i = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        waiting.shift()?.(line);
      }
    });
    child.on('exit', () => {
      child = undefined;
      const pending = waiting;
      waiting = [];
      for (const w of pending) w(JSON.stringify({ ok: false, error: 'the process ended (LLVM fatal error)' }));
    });
    await next();
    startMs += Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const next = () => new Promise((resolve) => waiting.push(resolve));
  await start();
  return {
    get startMs() {
      return startMs;
    },
    async link(inputs, output) {
      if (!child) await start();
      const t = process.hrtime.bigint();
      const reply = next();
      child.stdin.write(`${JSON.stringify({ inputs, output })}\n`);
      const r = JSON.parse(await reply);
      const ms = Number(process.hrtime.bigint() - t) / 1e6;
      return r.ok ? { ms } : { failed: r.error };
    },
    stop: () => child?.stdin.end(),
  };
}

async function corpusCase(major, corpus, sources) {
  const dir = join(work, `corpus-${major}`);
  mkdirSync(dir, { recursive: true });
  log(`compiling ${sources.length} corpus programs with clang-${major}…`);
  const compiled = await corpus.pool(sources, Math.max(1, Math.min(2, cpus().length)), async (s) => {
    const bc = join(dir, `${s.id.replace(/\//g, '_')}.bc`);
    const r = await corpus.run(tool(major, 'clang'), ['-target', s.target, INC, ...s.flags, '-emit-llvm', '-c', s.file, '-o', bc]);
    return r.status === 0 ? { s, bc } : { s, failed: `clang-${major}: ${r.stderr.trim().split('\n')[0]}` };
  });
  const results = [];
  const resident = await startResident();
  let i = 0;
  for (const c of compiled) {
    if (++i % 50 === 0) log(`  ${i}/${compiled.length}`);
    if (c.failed) {
      results.push({ id: c.s.id, failed: c.failed });
      continue;
    }
    // Without --cpu our linker generates code for the CPU the bitcode was compiled for: clang's
    // -mcpu, else that clang's default (v3 since LLVM 20, generic = v1 before). llc gets it as
    // -mcpu: LLVM 19's BPF backend ignores the functions' target-cpu.
    const cpuIndex = c.s.linkFlags.indexOf('--cpu');
    const mcpu = c.s.flags.find((f) => f.startsWith('-mcpu='))?.slice('-mcpu='.length);
    const cpu = cpuIndex >= 0 ? c.s.linkFlags[cpuIndex + 1] : (mcpu ?? (major >= 20 ? 'v3' : 'generic'));
    const o = tryMeasure(() => ours([c.bc], join(dir, 'ours.o'), ['--btf', ...c.s.linkFlags]));
    const p = tryMeasure(() => pipeline(major, [c.bc], join(dir, 'pipe.o'), null, { btf: true, cpu }));
    // The corpus links take no flags but --btf, which is all the in-process link passes.
    const r = c.s.linkFlags.length === 0 ? await resident.link([c.bc], join(dir, 'resident.o')) : { failed: 'has link flags' };
    const failed = o.failed || p.failed ? `ours: ${o.failed ?? 'ok'}; pipeline: ${p.failed ?? 'ok'}` : undefined;
    results.push({ id: c.s.id, ours: o, pipe: p, resident: r, failed });
  }
  resident.stop();
  results.residentStartMs = resident.startMs;
  return results;
}

function corpusRows(major, results) {
  const ok = results.filter((r) => !r.failed);
  const sum = (f) => ok.reduce((a, r) => a + f(r), 0);
  const oursMs = sum((r) => r.ours.ms);
  const pipeMs = sum((r) => r.pipe.ms);
  const stages = {};
  for (const r of ok) for (const [k, v] of Object.entries(r.ours.stages)) stages[k] = (stages[k] ?? 0) + v;
  const stageTotal = Object.values(stages).reduce((a, b) => a + b, 0);
  const di = stages['debug-info'] ?? 0;
  const ratios = ok.map((r) => r.ours.ms / r.pipe.ms);
  // The links where LLVM's work outweighs starting processes: the tenth that takes the pipeline longest.
  const heavy = [...ok].sort((a, b) => b.pipe.ms - a.pipe.ms).slice(0, Math.max(1, Math.round(ok.length / 10)));
  const heavyRatio = heavy.reduce((a, r) => a + r.ours.ms, 0) / heavy.reduce((a, r) => a + r.pipe.ms, 0);
  // In one process: the objects both other sides linked, plus that process's start, once.
  const inProcess = ok.filter((r) => !r.resident.failed);
  const residentMs = inProcess.reduce((a, r) => a + r.resident.ms, 0) + (results.residentStartMs ?? 0);
  const residentPipeMs = inProcess.reduce((a, r) => a + r.pipe.ms, 0);
  return {
    resident: `| LLVM ${major} | ${inProcess.length} | ${(residentMs / 1000).toFixed(1)} | ${(residentPipeMs / 1000).toFixed(1)} | ${(residentMs / residentPipeMs).toFixed(2)}× | ${(results.residentStartMs ?? 0).toFixed(0)} ms |`,
    row: `| LLVM ${major} | ${ok.length} | ${(oursMs / 1000).toFixed(1)} | ${(pipeMs / 1000).toFixed(1)} | ${(oursMs / pipeMs).toFixed(2)}× | ${median(ratios).toFixed(2)}× | ${heavyRatio.toFixed(2)}× | ${(di / 1000).toFixed(2)} s = ${((100 * di) / oursMs).toFixed(1)}% (${((100 * di) / stageTotal).toFixed(1)}% of stages) |`,
    stages: `| LLVM ${major} | ${Object.entries(stages).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)}`).join(', ')} | ${((oursMs - stageTotal) / 1000).toFixed(1)} s |`,
    failed: results.filter((r) => r.failed).map((r) => `${r.id} (${r.failed})`),
  };
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
const SEED_CASES = ['a', 'b', 'c'].filter((c) => CASES.has(c));
if (SEED_CASES.length) out(`Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpuModel}, Node ${process.version}; median of ${RUNS} runs (large inputs: ${Math.max(3, Math.ceil(RUNS / 2))}).`);
if (SEED_CASES.length) out();
if (SEED_CASES.length) out('Both sides use the same libLLVM major, the same export list, the CPU the bitcode was compiled for (no `--cpu`, no `-mcpu`) and the same LLVM options (`--cold-callsite-rel-freq=0`, `--bpf-disable-trap-unreachable` on LLVM ≥ 21, `--bpf-expand-memcpy-in-order` for Rust only, `default<O2>,dce`, codegen -O3); debug info is kept (BTF) unless noted. Times are wall clock of whole processes, including process start and loading libLLVM.');

const timingsRows = [];
const rustSummary = [];
const guardRows = [];
for (const major of SEED_CASES.length ? MAJORS : []) {
  log(`== LLVM ${major}`);
  out();
  out(`### LLVM ${major}`);
  out();
  out('| case | ours (ms) | llvm-link+opt+llc (ms) | ratio | ours peak RSS (MB) | pipeline peak RSS (MB) |');
  out('|---|---|---|---|---|---|');

  // (a) seed example
  if (CASES.has('a')) {
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
  }

  // (b) generated large C input
  const largeRuns = Math.max(3, Math.ceil(RUNS / 2));
  const fns = 20;
  if (CASES.has('b')) {
    const programs = QUICK ? 25 : 200;
    const largeDir = join(work, `large-${major}-${programs}`);
    const sources = generateLargeC(largeDir, programs, fns);
    log(`compiling ${sources.length} C modules with clang-${major}…`);
    await compileMany(major, sources.map((s) => [s, s.replace(/\.c$/, '.bc')]));
    const largeInputs = sources.map((s) => s.replace(/\.c$/, '.bc'));
    const exportsLarge = [...Array.from({ length: programs }, (_, i) => `prog_${i}`), 'stats', 'LICENSE'];
    const exportFile = join(largeDir, 'exports.txt');
    writeFileSync(exportFile, exportsLarge.join('\n'));
    for (const btf of [true, false]) {
      const label = `(b) ${programs} modules, ${programs * fns} functions${btf ? '' : ', no debug info'}`;
      log(label);
      const o = summarize(repeat(largeRuns, () => ours(largeInputs, join(largeDir, 'ours.o'), [...(btf ? ['--btf'] : []), '--export-symbols', exportFile])));
      const p = summarize(repeat(largeRuns, () => pipeline(major, largeInputs, join(largeDir, 'pipe.o'), exportsLarge, { btf })));
      out(row(label, o, p));
      timingsRows.push(stageLine(`LLVM ${major} ${label}`, o));
    }
  }

  // (c) Aya-style crate graph (rustc's bitcode is LLVM 22): what rustc hands the linker, linked
  // with member selection (the default), with every member (--whole-archive), and by the pipeline.
  if (major >= 22 && CASES.has('c')) {
    const rust = rustCase(join(work, 'rust'));
    if (rust) {
      const flags = ['--btf', `--export=${rust.exports.join(',')}`];
      const o = summarize(repeat(RUNS, () => ours(rust.oursInputs, join(work, 'rust', 'ours.o'), flags)));
      const w = summarize(repeat(RUNS, () => ours(rust.oursInputs, join(work, 'rust', 'whole.o'), [...flags, '--whole-archive'])));
      const p = summarize(repeat(RUNS, () => pipeline(major, rust.pipelineInputs, join(work, 'rust', 'pipe.o'), rust.exports, { btf: true, inOrder: true })));
      const label = `(c) Aya-style crates: program + library + core + compiler_builtins (${rust.members} members)`;
      out(row(label, o, p));
      out(row('(c) the same, --whole-archive', w, p));
      rustSummary.push(
        `LLVM ${major} (c): member selection ${o.ms.toFixed(0)} ms = ${(o.ms / p.ms).toFixed(2)}× of llvm-link+opt+llc (${p.ms.toFixed(0)} ms) and ` +
          `${(o.ms / w.ms).toFixed(2)}× of --whole-archive (${w.ms.toFixed(0)} ms); the kernel's verdict: ours ${verdict(join(work, 'rust', 'ours.o'))}, ` +
          `--whole-archive ${verdict(join(work, 'rust', 'whole.o'))}, pipeline ${verdict(join(work, 'rust', 'pipe.o'))}.`,
      );
      timingsRows.push(stageLine(`LLVM ${major} (c) Rust`, o));
      timingsRows.push(stageLine(`LLVM ${major} (c) Rust, --whole-archive`, w));
    } else {
      out('| (c) Rust crates | skipped: /usr/bin/rustc or the bpfel core rlibs are missing | | | | |');
    }
  }

  // Debug-info curve: codegen time with and without debug info as the module grows.
  if (!CASES.has('b')) continue;
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

if (rustSummary.length) {
  out();
  for (const l of rustSummary) out(l);
}

if (timingsRows.length) {
  out();
  out('Our per-stage times (ms, from the linker\'s own timings) and the time outside the LLVM-dominated stages (link, optimize, codegen) — process start, loading libLLVM, reading inputs, the debug-info walk, writing:');
  out();
  out('| case | stages | outside link/optimize/codegen |');
  out('|---|---|---|');
  for (const r of timingsRows) out(r);
}

if (guardRows.length) {
  out();
  out('The crash watcher (a process that reports a crash inside libLLVM naming the input; BPF_LINKER_CRASH_GUARD=0 switches it off), median ms of interleaved runs:');
  out();
  out('| case | with watcher | without | cost |');
  out('|---|---|---|---|');
  for (const r of guardRows) out(r);
}

// (d) the third-party C corpus
const corpusReport = [];
if (CASES.has('d')) {
  const c = (l = '') => corpusReport.push(l);
  const { corpus, sources: all, missing } = await corpusSources();
  // --quick: every tenth program (the list is sorted: cilium, gobpf, selftests alike).
  const sources = QUICK ? all.filter((_, i) => i % 10 === 0) : all;
  const rows = [];
  const starts = [];
  for (const major of MAJORS) {
    log(`== (d) corpus, LLVM ${major}`);
    rows.push(corpusRows(major, await corpusCase(major, corpus, sources)));
    // What one process start costs on each side, under the same load (median of 5).
    const startMs = (steps) => median(repeat(5, () => measureSeq(steps).ms));
    starts.push(
      `| LLVM ${major} | ${startMs([[process.execPath, ['-e', '0']]]).toFixed(0)} | ${startMs([[process.execPath, [CLI, '--version']]]).toFixed(0)} | ` +
        `${startMs(['llvm-link', 'opt', 'llc'].map((t) => [tool(major, t), ['--version']])).toFixed(0)} |`,
    );
  }

  c('### (d) The third-party C corpus');
  c();
  c(
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpuModel}, Node ${process.version}; load average at the end ${loadavg().map((x) => x.toFixed(1)).join(', ')}. ` +
      `${BTF_RULES ? `With BPF_LINKER_BTF_RULES=${BTF_RULES}. ` : ''}${sources.length} programs${QUICK ? ` (--quick: every tenth of ${all.length})` : ''} of e2e/corpus (cilium/ebpf testdata, gobpf, the kernel's BPF selftests)${missing ? `; ${missing}` : ''}, ` +
      'each compiled by clang-N to bitcode with its own flags and linked as the corpus test links it (`--btf`, no export list: nothing internalized; no `--cpu`: the CPU the bitcode was compiled for), ' +
      'against `llvm-link` + `opt -passes=default<O2>,dce` (no internalize) + `llc -O3 -mcpu=X` of the same bitcode, X the CPU our linker picks (clang\'s `-mcpu`, else that clang\'s default: v1 for clang-19, v3 for clang-22). One run per object, ours and the pipeline interleaved; wall times of whole processes summed over the objects.',
  );
  c();
  c('| bitcode | objects | ours (s) | llvm-link+opt+llc (s) | ratio of sums | median ratio per object | ratio on the heaviest tenth | debug-info stage (share of our wall time) |');
  c('|---|---|---|---|---|---|---|---|');
  for (const r of rows) c(r.row);
  c();
  c('The same links with the core\'s `linkSync` in one long-lived process (bench/resident-linker.ts), as the build runner (`runSteps`: `bpf-turbo build`, the Nx link executor) links the programs of one build: libLLVM is loaded once, and no process starts per object. Round-trip wall time per object, interleaved with the runs above, plus that process\'s start:');
  c();
  c('| bitcode | objects | ours in one process (s) | llvm-link+opt+llc (s) | ratio | its starts |');
  c('|---|---|---|---|---|---|');
  for (const r of rows) c(r.resident);
  c();
  c('Our stages summed over the corpus (s), and the rest of our wall time (process start, loading the CLI and libLLVM, argument and option checks):');
  c();
  c('| bitcode | stages | rest |');
  c('|---|---|---|');
  for (const r of rows) c(r.stages);
  c();
  c('Starting processes, per object (ms, median of 5 after the corpus):');
  c();
  c('| bitcode | `node -e 0` | `bpf-linker --version` | `llvm-link`, `opt`, `llc --version` |');
  c('|---|---|---|---|');
  for (const r of starts) c(r);
  const failed = rows.flatMap((r, i) => r.failed.map((f) => `LLVM ${MAJORS[i]}: ${f}`));
  if (failed.length) {
    c();
    c(`Left out (failed on one side or both): ${failed.join('; ')}.`);
  }
}

// (p) partitioned, parallel code generation of big links (--partitions auto, the default) against
// one module (--partitions off) and against llvm-link + opt + llc, in one run.
const partitionReport = [];
if (CASES.has('p')) {
  const c = (l = '') => partitionReport.push(l);
  const runs = Math.max(3, Math.ceil(RUNS / 2));
  // The threshold is 500 blocks: 12 programs (276 blocks) are below it, 25 (575) above.
  const sizes = QUICK ? [12, 50] : [8, 12, 25, 50, 100, 200, 400];
  const rows = [];
  const stageRows = [];
  const thresholdRows = [];
  for (const major of MAJORS) {
    for (const programs of sizes) {
      // 200 programs also with one helper they all share: split after optimization.
      for (const shared of programs === 200 ? [false, true] : [false]) {
        const dir = join(work, `part-${major}-${programs}${shared ? '-shared' : ''}`);
        const sources = generateLargeC(dir, programs, 20, shared);
        log(`(p) LLVM ${major}: compiling ${sources.length} C modules…`);
        await compileMany(major, sources.map((s) => [s, s.replace(/\.c$/, '.bc')]));
        const inputs = sources.map((s) => s.replace(/\.c$/, '.bc'));
        const exportsList = [...Array.from({ length: programs }, (_, i) => `prog_${i}`), 'stats', 'LICENSE'];
        const ex = join(dir, 'exports.txt');
        writeFileSync(ex, exportsList.join('\n'));
        // The small sizes show the threshold (no slowdown below it); the pipeline is measured on the big ones.
        const big = programs >= 200;
        for (const btf of big && !shared ? [true, false] : [true]) {
          const label = `${programs}×20${shared ? ', one shared helper' : ''}${btf ? '' : ', no debug info'}`;
          log(`(p) LLVM ${major} ${label}`);
          const flags = [...(btf ? ['--btf'] : []), '--export-symbols', ex];
          // Interleaved, so machine noise hits every side alike.
          const split = [];
          const one = [];
          const pipe = [];
          const forced = [];
          for (let i = 0; i < runs; i++) {
            split.push(ours(inputs, join(dir, 'split.o'), flags));
            one.push(ours(inputs, join(dir, 'one.o'), [...flags, '--partitions', 'off']));
            if (big) pipe.push(pipeline(major, inputs, join(dir, 'pipe.o'), exportsList, { btf }));
            // Below the threshold: what splitting anyway would give (where the threshold should be).
            else forced.push(ours(inputs, join(dir, 'forced.o'), [...flags, '--partitions', '4']));
          }
          const [s1, o1] = [summarize(split), summarize(one)];
          const p1 = big ? summarize(pipe) : undefined;
          const parts = /^partitions \(ms\): (\d+) on (\d+) threads?(, optimized apart)?/m.exec(split.at(-1).stderr);
          const same = readFileSync(join(dir, 'split.o')).equals(readFileSync(join(dir, 'one.o')));
          const how = parts ? `${parts[1]} on ${parts[2]} threads, ${parts[3] ? 'optimized apart' : 'split after optimization'}` : same ? 'one module (byte-identical)' : 'one module';
          if (!big) thresholdRows.push(`| ${major} | ${label} | ${how} | ${summarize(split).ms.toFixed(0)} | ${summarize(one).ms.toFixed(0)} | ${summarize(forced).ms.toFixed(0)} |`);
          if (big) rows.push(
            `| ${major} | ${label} | ${how} | ${s1.ms.toFixed(0)} | ${o1.ms.toFixed(0)} | ${(s1.ms / o1.ms).toFixed(2)}× | ` +
              `${p1 ? p1.ms.toFixed(0) : '–'} | ${p1 ? `${(s1.ms / p1.ms).toFixed(2)}×` : '–'} | ${s1.rssMb.toFixed(0)} / ${o1.rssMb.toFixed(0)}${p1 ? ` / ${p1.rssMb.toFixed(0)}` : ''} | ` +
              `${btf ? `${verdictCounts(join(dir, 'split.o'))} / ${verdictCounts(join(dir, 'one.o'))}` : '–'} |`,
          );
          if (big) stageRows.push(stageLine(`LLVM ${major} ${label}, partitioned`, s1), stageLine(`LLVM ${major} ${label}, one module`, o1));
        }
      }
    }
  }
  c('### (p) Partitioned code generation of big links');
  c();
  c(
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpuModel}, Node ${process.version}; median of ${runs} interleaved runs; load average at the end ${loadavg().map((x) => x.toFixed(1)).join(', ')}. ` +
      'The generated input of (b) (N modules of one XDP program and 20 `noinline` static helpers, one shared map; "one shared helper": every program also calls one function the export list makes static, so the module is split after optimization), linked with the export list by the default (`--partitions auto`, `--jobs` = the cores), ' +
      'by one module (`--partitions off`), and for 200 and 400 programs by `llvm-link + opt + llc`. Times are wall clock of whole processes.',
  );
  c();
  c('| LLVM | case | partitions | partitioned (ms) | one module (ms) | ratio | llvm-link+opt+llc (ms) | ratio | peak RSS (MB): partitioned / one module / pipeline | kernel: programs accepted/rejected, partitioned / one module |');
  c('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) c(r);
  c();
  c('Around the threshold (500 blocks; with BTF): the default (below it one module, byte-identical to `--partitions off`), one module, and splitting anyway (`--partitions 4`):');
  c();
  c('| LLVM | case | default does | default (ms) | --partitions off (ms) | --partitions 4 (ms) |');
  c('|---|---|---|---|---|---|');
  for (const r of thresholdRows) c(r);
  c();
  c('Our per-stage times (ms) for the big cases:');
  c();
  c('| case | stages | outside link/optimize/codegen |');
  c('|---|---|---|');
  for (const r of stageRows) c(r);
}

const text = report.join('\n');
const corpusText = corpusReport.join('\n');
const partitionText = partitionReport.join('\n');
if (text) console.log(text);
if (corpusText) console.log(`\n${corpusText}`);
if (partitionText) console.log(`\n${partitionText}`);
if (WRITE) {
  const readme = join(ROOT, 'bench/README.md');
  const current = existsSync(readme) ? readFileSync(readme, 'utf8') : '';
  const block = (name, body) => `<!-- ${name} -->\n\n${body}\n\n<!-- /${name} -->\n`;
  const section = (name) => new RegExp(`<!-- ${name} -->[\\s\\S]*<!-- \\/${name} -->\\n?`);
  const replaceSection = (textNow, name, body) => (textNow.includes(`<!-- ${name} -->`) ? textNow.replace(section(name), block(name, body)) : `${textNow.trimEnd()}\n\n${block(name, body)}`);
  if (ALL_CASES) {
    writeFileSync(readme, `${current.split('<!-- results -->')[0]}<!-- results -->\n\n${text}\n\n${block('corpus', corpusText)}\n${block('partitioned', partitionText)}`);
  } else if (SEED_ONLY) {
    const kept = ['corpus', 'partitioned'].map((n) => section(n).exec(current)?.[0] ?? '').filter(Boolean).join('\n');
    writeFileSync(readme, `${current.split('<!-- results -->')[0]}<!-- results -->\n\n${text}\n\n${kept}`);
  } else if (CASES.has('d')) {
    writeFileSync(readme, replaceSection(current, 'corpus', corpusText));
  } else {
    writeFileSync(readme, replaceSection(current, 'partitioned', partitionText));
  }
}
rmSync(work, { recursive: true, force: true });
