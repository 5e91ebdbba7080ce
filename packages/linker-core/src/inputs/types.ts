/** Plain data passed from the input readers to the pipeline. */

/** Where a unit came from: a path (or `in_memory::<name>`) and, for archives, the member. */
export interface InputOrigin {
  file: string;
  member?: string;
}

export type UnitKind = 'bitcode' | 'ir-text';

/** One module to link: bitcode (raw or wrapped) or LLVM IR text. */
export interface InputUnit {
  origin: InputOrigin;
  kind: UnitKind;
  /** Bitcode bytes (raw `BC C0 DE` or the wrapper) or IR text bytes. */
  bytes: Uint8Array;
  /** The producer string of the bitcode's IDENTIFICATION block, e.g. `LLVM22.1.8`; absent for IR text or old bitcode. */
  producer?: string;
}

/** Something we read and deliberately did not link (ELF without .llvmbc, lib.rmeta, Mach-O). */
export interface SkippedInput {
  origin: InputOrigin;
  reason: string;
}

export interface ReadInputsResult {
  units: InputUnit[];
  skipped: SkippedInput[];
}
