/**
 * libbpf through koffi: the declarations `verify` needs, loading the library, and capturing
 * libbpf's own messages. The only module outside llvm/ that imports koffi.
 *
 * Needs libbpf >= 0.7 (per-program log buffers); tested with Debian's libbpf1 (1.1).
 */
import koffi, { type LibraryHandle } from 'koffi';
import { LinkError } from '../errors';

declare const brand: unique symbol;
type Ref<B extends string> = bigint & { readonly [brand]: B };
/** `struct bpf_object *`, `struct bpf_program *`, `struct bpf_map *` (owned by the object). */
export type BpfObjectRef = Ref<'bpf_object'>;
export type BpfProgramRef = Ref<'bpf_program'>;
export type BpfMapRef = Ref<'bpf_map'>;
/** `struct bpf_linker *` */
export type BpfLinkerRef = Ref<'bpf_linker'>;
/** Memory from koffi.alloc: a stable address the kernel can write a log into after the call returns. */
type NativeBuffer = Ref<'buffer'>;

/** `enum libbpf_print_level` */
export const LibbpfPrintLevel = { Warn: 0, Info: 1, Debug: 2 } as const;

/** `struct bpf_object_open_opts` (libbpf.h); `sz` tells libbpf how much of it we know. */
const OpenOpts = koffi.struct('bpf_linker_bpf_object_open_opts', {
  sz: 'size_t',
  object_name: 'const char *',
  relaxed_maps: 'bool',
  pin_root_path: 'const char *',
  removed_attach_prog_fd: 'uint32_t',
  kconfig: 'const char *',
  btf_custom_path: 'const char *',
  kernel_log_buf: 'void *',
  kernel_log_size: 'size_t',
  kernel_log_level: 'uint32_t',
});

/**
 * `libbpf_print_fn_t`: `int (*)(enum libbpf_print_level, const char *fmt, va_list ap)`. The
 * format and the va_list are taken as plain pointers and handed to the C library's vsnprintf
 * untouched: on x86-64 a va_list parameter decays to a pointer, and on arm64 the 32-byte
 * va_list struct is passed by reference, so a pointer is the right ABI on both.
 */
const PrintFnProto = koffi.proto('int bpf_linker_libbpf_print_fn(int level, void *fmt, void *ap)');

interface LibbpfApi {
  libbpf_major_version(): number;
  libbpf_minor_version(): number;
  libbpf_set_strict_mode?(mode: number): number;
  libbpf_set_print(fn: bigint | null): bigint | null;
  libbpf_strerror(err: number, buf: Buffer, size: number): number;
  libbpf_bpf_prog_type_str?(type: number): string | null;
  bpf_object__open_mem(bytes: Uint8Array, size: number, opts: Record<string, unknown>): BpfObjectRef | null;
  bpf_object__load(obj: BpfObjectRef): number;
  bpf_object__close(obj: BpfObjectRef): void;
  bpf_object__next_program(obj: BpfObjectRef, prev: BpfProgramRef | null): BpfProgramRef | null;
  bpf_object__next_map(obj: BpfObjectRef, prev: BpfMapRef | null): BpfMapRef | null;
  bpf_program__name(prog: BpfProgramRef): string;
  bpf_program__section_name(prog: BpfProgramRef): string;
  bpf_program__type(prog: BpfProgramRef): number;
  bpf_program__insn_cnt(prog: BpfProgramRef): number;
  bpf_program__fd(prog: BpfProgramRef): number;
  bpf_program__set_autoload(prog: BpfProgramRef, autoload: boolean): number;
  bpf_program__set_log_level(prog: BpfProgramRef, level: number): number;
  bpf_program__set_log_buf(prog: BpfProgramRef, buf: NativeBuffer, size: number): number;
  bpf_map__name(map: BpfMapRef): string;
  bpf_map__set_pin_path(map: BpfMapRef, path: string | null): number;
  /** libbpf's static linker (0.4+), which `bpftool gen object` runs: merges objects, deduplicating BTF. */
  bpf_linker__new?(path: string, opts: null): BpfLinkerRef | null;
  bpf_linker__add_file?(linker: BpfLinkerRef, path: string, opts: null): number;
  bpf_linker__finalize?(linker: BpfLinkerRef): number;
  bpf_linker__free?(linker: BpfLinkerRef): void;
}

