/**
 * readInputs: files (or in-memory inputs) → the modules to link, in order. This is bpf-linker's
 * input handling (behaviour reference §4): content detection, every archive member in order, the
 * first `.llvmbc` section of ELF objects, and the same skips (rustc's `symbols.o`, `lib.rmeta*`,
 * Mach-O). Unlike bpf-linker, damaged inputs are reported here, by file and member, instead of
 * as a vague "failure linking module" once LLVM trips over them.
 */
import { isAbsolute } from 'node:path';
import { BitcodeFormatError, inspectBitcode, isBitcode } from '../bitcode/producer';
import { describeOrigin, LinkError, type LinkErrorCode } from '../errors';
import type { Logger } from '../log';
import { DEFAULT_MAX_INPUT_SIZE, type LinkInput } from '../options';
import { ArchiveFormatError, readArchiveMembers } from './archive';
import { detectInputKind, type InputKind } from './detect';
import { ElfFormatError, readElf } from './elf';
import { readRegularFile } from './file';
import type { InputOrigin, InputUnit, ReadInputsResult } from './types';

const INVALID_INPUT_HINT =
  'pass LLVM bitcode (clang -emit-llvm -c or -flto -c, rustc *.rcgu.o), LLVM IR text (.ll), ' +
  'an ELF object with a .llvmbc section, or an ar archive of these';
const DAMAGED_HINT = 'the file is truncated or damaged: rebuild it';

export interface ReadInputsOptions {
  /** Largest input file accepted, in bytes; default DEFAULT_MAX_INPUT_SIZE. */
  maxInputSize?: number;
}

export function readInputs(inputs: LinkInput[], logger: Logger, options: ReadInputsOptions = {}): ReadInputsResult {
  const result: ReadInputsResult = { units: [], skipped: [] };
  const maxBytes = options.maxInputSize ?? DEFAULT_MAX_INPUT_SIZE;
  for (const input of inputs) {
    const { file, bytes } = typeof input === 'string' ? { file: input, bytes: readInputFile(input, maxBytes) } : inMemory(input);
    readTopLevel(file, bytes, result, logger);
  }
  return result;
}

function inMemory(input: { name: string; bytes: Uint8Array }): { file: string; bytes: Uint8Array } {
  return { file: `in_memory::${input.name}`, bytes: input.bytes };
}

/**
 * A regular file of at most maxBytes whose first bytes look like an input; anything else is
 * refused before the rest is read (a FIFO, a device, a 1 GiB file, a large file of another kind).
 */
function readInputFile(path: string, maxBytes: number): Uint8Array {
  try {
    return readRegularFile(path, {
      maxBytes,
      noun: 'an input file',
      notRegularHint: 'inputs are read as regular files: save the data to a file and pass that',
      tooLargeHint: 'if it really is an input, raise the limit with --max-input-size=<BYTES> (K, M and G suffixes: --max-input-size=2G)',
      checkHeader: (header, size) => {
        if (size === 0) return; // refused as empty below, like an in-memory input
        // IR text may begin with whitespace: decide from the whole file if the header is all of it.
        if (detectInputKind(header) === 'unknown' && !(size > header.length && header.every(isAsciiWhitespace))) throw unknownInput(path);
      },
    });
  } catch (e) {
    if (e instanceof LinkError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const where = isAbsolute(path) ? '' : ` (relative paths are resolved against ${process.cwd()})`;
      throw new LinkError('INPUT_NOT_FOUND', `${path}: no such file`, {
        file: path,
        hint: `check the path${where}`,
        cause: e,
      });
    }
    throw new LinkError('INPUT_UNREADABLE', `${path}: cannot read: ${(e as Error).message}`, {
      file: path,
      hint: 'check the permissions of the file',
      cause: e,
    });
  }
}

/** Space, \t, \n, \v, \f, \r. */
const isAsciiWhitespace = (b: number) => b === 0x20 || (b >= 0x09 && b <= 0x0d);

function unknownInput(file: string): LinkError {
  return new LinkError(
    'INVALID_INPUT',
    `${file}: invalid input file: not LLVM bitcode, LLVM IR, an ELF object with .llvmbc or an ar archive`,
    { file, hint: INVALID_INPUT_HINT },
  );
}

function readTopLevel(file: string, bytes: Uint8Array, out: ReadInputsResult, logger: Logger): void {
  if (bytes.length === 0) {
    throw new LinkError('INVALID_INPUT', `${file}: invalid input file: empty file`, {
      file,
      hint: 'the file has no contents; check that the step producing it finished',
    });
  }
  const kind = detectInputKind(bytes);
  if (kind === 'archive') return readArchive(file, bytes, out, logger);
  if (kind === 'unknown') throw unknownInput(file);
  readModuleInput({ file }, kind, bytes, out, logger);
}

