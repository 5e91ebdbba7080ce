/**
 * verifyObject: loads every program of a BPF object into the running kernel's verifier through
 * libbpf and reports a verdict per program. Nothing stays loaded or pinned: every libbpf object
 * is closed before returning, and map pinning is switched off before loading.
 *
 * libbpf's bpf_object__load stops at the first program the kernel rejects, so a verdict for
 * every program needs more than one load:
 *   1. all programs together, with BPF_LOG_STATS logs; when that succeeds (the common case)
 *      every program is accepted and one load was enough;
 *   2. otherwise each program that did not load is loaded again alone (the others switched off
 *      with bpf_program__set_autoload), so one rejection cannot hide another program's verdict;
 *   3. a rejected program is loaded alone once more at log level 1, for the verifier's
 *      instruction trace (with source lines from BTF) that ends with the reason.
 *
 * A program that fails is either rejected (the verifier, or libbpf, found something wrong with
 * it) or refused: the kernel would not take it here at all, whatever its code (not permitted,
 * not supported, its attach target missing), so it was not verified. Only when every program is
 * refused for lack of permission does the whole object fail with BPF_NOT_PERMITTED.
 */
import { crashStep, startCrashGuard } from '../crash-guard';
import { constants, release } from 'node:os';
import { LinkError } from '../errors';
import {
  LogBuffer,
  lastErrno,
  libbpfStrerror,
  loadLibbpf,
  mapsOf,
  openObjectFromMemory,
  programTypeName,
  programsOf,
  withLibbpfMessages,
  type BpfProgramRef,
  type Libbpf,
  type LibbpfMessage,
} from './libbpf';
import { parseVerifierStats, rejectionReason, type VerifierStats } from './verifier-log';

export interface VerifyOptions {
  /** The object name libbpf uses in messages and for its internal maps (`<name>.rodata`). */
  objectName?: string;
  /** The object's file, as messages name it (a crash inside libbpf names this, else objectName). */
  file?: string;
  /**
   * 0 (default): statistics for accepted programs, the level-1 log for rejected ones.
   * 1 or 2: that log level for every program. Level 1 keeps only the path that failed (an
   * accepted program's log is nearly empty); level 2 has every instruction with register states.
   */
  logLevel?: 0 | 1 | 2;
  /** First size of each program's log buffer in bytes; it doubles on ENOSPC up to maxLogSize. */
  logSize?: number;
  /** Largest log buffer; beyond it the log keeps its tail and logTruncated is set. [256 MiB] */
  maxLogSize?: number;
  /** libbpf shared object to use instead of the system's libbpf.so.1. */
  libbpfPath?: string;
  /** Keep libbpf's debug-level messages (ELF parsing, relocations) in the result. */
  libbpfDebug?: boolean;
}

export interface ProgramVerdict {
  /** Function name of the program. */
  name: string;
  /** ELF section, which gives libbpf the program type (`xdp`, `kprobe/do_nanosleep`). */
  section: string;
  /** Program type as libbpf names it (`xdp`, `kprobe`, …). */
  type: string;
  accepted: boolean;
  /** Instructions submitted (subprograms appended, `lddw` counted twice). */
  insnCount: number;
  /** errno of the failed load (EACCES for a verifier rejection, EINVAL for a bad program type, …). */
  errno?: number;
  /** Its symbolic name: `EACCES`, `EINVAL`, … */
  code?: string;
  /** `Permission denied`, … for a failed load. */
  error?: string;
  /** One-paragraph reason for a failed load: the verifier's message, else libbpf's, else `error`. */
  reason?: string;
  /** Set when the kernel refused the program instead of the verifier rejecting it: not verified. */
  refused?: ProgramRefusal;
  /** The verifier's log: statistics for accepted programs, the level-1 log for rejected ones. */
  log: string;
  /** The log did not fit in maxLogSize; `log` holds its tail. */
  logTruncated?: boolean;
  stats?: VerifierStats;
  /** libbpf's warnings (and info) from loading this program alone; empty when it loaded with the rest. */
  messages: LibbpfMessage[];
}

