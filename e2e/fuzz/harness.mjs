/**
 * A fuzz harness for the real `bpf-linker` CLI (packages/cli/dist/bpf-linker.cjs).
 *
 * Seeds are made at run time with the real tools: clang-19 and clang-22 bitcode of small C
 * programs (examples/seed/*.c, packages/cli/test/fixtures/*.c), `.ll` text (llvm-dis), `ar`
 * archives of bitcode (llvm-ar, GNU and BSD format), ELF objects with a `.llvmbc` section
 * (clang -fembed-bitcode -c), and BPF objects (our CLI's output and clang -c) for `inspect` and
 * `verify`. Compilation happens in a fixed directory name with -fdebug-compilation-dir, so the
 * seed bytes (and therefore every case) are the same from run to run.
 *
 * Cases are seeds mutated 1-3 times (bit flips, byte sets, truncation, inserted random bytes,
 * erased or duplicated ranges, splices of two seeds, and "field" writes of boundary values into
 * ELF/section/BTF headers), drawn from a PRNG with a fixed seed. Each case is written to a file
 * and the CLI is spawned with an argument vector (never a shell), two at a time, 20 s each:
 *
 *   link     <case> --btf -o <dir>/out.o       (sometimes with a good second input, and a third
 *                                               of the time with out.o already there)
 *   inspect  inspect [--json --btf] <case>
 *   verify   verify [--json] <case>             (loads into the running kernel: needs root)
 *
 * and each outcome is classified. Allowed: ok, clean-error (exit 1, or 2 for verify; stderr is
 * `Error: …` naming the case file; no stack trace, no `internal error`), attributed-crash /
 * attributed-stop (the crash watcher's message names the file; nothing written). Everything
 * else is a finding: crash, hang, stack-trace, reader-bug, unnamed-error, bad-status,
 * partial-output, changed-existing-output, missing-output, and bad-output (a link succeeded but
 * `inspect` refuses what it wrote).
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KNOWN_OPEN } from './known-open.mjs';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The CLI under test; FUZZ_CLI=<path> runs another build (e.g. an older commit's, for comparison). */
export const CLI = process.env.FUZZ_CLI ? resolve(process.env.FUZZ_CLI) : join(REPO, 'packages/cli/dist/bpf-linker.cjs');
export const REGRESSIONS = join(REPO, 'e2e/fuzz/regressions');
export const TARGETS = /** @type {const} */ (['link', 'inspect', 'verify']);

/** Outcomes that are fine; every other class is a finding. */
export const ALLOWED = ['ok', 'clean-error', 'attributed-crash', 'attributed-stop'];
export const CLASSES = [
  ...ALLOWED,
  'crash',
  'hang',
  'stack-trace',
  'reader-bug',
  'unnamed-error',
  'bad-status',
  'partial-output',
  'changed-existing-output',
  'missing-output',
  'bad-output',
];

/** Case counts of the three modes. */
export const MODES = {
  quick: { link: 160, inspect: 120, verify: 60 },
  medium: { link: 2000, inspect: 600, verify: 200 },
  long: { link: 10000, inspect: 3000, verify: 1000 },
};

export const DEFAULT_SEED = 0xb9f1;
const CASE_TIMEOUT_MS = 20_000;
/** What a pre-existing output holds before a link case: it must still hold it after a failure. */
const PRE_EXISTING = Buffer.from('pre-existing output: a failed link must leave these bytes alone\n');

// ---------------------------------------------------------------------------------------------
// PRNG

/** mulberry32: deterministic, so a run can be repeated case for case. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (rnd, n) => Math.floor(rnd() * n);
const pick = (rnd, list) => list[int(rnd, list.length)];

// ---------------------------------------------------------------------------------------------
// Seeds

const C_SOURCES = [
  ['examples/seed/lib.c', 'lib'],
  ['examples/seed/program.c', 'program'],
  ...['dup_a', 'dup_b', 'kfunc', 'loop', 'memfill', 'slot_lib', 'slot_prog'].map((n) => [`packages/cli/test/fixtures/${n}.c`, n]),
];

const tool = (major, name) => {
  const p = `/usr/lib/llvm-${major}/bin/${name}`;
  if (!existsSync(p)) throw new Error(`${p} is missing: run scripts/setup.sh`);
  return p;
};

/**
 * @typedef {{ name: string, kind: string, ext: string, path: string, bytes: Buffer, partner?: string }} Seed
 * `partner`: a good second input that completes the link (the library of a program).
 */