const DECLARATIONS: Record<keyof LibbpfApi, string> = {
  libbpf_major_version: 'uint32_t libbpf_major_version()',
  libbpf_minor_version: 'uint32_t libbpf_minor_version()',
  libbpf_set_strict_mode: 'int libbpf_set_strict_mode(int mode)',
  libbpf_set_print: 'void *libbpf_set_print(void *fn)',
  libbpf_strerror: 'int libbpf_strerror(int err, void *buf, size_t size)',
  libbpf_bpf_prog_type_str: 'const char *libbpf_bpf_prog_type_str(int type)',
  bpf_object__open_mem: 'void *bpf_object__open_mem(const void *buf, size_t sz, const bpf_linker_bpf_object_open_opts *opts)',
  bpf_object__load: 'int bpf_object__load(void *obj)',
  bpf_object__close: 'void bpf_object__close(void *obj)',
  bpf_object__next_program: 'void *bpf_object__next_program(void *obj, void *prev)',
  bpf_object__next_map: 'void *bpf_object__next_map(void *obj, void *prev)',
  bpf_program__name: 'const char *bpf_program__name(void *prog)',
  bpf_program__section_name: 'const char *bpf_program__section_name(void *prog)',
  bpf_program__type: 'int bpf_program__type(void *prog)',
  bpf_program__insn_cnt: 'size_t bpf_program__insn_cnt(void *prog)',
  bpf_program__fd: 'int bpf_program__fd(void *prog)',
  bpf_program__set_autoload: 'int bpf_program__set_autoload(void *prog, bool autoload)',
  bpf_program__set_log_level: 'int bpf_program__set_log_level(void *prog, uint32_t level)',
  bpf_program__set_log_buf: 'int bpf_program__set_log_buf(void *prog, void *buf, size_t size)',
  bpf_map__name: 'const char *bpf_map__name(void *map)',
  bpf_map__set_pin_path: 'int bpf_map__set_pin_path(void *map, const char *path)',
  bpf_linker__new: 'void *bpf_linker__new(const char *filename, void *opts)',
  bpf_linker__add_file: 'int bpf_linker__add_file(void *linker, const char *filename, void *opts)',
  bpf_linker__finalize: 'int bpf_linker__finalize(void *linker)',
  bpf_linker__free: 'void bpf_linker__free(void *linker)',
};

/** Declared only when present: libbpf_bpf_prog_type_str is 1.0+, strict mode is pre-1.0 only, the linker 0.4+. */
const OPTIONAL = new Set<keyof LibbpfApi>([
  'libbpf_bpf_prog_type_str',
  'libbpf_set_strict_mode',
  'bpf_linker__new',
  'bpf_linker__add_file',
  'bpf_linker__finalize',
  'bpf_linker__free',
]);

/** `LIBBPF_STRICT_ALL`: makes libbpf 0.x behave like 1.x (NULL + errno instead of error pointers). */
const LIBBPF_STRICT_ALL = -1;

export interface Libbpf {
  readonly path: string;
  /** `1.1` */
  readonly version: string;
  readonly api: LibbpfApi;
}

/** Names dlopen resolves through the loader's cache, newest ABI first. */
const DEFAULT_NAMES = ['libbpf.so.1', 'libbpf.so.0'];

const loaded = new Map<string, Libbpf>();
type Vsnprintf = (buf: NativeBuffer, size: number, fmt: bigint, ap: bigint) => number;
let vsnprintf: Vsnprintf | undefined;