/**
 * Why the kernel would not load a program, whatever its code: not permitted here (EPERM), not
 * supported by this kernel (ENOTSUPP, EOPNOTSUPP), or something it attaches to or needs is not
 * in this kernel (ENOENT, ESRCH: an `fentry/` target, a kernel function).
 */
export interface ProgramRefusal {
  errno: number;
  /** `EPERM`, `ENOTSUPP`, `EOPNOTSUPP`, `ENOENT`, `ESRCH` */
  code: string;
  /** What the errno means for this program, in a few words; the verdict's `reason` has the kernel's or libbpf's own words. */
  reason: string;
}

export interface VerifyResult {
  objectName: string;
  /** Every program was accepted (none rejected, none refused). */
  accepted: boolean;
  programs: ProgramVerdict[];
  /** libbpf's messages from the load of the whole object. */
  messages: LibbpfMessage[];
  /** How many times the object was loaded (1 when every program is accepted together). */
  loads: number;
  libbpf: { path: string; version: string };
  /** `uname -r` of the kernel that verified. */
  kernel: string;
}

const { EPERM, ENOSPC, ENOENT, ESRCH, EOPNOTSUPP } = constants.errno;
/** The kernel's internal "not supported" (include/linux/errno.h), which reaches user space as is; libc has no name for it. */
const ENOTSUPP = 524;
const ERRNO_NAMES = new Map<number, string>([...Object.entries(constants.errno).map(([name, n]): [number, string] => [n, name]), [ENOTSUPP, 'ENOTSUPP']]);

/** errnos of a load the kernel refused whatever the program's code, and what each means for it. */
const REFUSALS = new Map<number, string>([
  [EPERM, 'not permitted to load this program here (CAP_NET_ADMIN for networking and CAP_PERFMON for tracing programs, or lockdown or an LSM forbids it)'],
  [ENOTSUPP, 'not supported by this kernel'],
  [EOPNOTSUPP, 'not supported by this kernel'],
  [ENOENT, 'its attach target (or a kernel symbol it needs) is not in this kernel'],
  [ESRCH, 'its attach target (or a kernel symbol it needs) is not in this kernel'],
]);
/** libbpf's closing lines for any failed load, which say nothing about why. */
const GENERIC_FAILURE = /failed to (load( object)?|prepare load attributes)\b/;
/** BPF_LOG_LEVEL1, BPF_LOG_LEVEL2, BPF_LOG_STATS */
const LOG_LEVEL1 = 1;
const LOG_STATS = 4;
const DEFAULT_LOG_SIZE = 1 << 20;
const DEFAULT_MAX_LOG_SIZE = 256 << 20;

/** What one load did to one of the programs switched on. */
interface ProgramLoad {
  loaded: boolean;
  log: string;
  truncated: boolean;
  insnCount: number;
  type: string;
  section: string;
}

/** Outcome of one load: libbpf's status and messages, and each program switched on, by name. */
interface LoadOutcome {
  status: number;
  messages: LibbpfMessage[];
  programs: Map<string, ProgramLoad>;
}