/**
 * Builds every seed under `work` (a directory the caller owns), linking objects with `cli`. Returns the seeds per target.
 * @returns {{ link: Seed[], inspect: Seed[], verify: Seed[] }}
 */
export function buildSeeds(work, cli = CLI) {
  const src = join(work, 'src');
  const out = join(work, 'seeds');
  mkdirSync(src, { recursive: true });
  mkdirSync(out, { recursive: true });
  const run = (file, args) => execFileSync(file, args, { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const [rel, name] of C_SOURCES) copyFileSync(join(REPO, rel), join(src, `${name}.c`));
  const cflags = ['-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-g', '-O2', '-fdebug-compilation-dir=/fuzz'];
  const seedPath = (file) => join(out, file);
  // Relative paths from `work` for the compilers, so nothing of the work directory's name gets into the seeds.
  const rel = (file) => `seeds/${file}`;

  /** @type {Seed[]} */
  const link = [];
  /** @type {Seed[]} */
  const objects = [];
  const add = (list, file, kind, partner) => {
    const path = seedPath(file);
    list.push({ name: file, kind, ext: extname(file) || '.bin', path, bytes: readFileSync(path), partner });
  };

  for (const major of [19, 22]) {
    for (const [, name] of C_SOURCES) run(tool(major, 'clang'), [...cflags, '-emit-llvm', '-c', `src/${name}.c`, '-o', rel(`${name}-${major}.bc`)]);
  }
  const partnerOf = (name, major) => (name === 'program' ? seedPath(`lib-${major}.bc`) : name === 'slot_prog' ? seedPath(`slot_lib-${major}.bc`) : undefined);
  for (const major of [19, 22]) {
    for (const [, name] of C_SOURCES) add(link, `${name}-${major}.bc`, 'bitcode', partnerOf(name, major));
  }
  // IR text, archives (GNU and BSD), ELF with .llvmbc.
  run(tool(22, 'llvm-dis'), [rel('program-22.bc'), '-o', rel('program-22.ll')]);
  add(link, 'program-22.ll', 'ir-text', seedPath('lib-22.bc'));
  run(tool(19, 'llvm-dis'), [rel('loop-19.bc'), '-o', rel('loop-19.ll')]);
  add(link, 'loop-19.ll', 'ir-text');
  run(tool(22, 'llvm-ar'), ['--format=gnu', 'rcs', rel('libs-22.a'), rel('lib-22.bc'), rel('slot_lib-22.bc')]);
  add(link, 'libs-22.a', 'archive', seedPath('program-22.bc'));
  run(tool(22, 'llvm-ar'), ['--format=bsd', 'rcs', rel('libs-19-bsd.a'), rel('lib-19.bc'), rel('program-19.bc')]);
  add(link, 'libs-19-bsd.a', 'archive');
  for (const name of ['lib', 'loop']) {
    run(tool(22, 'clang'), [...cflags, '-fembed-bitcode', '-c', `src/${name}.c`, '-o', rel(`${name}-22-embed.o`)]);
    add(link, `${name}-22-embed.o`, 'elf-llvmbc', name === 'lib' ? seedPath('program-22.bc') : undefined);
  }

  // Objects: our CLI's output, and clang's own.
  const linked = [
    ['seed-22.o', ['program-22.bc', 'lib-22.bc', '--btf']],
    ['seed-19.o', ['program-19.bc', 'lib-19.bc', '--btf']],
    ['seed-nobtf-22.o', ['program-22.bc', 'lib-22.bc']],
    ['loop-22.o', ['loop-22.bc', '--btf', '--cpu', 'v3']],
    ['memfill-22.o', ['memfill-22.bc', '--btf']],
    ['slot-22.o', ['slot_prog-22.bc', 'slot_lib-22.bc', '--btf', '--internalize']],
    ['kfunc-22.o', ['kfunc-22.bc', '--btf']],
  ];
  for (const [file, args] of linked) {
    const r = runCliSync(cli, [...args.map((a) => (a.endsWith('.bc') ? seedPath(a) : a)), '-o', seedPath(file)]);
    if (r.status !== 0) throw new Error(`linking seed ${file} failed: ${r.stderr}`);
    add(objects, file, 'object');
  }
  run(tool(22, 'clang'), [...cflags, '-c', 'src/program.c', '-o', rel('program-22-clang.o')]);
  add(objects, 'program-22-clang.o', 'object');
  run(tool(19, 'clang'), [...cflags, '-c', 'src/loop.c', '-o', rel('loop-19-clang.o')]);
  add(objects, 'loop-19-clang.o', 'object');
  return { link, inspect: objects, verify: objects };
}

function runCliSync(cli, args) {
  try {
    const stdout = execFileSync(process.execPath, [cli, ...args], { env: cliEnv({}), stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    return { status: 0, stdout, stderr: '' };
  } catch (e) {
    return { status: e.status ?? -1, stdout: String(e.stdout ?? ''), stderr: String(e.stderr ?? '') };
  }
}

// ---------------------------------------------------------------------------------------------
// Mutations

const BYTES = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe, 0x40, 0x20];

/** Boundary values for a field of `size` bytes in a file of `len` bytes. */
function interesting(rnd, size, len) {
  const max = size === 2 ? 0xffff : size === 4 ? 0xffffffff : 0xffffffffffffffffn;
  const big = (n) => (size === 8 ? BigInt(n) : Number(n));
  const values = [0, 1, 2, 8, 0x7f, 0x80, 0xff, len - 1, len, len + 1, len * 2, 0x7fff, 0x8000, 0xffff, 0x10000, int(rnd, 0x10000)];
  if (size >= 4) values.push(0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff);
  const v = rnd() < 0.1 ? max : pick(rnd, values);
  return typeof v === 'bigint' ? v : big(Math.max(0, Math.min(Number(max), v)));
}

function writeField(b, at, size, value) {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (at < 0 || at + size > b.length) return false;
  if (size === 1) b[at] = Number(value) & 0xff;
  else if (size === 2) view.setUint16(at, Number(value) & 0xffff, true);
  else if (size === 4) view.setUint32(at, Number(value) >>> 0, true);
  else view.setBigUint64(at, BigInt.asUintN(64, BigInt(value)), true);
  return true;
}

/** Section headers of a little-endian ELF64 (the seeds); [] for anything else. */
function elfSections(b) {
  if (b.length < 64 || b[0] !== 0x7f || b[1] !== 0x45 || b[4] !== 2 || b[5] !== 1) return [];
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const shoff = Number(view.getBigUint64(40, true));
  const shnum = view.getUint16(60, true);
  const shstrndx = view.getUint16(62, true);
  if (shoff + shnum * 64 > b.length) return [];
  const secs = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * 64;
    secs.push({ header: o, nameOff: view.getUint32(o, true), offset: Number(view.getBigUint64(o + 24, true)), size: Number(view.getBigUint64(o + 32, true)) });
  }
  const names = secs[shstrndx];
  for (const s of secs) {
    let end = names ? names.offset + s.nameOff : 0;
    const start = end;
    while (names && end < b.length && b[end] !== 0) end++;
    s.name = names ? Buffer.from(b.subarray(start, end)).toString('latin1') : '';
  }
  return secs;
}

const ELF_HEADER_FIELDS = [[16, 2], [18, 2], [20, 4], [32, 8], [40, 8], [52, 2], [58, 2], [60, 2], [62, 2]];
const SECTION_FIELDS = [[0, 4], [4, 4], [8, 8], [24, 8], [32, 8], [40, 4], [44, 4], [48, 8], [56, 8]];

/** Writes a boundary value into a header field: ELF header, a section header, the BTF or BTF.ext header, or a word of a section. */
function mutateField(rnd, b) {
  const secs = elfSections(b);
  if (secs.length === 0) {
    // Bitcode, archives, text: a random aligned 32-bit word.
    const at = int(rnd, Math.max(1, b.length >> 2)) * 4;
    const v = interesting(rnd, 4, b.length);
    return writeField(b, at, 4, v) ? `word@${at}=${v}` : 'field:none';
  }
  const choice = rnd();
  if (choice < 0.2) {
    const [at, size] = pick(rnd, ELF_HEADER_FIELDS);
    const v = interesting(rnd, size, b.length);
    writeField(b, at, size, v);
    return `ehdr@${at}=${v}`;
  }
  if (choice < 0.55) {
    const s = pick(rnd, secs);
    const [at, size] = pick(rnd, SECTION_FIELDS);
    const v = interesting(rnd, size, b.length);
    writeField(b, s.header + at, size, v);
    return `shdr[${s.name}]+${at}=${v}`;
  }
  const btf = secs.filter((s) => s.name === '.BTF' || s.name === '.BTF.ext');
  const s = btf.length > 0 && choice < 0.85 ? pick(rnd, btf) : pick(rnd, secs);
  if (s.size === 0) return 'field:empty';
  // Header fields of .BTF/.BTF.ext (hdr_len … str_len / core_relo_len) or any word of the section.
  const rel = (s.name.startsWith('.BTF') && rnd() < 0.6 ? 4 + 4 * int(rnd, 7) : 4 * int(rnd, Math.max(1, s.size >> 2)));
  const v = interesting(rnd, 4, s.size);
  writeField(b, s.offset + rel, 4, v);
  return `sec[${s.name}]+${rel}=${v}`;
}

/**
 * One mutation of `input` (a Buffer, copied); `other` is another seed for splices.
 * @returns {{ bytes: Buffer, desc: string }}
 */
export function mutateOnce(rnd, input, other) {
  let b = Buffer.from(input);
  const len = b.length;
  const kind = pick(rnd, ['bitflip', 'bitflip', 'byteset', 'byteset', 'truncate', 'insert', 'erase', 'duplicate', 'splice', 'field', 'field', 'field']);
  switch (kind) {
    case 'bitflip': {
      const n = 1 + int(rnd, 8);
      const at = [];
      for (let i = 0; i < n && len > 0; i++) {
        const bit = int(rnd, len * 8);
        b[bit >> 3] ^= 1 << (bit & 7);
        at.push(bit);
      }
      return { bytes: b, desc: `bitflip ${at.join(',')}` };
    }
    case 'byteset': {
      const n = 1 + int(rnd, 8);
      const at = [];
      for (let i = 0; i < n && len > 0; i++) {
        const o = int(rnd, len);
        b[o] = rnd() < 0.5 ? pick(rnd, BYTES) : int(rnd, 256);
        at.push(`${o}=${b[o]}`);
      }
      return { bytes: b, desc: `byteset ${at.join(',')}` };
    }
    case 'truncate': {
      // Half of the time close to the end (a cut-off download), else anywhere.
      const to = rnd() < 0.5 ? Math.max(0, len - 1 - int(rnd, 64)) : int(rnd, len);
      return { bytes: b.subarray(0, to), desc: `truncate ${to}` };
    }
    case 'insert': {
      const at = int(rnd, len + 1);
      const n = 1 + int(rnd, 64);
      const ins = Buffer.alloc(n);
      for (let i = 0; i < n; i++) ins[i] = int(rnd, 256);
      return { bytes: Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]), desc: `insert ${n}@${at}` };
    }
    case 'erase': {
      const at = int(rnd, len);
      const n = 1 + int(rnd, Math.min(256, len - at));
      return { bytes: Buffer.concat([b.subarray(0, at), b.subarray(at + n)]), desc: `erase ${n}@${at}` };
    }
    case 'duplicate': {
      const from = int(rnd, len);
      const n = 1 + int(rnd, Math.min(256, len - from));
      const at = int(rnd, len + 1);
      return { bytes: Buffer.concat([b.subarray(0, at), b.subarray(from, from + n), b.subarray(at)]), desc: `duplicate ${n}@${from}->${at}` };
    }
    case 'splice': {
      const a = int(rnd, len + 1);
      const s = int(rnd, other.length + 1);
      return { bytes: Buffer.concat([b.subarray(0, a), other.subarray(s)]), desc: `splice ${a}+other@${s}` };
    }
    default:
      return { bytes: b, desc: mutateField(rnd, b) };
  }
}

