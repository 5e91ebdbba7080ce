export { readInputs, type ReadInputsOptions } from './read';
export { describeFileType, formatByteSize, HEADER_BYTES, readRegularFile, type RegularFileReadOptions } from './file';
export { detectInputKind, isIrText, isMachO, type InputKind } from './detect';
export {
  ARCHIVE_MAGIC,
  ArchiveFormatError,
  isArchive,
  isThinArchive,
  readArchiveMembers,
  THIN_ARCHIVE_MAGIC,
  type ArchiveMember,
} from './archive';
export * from './elf';
export type * from './types';