export function verifyObject(bytes: Uint8Array, options: VerifyOptions = {}): VerifyResult {
  const lib = loadLibbpf(options.libbpfPath);
  const objectName = options.objectName ?? 'bpf_linker_verify';
  const forced = options.logLevel ?? 0;
  const level = LOG_STATS | forced;
  const loader = new Loader(lib, bytes, objectName, options);

  // libbpf parses the ELF itself: a crash inside it on a corrupt object is reported, naming it.
  startCrashGuard('bpf-linker verify');
  const all = crashStep({ step: 'opening', file: options.file ?? objectName, library: 'libbpf', hint: 'the object is probably corrupt: `bpf-linker inspect` it, or link it again' }, () =>
    loader.load(undefined, level),
  );

  const programs: ProgramVerdict[] = [];
  for (const [name, first] of all.programs) {
    if (first.loaded) {
      programs.push(verdict(lib, name, first, 0, []));
      continue;
    }
    let alone = loader.load(name, level);
    let result = alone.programs.get(name)!;
    const log = { text: result.log, truncated: result.truncated };
    // ENOSPC even from the largest buffer hides the verdict: statistics alone always fit.
    if (result.truncated) {
      alone = loader.load(name, LOG_STATS);
      result = alone.programs.get(name)!;
    }
    // A rejection at BPF_LOG_STATS says what but not where: ask for the instruction trace.
    if (!result.loaded && forced === 0 && result.log !== '') {
      const detailed = loader.load(name, LOG_STATS | LOG_LEVEL1).programs.get(name)!;
      if (!detailed.loaded) Object.assign(log, { text: detailed.log, truncated: detailed.truncated });
    }
    const status = result.loaded ? 0 : alone.status;
    programs.push(verdict(lib, name, { ...result, log: log.text, truncated: log.truncated }, status, alone.messages.filter((m) => m.level !== 'debug')));
  }
  // One program refused with EPERM is that program's verdict (a tracing program without
  // CAP_PERFMON); only when no program at all may be loaded is the whole object refused.
  if (all.status === -EPERM && programs.every(lacksPermission)) throw notPermitted();

  return {
    objectName,
    accepted: programs.every((p) => p.accepted),
    programs,
    messages: all.messages,
    loads: loader.loads,
    libbpf: { path: lib.path, version: lib.version },
    kernel: release(),
  };
}

function verdict(lib: Libbpf, name: string, r: ProgramLoad, status: number, messages: LibbpfMessage[]): ProgramVerdict {
  const v: ProgramVerdict = {
    name,
    section: r.section,
    type: r.type,
    accepted: r.loaded,
    insnCount: r.insnCount,
    log: r.log,
    messages,
  };
  if (r.truncated) v.logTruncated = true;
  const stats = parseVerifierStats(r.log);
  if (stats) v.stats = stats;
  if (!r.loaded) {
    const errno = Math.abs(status);
    v.errno = errno;
    v.code = ERRNO_NAMES.get(errno);
    v.error = errno === ENOTSUPP ? 'Operation not supported' : libbpfStrerror(lib, errno);
    const warnings = messages.filter((m) => m.level === 'warn' && !GENERIC_FAILURE.test(m.text));
    v.reason = rejectionReason(r.log) || warnings.map((m) => m.text).join('\n') || v.error;
    const refusal = REFUSALS.get(errno);
    if (refusal !== undefined) v.refused = { errno, code: v.code ?? `errno ${errno}`, reason: refusal };
  }
  return v;
}

/** Refused with EPERM before the verifier said anything: what every program gets without the right to bpf(). */
function lacksPermission(p: ProgramVerdict): boolean {
  return p.refused?.errno === EPERM && p.log === '';
}

/** Opens the object afresh for every load, so each load starts from libbpf's clean state. */
class Loader {
  loads = 0;

  constructor(
    private readonly lib: Libbpf,
    private readonly bytes: Uint8Array,
    private readonly objectName: string,
    private readonly options: VerifyOptions,
  ) {}

  /** Loads `only` (a program name) or every program, each with its own log buffer at `level`. */
  load(only: string | undefined, level: number): LoadOutcome {
    let size = this.options.logSize ?? DEFAULT_LOG_SIZE;
    const max = Math.max(size, this.options.maxLogSize ?? DEFAULT_MAX_LOG_SIZE);
    for (;;) {
      const outcome = this.loadOnce(only, level, size);
      // The kernel fails a load whose log did not fit (even an accepted one): grow and retry.
      if (outcome.status !== -ENOSPC || size >= max) return outcome;
      size = Math.min(size * 2, max);
    }
  }