/** 1-3 mutations of seed `seed`, splicing with `other`. */
export function mutate(rnd, seed, other) {
  let bytes = seed.bytes;
  const descs = [];
  const n = 1 + (rnd() < 0.6 ? 0 : int(rnd, 3));
  for (let i = 0; i < n; i++) {
    const m = mutateOnce(rnd, bytes, other.bytes);
    bytes = m.bytes;
    descs.push(m.desc);
  }
  return { bytes, desc: `${seed.name}: ${descs.join('; ')}${descs.some((d) => d.startsWith('splice')) ? ` (other ${other.name})` : ''}` };
}

// ---------------------------------------------------------------------------------------------
// Cases

/**
 * @typedef {{ target: string, id: string, ext: string, bytes: Buffer, desc: string,
 *   variant: { json?: boolean, btf?: boolean, partner?: string, preExisting?: boolean } }} FuzzCase
 */

/** `count` cases of `target` from its seeds; the PRNG stream depends only on (seed, target). */
export function planCases(target, count, seeds, seed = DEFAULT_SEED) {
  const rnd = prng(seed ^ (target === 'link' ? 0x11 : target === 'inspect' ? 0x22 : 0x33) * 0x9e3779b1);
  const list = seeds[target];
  /** @type {FuzzCase[]} */
  const cases = [];
  for (let i = 0; i < count; i++) {
    const s = list[i % list.length];
    const other = pick(rnd, list);
    const m = mutate(rnd, s, other);
    const variant = {};
    if (target === 'link') {
      if (s.partner && rnd() < 0.4) variant.partner = s.partner;
      if (rnd() < 0.34) variant.preExisting = true;
    } else if (target === 'inspect') {
      if (rnd() < 0.4) Object.assign(variant, { json: true, btf: true });
      else if (rnd() < 0.3) variant.btf = true;
    } else if (rnd() < 0.25) {
      variant.json = true;
    }
    cases.push({ target, id: `${target}-${i}`, ext: s.ext, bytes: m.bytes, desc: m.desc, variant });
  }
  return cases;
}

