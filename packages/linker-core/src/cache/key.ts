/**
 * The cache key of a link: what determines the output bytes, and nothing else. Linker version +
 * LLVM identity + options that affect code generation + the bytes of every input, in link order.
 * Paths (inputs' names, the output, --dump-module) are left out, so the same bitcode linked
 * in another checkout or on another machine with the same toolchain has the same key.
 */
import { createHash } from 'node:crypto';
import { coreBtfDigest, effectiveCoreBtf } from '../btf/core-btf-identity';
import type { LinkOptions } from '../options';
import { LINKER_VERSION } from './version';

export interface LlvmKeyIdentity {
  /** major.minor.patch of the libLLVM used (or predicted). */
  version: string;
  /** rustc's LLVM fork, when that is the library: its rustc version. */
  rustc?: string;
}

export interface LinkKeyInput {
  /** Defaults to this build's linker version. */
  linkerVersion?: string;
  llvm: LlvmKeyIdentity;
  options: LinkOptions;
  /** The bytes of each input, in link order (what options.inputs name). */
  inputs: ReadonlyArray<Uint8Array>;
}

const KEY_FORMAT = 'bpf-linker-link-key-v1';

/**
 * Options that change the output bytes, normalized: no paths, exports as a sorted set, and the
 * CO-RE target BTF by its content (the file --core-btf or --core=auto reads).
 */
export function keyedLinkOptions(options: LinkOptions): Record<string, unknown> {
  // Paths and the input size cap (a limit on reading, not a change to the output) stay out.
  const { inputs: _inputs, output: _output, dumpModule: _dump, sourceRoot: _sourceRoot, libraryPaths: _libs, llvmPath: _llvm, maxInputSize: _max, jobs: _jobs, coreBtf: _btf, exports, ...rest } = options;
  const btf = effectiveCoreBtf(options);
  return { ...rest, exports: [...new Set(exports)].sort(), ...(btf !== undefined && { coreBtfSha256: coreBtfDigest(btf) }) };
}

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Hex SHA-256 over the format tag, the identity, the keyed options and each input's digest. */
export function linkCacheKey(input: LinkKeyInput): string {
  const h = createHash('sha256');
  h.update(`${KEY_FORMAT}\0`);
  h.update(canonicalJson({ linker: input.linkerVersion ?? LINKER_VERSION, llvm: input.llvm, options: keyedLinkOptions(input.options) }));
  for (const bytes of input.inputs) h.update(`\0${bytes.length}:${sha256(bytes)}`);
  return h.digest('hex');
}