  private loadOnce(only: string | undefined, level: number, logSize: number): LoadOutcome {
    const { lib } = this;
    const { api } = lib;
    const messages: LibbpfMessage[] = [];
    const keep = (m: LibbpfMessage) => {
      if (m.level !== 'debug' || this.options.libbpfDebug) messages.push(m);
    };
    this.loads++;
    return withLibbpfMessages(lib, keep, () => {
      const obj = openObjectFromMemory(lib, this.bytes, this.objectName);
      if (obj === null) throw cannotOpen(lib, lastErrno(), messages);
      const buffers: LogBuffer[] = [];
      try {
        // Maps with `pinning = LIBBPF_PIN_BY_NAME` would otherwise be pinned under /sys/fs/bpf.
        for (const map of mapsOf(lib, obj)) api.bpf_map__set_pin_path(map, null);
        const selected: [string, BpfProgramRef, LogBuffer][] = [];
        for (const prog of programsOf(lib, obj)) {
          const name = api.bpf_program__name(prog);
          const on = only === undefined || name === only;
          // Also switches on `SEC("?…")` programs, which libbpf does not load by default.
          api.bpf_program__set_autoload(prog, on);
          if (!on) continue;
          const buffer = new LogBuffer(logSize);
          buffers.push(buffer);
          api.bpf_program__set_log_buf(prog, buffer.ref, logSize);
          api.bpf_program__set_log_level(prog, level);
          selected.push([name, prog, buffer]);
        }
        const status = selected.length === 0 ? 0 : api.bpf_object__load(obj);
        const programs: LoadOutcome['programs'] = new Map();
        for (const [name, prog, buffer] of selected) {
          const log = buffer.read();
          programs.set(name, {
            loaded: api.bpf_program__fd(prog) >= 0,
            log,
            // ENOSPC comes from the program libbpf was loading when it stopped: the one with a log.
            truncated: status === -ENOSPC && api.bpf_program__fd(prog) < 0 && log !== '',
            insnCount: api.bpf_program__insn_cnt(prog),
            type: programTypeName(lib, api.bpf_program__type(prog)),
            section: api.bpf_program__section_name(prog),
          });
        }
        return { status, messages, programs };
      } finally {
        api.bpf_object__close(obj); // unloads the programs and frees the maps
        for (const b of buffers) b.dispose();
      }
    });
  }
}

function notPermitted(): LinkError {
  const uid = process.getuid?.();
  const who = uid === undefined ? '' : uid === 0 ? ' (running as root, so something else forbids it: a container, seccomp or an LSM)' : ` (running as uid ${uid}, not root)`;
  return new LinkError('BPF_NOT_PERMITTED', `the kernel refused to load BPF programs: bpf() failed with EPERM${who}`, {
    hint:
      uid === 0
        ? 'loading needs CAP_BPF (plus CAP_PERFMON for tracing and CAP_NET_ADMIN for networking programs) and bpf() allowed by seccomp/LSM; run a container privileged'
        : 'verifying loads programs into the kernel, which needs root or CAP_BPF (plus CAP_PERFMON for tracing, CAP_NET_ADMIN for networking programs): run it with sudo; most systems disable unprivileged bpf() (sysctl kernel.unprivileged_bpf_disabled)',
  });
}

function cannotOpen(lib: Libbpf, errno: number, messages: LibbpfMessage[]): LinkError {
  const why = messages.filter((m) => m.level === 'warn').map((m) => m.text);
  // An extern with no definition and no BTF: a symbol no input defined (linked with --allow-undefined, or by another linker).
  const extern = why.map((w) => /failed to find BTF for extern '([^']+)'/.exec(w)?.[1]).find((n) => n !== undefined);
  return new LinkError('INVALID_INPUT', `libbpf cannot open the object: ${libbpfStrerror(lib, errno)}${why.length ? `\n  ${why.join('\n  ')}` : ''}`, {
    hint:
      extern !== undefined
        ? `'${extern}' is used but defined nowhere in the object: link it with the object or archive that defines it (bpf-linker reports undefined symbols unless --allow-undefined), or declare it __ksym if the kernel provides it`
        : 'verify takes a BPF ELF object (bpf-linker --emit obj output, or clang -target bpf -c)',
  });
}