/**
 * The files of e2e/fuzz/regressions/<target>/ as cases, each in every variant of its target's
 * command. A link regression whose case needs a good second input names it in `<file>.args.json`
 * (`{ "partner": "lib-22.bc" }`, one of the link seeds). README.md says what each file was.
 * `skipSlow`: leave out the files of known-open.mjs entries marked slow (a known hang).
 */
export function regressionCases(seeds, { dir = REGRESSIONS, skipSlow = false } = {}) {
  const slow = new Set(KNOWN_OPEN.filter((k) => k.slow).flatMap((k) => k.regressions));
  /** @type {FuzzCase[]} */
  const cases = [];
  for (const target of TARGETS) {
    const d = join(dir, target);
    if (!existsSync(d)) continue;
    for (const file of readdirSync(d).sort()) {
      if (file.endsWith('.md') || file.endsWith('.json') || (skipSlow && slow.has(`${target}/${file}`))) continue;
      const bytes = readFileSync(join(d, file));
      const ext = extname(file) || '.bin';
      const id = `regression-${target}-${basename(file, ext)}`;
      const args = existsSync(join(d, `${file}.args.json`)) ? JSON.parse(readFileSync(join(d, `${file}.args.json`), 'utf8')) : {};
      const extra = {};
      if (args.partner) {
        const partner = seeds.link.find((s) => s.name === args.partner);
        if (!partner) throw new Error(`${join(d, file)}.args.json: no link seed named ${args.partner}`);
        extra.partner = partner.path;
      }
      const variants = target === 'link' ? [{}, { preExisting: true }] : target === 'inspect' ? [{}, { json: true, btf: true }] : [{}, { json: true }];
      variants.forEach((variant, k) => cases.push({ target, id: `${id}-${k}`, ext, bytes, desc: `regression ${target}/${file}`, variant: { ...variant, ...extra } }));
    }
  }
  return cases;
}

