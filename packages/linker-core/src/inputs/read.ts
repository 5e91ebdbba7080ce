/**
 * readInputs: files (or in-memory inputs) → the modules to link, in order. This is bpf-linker's
 * input handling (behaviour reference §4): content detection, every archive member in order, the
 * first `.llvmbc` section of ELF objects, and the same skips (rustc's `symbols.o`, `lib.rmeta*`,
 * Mach-O). Unlike bpf-linker, damaged inputs are reported here, by file and member, instead of
 * as a vague "failure linking module" once LLVM trips over them.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { BitcodeFormatError, inspectBitcode, isBitcode } from '../bitcode/producer';
import { describeOrigin, LinkError, type LinkErrorCode } from '../errors';
import type { Logger } from '../log';
import type { LinkInput } from '../options';
import { ArchiveFormatError, readArchiveMembers } from './archive';
import { detectInputKind, type InputKind } from './detect';
import { ElfFormatError, readElf } from './elf';
import type { InputOrigin, InputUnit, ReadInputsResult } from './types';

const INVALID_INPUT_HINT =
  'pass LLVM bitcode (clang -emit-llvm -c or -flto -c, rustc *.rcgu.o), LLVM IR text (.ll), ' +
  'an ELF object with a .llvmbc section, or an ar archive of these';
const DAMAGED_HINT = 'the file is truncated or damaged: rebuild it';

export function readInputs(inputs: LinkInput[], logger: Logger): ReadInputsResult {
  const result: ReadInputsResult = { units: [], skipped: [] };
  for (const input of inputs) {
    const { file, bytes } = typeof input === 'string' ? { file: input, bytes: readInputFile(input) } : inMemory(input);
    readTopLevel(file, bytes, result, logger);
  }
  return result;
}

function inMemory(input: { name: string; bytes: Uint8Array }): { file: string; bytes: Uint8Array } {
  return { file: `in_memory::${input.name}`, bytes: input.bytes };
}

function readInputFile(path: string): Uint8Array {
  try {
    const buffer = readFileSync(path);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const where = isAbsolute(path) ? '' : ` (relative paths are resolved against ${process.cwd()})`;
      throw new LinkError('INPUT_NOT_FOUND', `${path}: no such file`, {
        file: path,
        hint: `check the path${where}`,
        cause: e,
      });
    }
    if (code === 'EISDIR') {
      throw new LinkError('INPUT_UNREADABLE', `${path}: is a directory, not an input file`, {
        file: path,
        hint: 'pass the files inside it (objects, bitcode or archives)',
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

function readTopLevel(file: string, bytes: Uint8Array, out: ReadInputsResult, logger: Logger): void {
  if (bytes.length === 0) {
    throw new LinkError('INVALID_INPUT', `${file}: invalid input file: empty file`, {
      file,
      hint: 'the file has no contents; check that the step producing it finished',
    });
  }
  const kind = detectInputKind(bytes);
  if (kind === 'archive') return readArchive(file, bytes, out, logger);
  if (kind === 'unknown') {
    throw new LinkError(
      'INVALID_INPUT',
      `${file}: invalid input file: not LLVM bitcode, LLVM IR, an ELF object with .llvmbc or an ar archive`,
      { file, hint: INVALID_INPUT_HINT },
    );
  }
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