/** Opens libbpf: `path` when given, else the system's libbpf.so.1 (or .so.0 >= 0.7). */
export function loadLibbpf(path?: string): Libbpf {
  const names = path !== undefined ? [path] : DEFAULT_NAMES;
  const failures: string[] = [];
  for (const name of names) {
    const cached = loaded.get(name);
    if (cached) return cached;
    let handle: LibraryHandle;
    try {
      handle = koffi.load(name);
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message}`);
      continue;
    }
    const lib = declare(name, handle);
    loaded.set(name, lib);
    return lib;
  }
  throw new LinkError('LIBBPF_NOT_FOUND', `cannot load libbpf (${failures.join('; ')})`, {
    file: path,
    hint: 'install libbpf 1.x (Debian/Ubuntu: apt-get install libbpf1) or pass the library file with --libbpf',
  });
}

function declare(name: string, handle: LibraryHandle): Libbpf {
  const api: Partial<Record<keyof LibbpfApi, unknown>> = {};
  for (const [fn, decl] of Object.entries(DECLARATIONS) as [keyof LibbpfApi, string][]) {
    try {
      api[fn] = handle.func(decl);
    } catch (e) {
      if (OPTIONAL.has(fn)) continue;
      throw new LinkError('LIBBPF_NOT_FOUND', `${name} has no ${fn}: libbpf 0.7 or newer is needed`, {
        file: name,
        hint: 'install libbpf 1.x (Debian/Ubuntu: apt-get install libbpf1) or pass a newer one with --libbpf',
        cause: e,
      });
    }
  }
  const functions = api as LibbpfApi;
  const major = functions.libbpf_major_version();
  if (major === 0) functions.libbpf_set_strict_mode?.(LIBBPF_STRICT_ALL);
  return { path: name, version: `${major}.${functions.libbpf_minor_version()}`, api: functions };
}

/** The C library's vsnprintf (resolved in the running process: glibc or musl), which formats libbpf's messages from their va_list. */
function libcVsnprintf(): Vsnprintf {
  vsnprintf ??= koffi.load(null).func('int vsnprintf(void *buf, size_t size, void *fmt, void *ap)') as unknown as Vsnprintf;
  return vsnprintf;
}

/** One line libbpf printed, without the `libbpf: ` prefix and the newline. */
export interface LibbpfMessage {
  level: 'warn' | 'info' | 'debug';
  text: string;
}

const LEVEL_NAMES = ['warn', 'info', 'debug'] as const;
const MESSAGE_BUFFER_SIZE = 64 * 1024;

/**
 * Runs `fn` with libbpf's messages routed into `sink` instead of stderr, then restores the
 * previous print function. libbpf's print hook is process-global; this is not re-entrant.
 */
export function withLibbpfMessages<T>(lib: Libbpf, sink: (m: LibbpfMessage) => void, fn: () => T): T {
  const format = libcVsnprintf();
  const buffer = koffi.alloc('char', MESSAGE_BUFFER_SIZE) as NativeBuffer;
  const callback = koffi.register((level: number, fmt: bigint, ap: bigint): number => {
    try {
      format(buffer, MESSAGE_BUFFER_SIZE, fmt, ap);
      const text = (koffi.decode(buffer, 'char', -1) as string).replace(/^libbpf: /, '').replace(/\n$/, '');
      sink({ level: LEVEL_NAMES[level] ?? 'debug', text });
    } catch {
      // A message we cannot format is dropped; libbpf must never see an exception.
    }
    return 0;
  }, koffi.pointer(PrintFnProto));
  const previous = lib.api.libbpf_set_print(callback);
  try {
    return fn();
  } finally {
    lib.api.libbpf_set_print(previous);
    koffi.unregister(callback);
    koffi.free(buffer);
  }
}

/** A native buffer for a kernel log, starting as the empty string; `read()` decodes the NUL-terminated text. */
export class LogBuffer {
  readonly ref: NativeBuffer;
  private freed = false;

  constructor(readonly size: number) {
    this.ref = koffi.alloc('char', size) as NativeBuffer;
    new Uint8Array(koffi.view(this.ref, 1))[0] = 0;
  }

  read(): string {
    return koffi.decode(this.ref, 'char', -1) as string;
  }

  dispose(): void {
    if (!this.freed) koffi.free(this.ref);
    this.freed = true;
  }
}

/** The errno koffi saved after the last native call (libbpf 1.x sets it on every failure). */
export function lastErrno(): number {
  return koffi.errno();
}

/** libbpf's text for an error code (covers its own LIBBPF_ERRNO__* codes as well as errno). */
export function libbpfStrerror(lib: Libbpf, err: number): string {
  const buf = Buffer.alloc(256);
  lib.api.libbpf_strerror(Math.abs(err), buf, buf.length);
  const end = buf.indexOf(0);
  return buf.subarray(0, end < 0 ? buf.length : end).toString('utf8');
}

export function openObjectFromMemory(lib: Libbpf, bytes: Uint8Array, objectName: string): BpfObjectRef | null {
  return lib.api.bpf_object__open_mem(bytes, bytes.length, { sz: koffi.sizeof(OpenOpts), object_name: objectName });
}

export function* programsOf(lib: Libbpf, obj: BpfObjectRef): Generator<BpfProgramRef> {
  for (let p = lib.api.bpf_object__next_program(obj, null); p !== null; p = lib.api.bpf_object__next_program(obj, p)) yield p;
}

export function* mapsOf(lib: Libbpf, obj: BpfObjectRef): Generator<BpfMapRef> {
  for (let m = lib.api.bpf_object__next_map(obj, null); m !== null; m = lib.api.bpf_object__next_map(obj, m)) yield m;
}

/** `xdp`, `kprobe`, … (libbpf >= 1.0), else the number. */
export function programTypeName(lib: Libbpf, type: number): string {
  return lib.api.libbpf_bpf_prog_type_str?.(type) ?? String(type);
}

/**
 * Merges BPF objects with libbpf's static linker into `output`, in the order given (a definition
 * must come before the objects that refer to it as an extern). Throws with libbpf's messages.
 */
export function linkObjectFiles(lib: Libbpf, files: readonly string[], output: string): void {
  const { api } = lib;
  if (!api.bpf_linker__new || !api.bpf_linker__add_file || !api.bpf_linker__finalize || !api.bpf_linker__free) {
    throw new LinkError('LIBBPF_NOT_FOUND', `${lib.path} (libbpf ${lib.version}) has no static linker (bpf_linker__new): libbpf 0.4 or newer is needed`, {
      hint: 'install libbpf 1.x (Debian/Ubuntu: apt-get install libbpf1), or link without partitions (--partitions off)',
    });
  }
  const messages: string[] = [];
  withLibbpfMessages(lib, (m) => {
    if (m.level === 'warn') messages.push(m.text);
  }, () => {
    const linker = api.bpf_linker__new!(output, null);
    if (linker === null) throw new Error(`bpf_linker__new: ${libbpfStrerror(lib, lastErrno())}`);
    try {
      for (const f of files) {
        const err = api.bpf_linker__add_file!(linker, f, null);
        if (err !== 0) throw new Error(`cannot add ${f}: ${libbpfStrerror(lib, err)}${messages.length ? ` (${messages.join('; ')})` : ''}`);
      }
      const err = api.bpf_linker__finalize!(linker);
      if (err !== 0) throw new Error(`cannot finalize: ${libbpfStrerror(lib, err)}${messages.length ? ` (${messages.join('; ')})` : ''}`);
    } finally {
      api.bpf_linker__free!(linker);
    }
  });
}