function argvFor(c, casePath, outPath) {
  switch (c.target) {
    case 'link':
      return [casePath, ...(c.variant.partner ? [c.variant.partner] : []), '--btf', '-o', outPath];
    case 'inspect':
      return ['inspect', ...(c.variant.json ? ['--json'] : []), ...(c.variant.btf ? ['--btf'] : []), casePath];
    default:
      return ['verify', ...(c.variant.json ? ['--json'] : []), casePath];
  }
}

// ---------------------------------------------------------------------------------------------
// Running and classifying

/**
 * A private copy of the built CLI in `work`, checked to run: other builds of the bundle during a
 * long run (packages/cli/build.mjs rewrites it in place) must not make cases fail half-written.
 * koffi, the CLI's only external module, is found through NODE_PATH (see cliEnv).
 */
export function snapshotCli(work) {
  const dir = join(work, 'cli');
  mkdirSync(dir, { recursive: true });
  const copy = join(dir, 'bpf-linker.cjs');
  for (let attempt = 0; ; attempt++) {
    copyFileSync(CLI, copy);
    try {
      const version = execFileSync(process.execPath, [copy, '--version'], { env: cliEnv({}), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      if (/\d+\.\d+/.test(version)) return copy;
    } catch {
      // being rebuilt: try again
    }
    if (attempt >= 10) throw new Error(`${CLI} does not run: build it (cd packages/cli && node build.mjs)`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
  }
}

function cliEnv(extra) {
  const env = { ...process.env, ...extra };
  env.NODE_PATH = [join(dirname(CLI), '..', 'node_modules'), join(REPO, 'node_modules'), process.env.NODE_PATH].filter(Boolean).join(':');
  return env;
}

function spawnCli(cli, argv, env, timeoutMs) {
  return new Promise((resolvePromise) => {
    const started = Date.now();
    // Its own process group, so a hang is killed with the crash watcher it started.
    const child = spawn(process.execPath, [cli, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    const cap = (s, d) => (s.length > 1 << 20 ? s : s + d.toString('utf8'));
    child.stdout.on('data', (d) => (stdout = cap(stdout, d)));
    child.stderr.on('data', (d) => (stderr = cap(stderr, d)));
    let timedOut = false;
    let settled = false;
    const killGroup = () => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    let exit;
    let grace;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      resolvePromise({ status: exit?.code ?? null, signal: exit?.signal ?? null, stdout, stderr, timedOut, ms: Date.now() - started });
    };
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // stderr stays open while the watcher writes its message; do not wait for it forever.
      grace = setTimeout(() => {
        killGroup();
        finish();
      }, 5_000);
    });
    child.on('close', (code, signal) => {
      exit ??= { code, signal };
      finish();
    });
    child.on('error', (e) => {
      stderr += `spawn failed: ${e.message}`;
      exit = { code: -1, signal: null };
      finish();
    });
  });
}

const LOG_LINE = /^\[(?:ERROR|WARN|INFO|DEBUG|TRACE)\] /;
const STACK = /\n\s+at [^\n]*(?:\(|:\d+:\d+)/;
const WATCHER = /^error: bpf-linker(?: verify)? (crashed while|stopped after \d+ s of) (.*)\(inside [^\n]*\); nothing was written$/m;

/**
 * The class of one outcome; `files` says what the output directory held afterwards.
 * @returns {{ cls: string, why: string }}
 */
export function classify(c, casePath, r, files) {
  const { target } = c;
  // Errors go to stderr, except for verify --json, which reports them in its JSON on stdout.
  const text = target === 'verify' && c.variant.json ? r.stdout : r.stderr;
  const named = (s) => s.includes(casePath);
  const outputChecks = () => {
    if (target !== 'link') return undefined;
    if (files.temporaries.length > 0) return { cls: 'partial-output', why: `temporary left: ${files.temporaries.join(', ')}` };
    if (c.variant.preExisting) {
      if (!files.output) return { cls: 'changed-existing-output', why: 'the pre-existing output was removed' };
      if (!files.output.equals(PRE_EXISTING)) return { cls: 'changed-existing-output', why: 'the pre-existing output was changed' };
    } else if (files.output) {
      return { cls: 'partial-output', why: `an output of ${files.output.length} bytes exists after a failure` };
    }
    return undefined;
  };

  if (r.timedOut) return { cls: 'hang', why: `no end after ${CASE_TIMEOUT_MS / 1000} s` };
  if (r.signal !== null || (r.status !== null && r.status > 128) || r.status === null) {
    const w = r.stderr.match(WATCHER);
    if (!w) return { cls: 'crash', why: `${r.signal ?? `exit ${r.status}`} without the watcher's message` };
    if (!named(w[2])) return { cls: 'crash', why: `the watcher's message does not name the file: ${w[0]}` };
    return outputChecks() ?? { cls: w[1] === 'crashed while' ? 'attributed-crash' : 'attributed-stop', why: w[0] };
  }
  if (/internal error/.test(r.stderr) || STACK.test(r.stderr) || STACK.test(text) || /"code": "INTERNAL"/.test(text)) return { cls: 'stack-trace', why: firstLine(r.stderr || text) };
  if (/unexpected \w+ in the object reader|verification failed: unexpected/.test(text)) return { cls: 'reader-bug', why: firstLine(text) };

  const errorStatus = target === 'verify' ? 2 : 1;
  if (r.status === 0 || (target === 'verify' && r.status === 1)) {
    if (target === 'link') {
      if (files.temporaries.length > 0) return { cls: 'partial-output', why: `temporary left: ${files.temporaries.join(', ')}` };
      if (!files.output || files.output.equals(PRE_EXISTING)) return { cls: 'missing-output', why: 'exit 0 without writing the output' };
    }
    if (target === 'verify' && !c.variant.json && !r.stdout.startsWith(`${casePath}: `)) return { cls: 'bad-status', why: `exit ${r.status} without a verdict` };
    return { cls: 'ok', why: '' };
  }
  if (r.status !== errorStatus) return { cls: 'bad-status', why: `exit ${r.status}: ${firstLine(text)}` };
  const out = outputChecks();
  if (out) return out;
  if (c.variant.json && target === 'verify') {
    let entries;
    try {
      entries = JSON.parse(r.stdout);
    } catch {
      return { cls: 'bad-status', why: 'verify --json printed no JSON' };
    }
    const bad = entries.find((e) => e.error && !named(e.error.message ?? ''));
    return bad ? { cls: 'unnamed-error', why: bad.error.message } : { cls: 'clean-error', why: entries.find((e) => e.error)?.error.message ?? '' };
  }
  // After log lines (`[WARN] …`), the error: `Error: <message>`, and the message names the file.
  const errorLine = r.stderr.split('\n').find((l) => l.trim() !== '' && !LOG_LINE.test(l));
  if (errorLine === undefined || !errorLine.startsWith('Error: ')) {
    return { cls: 'unnamed-error', why: errorLine === undefined ? `exit ${r.status} and no error message` : `not an 'Error: ' line: ${errorLine.slice(0, 300)}` };
  }
  if (!named(r.stderr)) return { cls: 'unnamed-error', why: errorLine.slice(0, 300) };
  return { cls: 'clean-error', why: errorLine.slice(0, 300) };
}

const firstLine = (s) => (s.split('\n').find((l) => l.trim() !== '') ?? '').slice(0, 300);

/**
 * Runs `cases` through the CLI (`cli`: a snapshotCli() copy, or the built one), `jobs` at a time. Each case gets its own directory under
 * `work/run`; a case with a bad outcome is copied (bytes + a JSON note) to `findings`.
 * @returns {Promise<Array<{ case: FuzzCase, cls: string, why: string, ms: number, finding?: string }>>}
 */
export async function runCases(cases, { work, findings, jobs = 2, readTimeout = '3', codegenTimeout = '6', onResult, cli = CLI } = {}) {
  // Time limits well inside the case's own, so a native loop ends as the watcher's stop.
  const env = cliEnv({ BPF_LINKER_READ_TIMEOUT: readTimeout, BPF_LINKER_CODEGEN_TIMEOUT: codegenTimeout });
  delete env.BPF_LINKER_CRASH_GUARD;
  delete env.BPF_LINKER_LLVM;
  const results = new Array(cases.length);
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const index = next++;
      const c = cases[index];
      const dir = join(work, 'run', c.id);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const casePath = join(dir, `${c.id}${c.ext}`);
      const outPath = join(dir, 'out', 'out.o');
      mkdirSync(dirname(outPath));
      writeFileSync(casePath, c.bytes);
      if (c.variant.preExisting) writeFileSync(outPath, PRE_EXISTING);
      const argv = argvFor(c, casePath, outPath);
      const r = await spawnCli(cli, argv, env, CASE_TIMEOUT_MS);
      const left = readdirSync(dirname(outPath));
      const files = { output: existsSync(outPath) && statSync(outPath).isFile() ? readFileSync(outPath) : undefined, temporaries: left.filter((f) => f !== 'out.o') };
      let { cls, why } = classify(c, casePath, r, files);
      // What a link wrote must be an object our own reader accepts.
      if (c.target === 'link' && cls === 'ok') {
        const check = await spawnCli(cli, ['inspect', outPath], env, CASE_TIMEOUT_MS);
        if (check.status !== 0) ({ cls, why } = { cls: 'bad-output', why: `inspect of the output: ${firstLine(check.stderr) || `exit ${check.status ?? check.signal}`}` });
      }
      const result = { case: c, cls, why, ms: r.ms };
      if (!ALLOWED.includes(cls)) {
        result.known = knownOpen(c, cls, why, r)?.id;
        result.finding = saveFinding(findings, c, cls, why, argv, casePath, outPath, r);
      }
      results[index] = result;
      onResult?.(result, index);
      rmSync(dir, { recursive: true, force: true });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
  return results;
}

function saveFinding(findings, c, cls, why, argv, casePath, outPath, r) {
  mkdirSync(findings, { recursive: true });
  const file = join(findings, `${c.id}-${cls}${c.ext}`);
  writeFileSync(file, c.bytes);
  const out = join(findings, `${c.id}-out.o`);
  const replay = argv.map((a) => (a === casePath ? file : a === outPath ? out : a));
  const note = {
    target: c.target,
    class: cls,
    why,
    mutation: c.desc,
    variant: c.variant,
    reproduce: ['node', CLI, ...replay],
    preExistingOutput: c.variant.preExisting ? PRE_EXISTING.toString() : undefined,
    status: r.status,
    signal: r.signal,
    ms: r.ms,
    stderr: r.stderr.slice(0, 8000),
    stdout: r.stdout.slice(0, 2000),
  };
  writeFileSync(`${file}.json`, `${JSON.stringify(note, null, 2)}\n`);
  return file;
}

/** The entry of known-open.mjs a bad outcome matches, if any. */
export function knownOpen(c, cls, why, r) {
  return KNOWN_OPEN.find(
    (k) =>
      k.target === c.target &&
      k.cls === cls &&
      (k.why === undefined || k.why.test(why)) &&
      (k.stderr === undefined || k.stderr.test(r.stderr)) &&
      (k.desc === undefined || k.desc.test(c.desc)),
  );
}

/**
 * Count of each class per target, as a text table (classes that never occurred are left out;
 * findings listed in known-open.mjs are counted apart, as `<class> (known open)`).
 */
export function formatTable(results) {
  const targets = TARGETS.filter((t) => results.some((r) => r.case.target === t));
  const label = (r) => (r.known ? `${r.cls} (known open)` : r.cls);
  const used = CLASSES.flatMap((cls) => [cls, `${cls} (known open)`]).filter((l) => results.some((r) => label(r) === l));
  const count = (t, l) => results.filter((r) => r.case.target === t && (l === undefined || label(r) === l)).length;
  const rows = [['class', ...targets, 'total']];
  for (const l of used) rows.push([l, ...targets.map((t) => String(count(t, l))), String(results.filter((r) => label(r) === l).length)]);
  rows.push(['all', ...targets.map((t) => String(count(t))), String(results.length)]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')).join('\n');
}

/** A fresh work directory for a run. */
export function makeWork(prefix = 'bpf-linker-fuzz-') {
  const dir = join(tmpdir(), `${prefix}${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}