/** Archives are read at the top level only; members use the same rules as files. */
function readArchive(file: string, bytes: Uint8Array, out: ReadInputsResult, logger: Logger): void {
  let members;
  try {
    members = readArchiveMembers(bytes);
  } catch (e) {
    if (!(e instanceof ArchiveFormatError)) throw e;
    if (e.unsupported) throw new LinkError('INVALID_INPUT', `${file}: ${e.message}`, { file, cause: e });
    throw new LinkError('CORRUPT_INPUT', `${file}: corrupt ar archive: ${e.message}`, { file, hint: DAMAGED_HINT, cause: e });
  }
  for (const member of members) {
    const origin = { file, member: member.name };
    // rustc's metadata (an ELF on Linux, a Mach-O on macOS); never code, so skip it by name.
    if (member.name.startsWith('lib.rmeta')) {
      skip(out, logger, 'info', origin, 'rustc metadata (lib.rmeta), not code');
      continue;
    }
    const kind = member.bytes.length === 0 ? 'unknown' : detectInputKind(member.bytes);
    if (kind === 'archive') {
      throw new LinkError('INVALID_INPUT', `${describeOrigin(file, member.name)}: invalid input: an archive inside an archive`, {
        ...origin,
        hint: 'extract the inner archive and pass it as an input of its own',
      });
    }
    if (kind === 'unknown') {
      skip(out, logger, 'info', origin, 'not LLVM bitcode, LLVM IR or an ELF object');
      continue;
    }
    readModuleInput(origin, kind, member.bytes, out, logger);
  }
}

function readModuleInput(
  origin: InputOrigin,
  kind: Exclude<InputKind, 'archive' | 'unknown'>,
  bytes: Uint8Array,
  out: ReadInputsResult,
  logger: Logger,
): void {
  let unit: InputUnit | undefined;
  switch (kind) {
    case 'bitcode':
      unit = bitcodeUnit(origin, bytes, 'LLVM bitcode');
      break;
    case 'ir-text':
      // Parsed by LLVM later; there is nothing cheaper to check first.
      unit = { origin, kind: 'ir-text', bytes };
      break;
    case 'elf':
      unit = embeddedBitcodeUnit(origin, bytes, out, logger);
      break;
    case 'macho':
      // macOS rlibs carry a Mach-O lib.rmeta; bpf-linker skips Mach-O quietly.
      skip(out, logger, 'info', origin, 'Mach-O object');
      break;
  }
  if (!unit) return;
  logger.debug(`${where(origin)}: ${unit.kind}${unit.producer ? ` (producer ${unit.producer})` : ''}`);
  out.units.push(unit);
}

function bitcodeUnit(origin: InputOrigin, bytes: Uint8Array, what: string): InputUnit {
  let producer: string | undefined;
  try {
    producer = inspectBitcode(bytes).producer;
  } catch (e) {
    if (!(e instanceof BitcodeFormatError)) throw e;
    throw inputError('CORRUPT_INPUT', origin, `corrupt ${what}: ${e.message}`, DAMAGED_HINT, e);
  }
  return producer === undefined ? { origin, kind: 'bitcode', bytes } : { origin, kind: 'bitcode', bytes, producer };
}

/** The first section named exactly `.llvmbc`, as bpf-linker takes it. */
function embeddedBitcodeUnit(origin: InputOrigin, bytes: Uint8Array, out: ReadInputsResult, logger: Logger): InputUnit | undefined {
  let section: Uint8Array | undefined;
  let definesNothing = false;
  try {
    const elf = readElf(bytes);
    const header = elf.section('.llvmbc');
    section = header && elf.sectionData(header);
    definesNothing = !section && elf.symbols().every((s) => s.sectionIndex === 0);
  } catch (e) {
    if (!(e instanceof ElfFormatError)) throw e;
    throw inputError('CORRUPT_INPUT', origin, `corrupt ELF object: ${e.message}`, DAMAGED_HINT, e);
  }
  if (!section) {
    // rustc passes symbols.o (undefined symbols only) to every link: expected, so not a warning
    // (rustc shows a linker's stderr as a warning on every build).
    if (definesNothing) skip(out, logger, 'info', origin, "ELF object that defines no symbols (rustc's symbols.o)");
    else skip(out, logger, 'warn', origin, "ELF object without a .llvmbc section (e.g. rustc's symbols.o)");
    return undefined;
  }
  if (section.length === 0) {
    throw inputError(
      'NO_BITCODE',
      origin,
      'the .llvmbc section of this ELF object is empty (built with -fembed-bitcode=marker?)',
      'rebuild with -fembed-bitcode=all, or pass the bitcode itself (clang -emit-llvm -c or -flto -c)',
    );
  }
  if (!isBitcode(section)) {
    throw inputError('CORRUPT_INPUT', origin, 'the .llvmbc section of this ELF object does not hold LLVM bitcode', DAMAGED_HINT);
  }
  return bitcodeUnit(origin, section, 'LLVM bitcode in the .llvmbc section');
}

function where(origin: InputOrigin): string {
  return describeOrigin(origin.file, origin.member);
}

function inputError(code: LinkErrorCode, origin: InputOrigin, problem: string, hint: string, cause?: unknown): LinkError {
  return new LinkError(code, `${where(origin)}: ${problem}`, { file: origin.file, member: origin.member, hint, cause });
}

function skip(out: ReadInputsResult, logger: Logger, level: 'warn' | 'info', origin: InputOrigin, reason: string): void {
  logger[level](`${where(origin)}: ${reason}: skipped`);
  out.skipped.push({ origin, reason });
}
