/** Writing results: atomically (temporary file, then rename), so a failed link leaves no file. */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { LinkError } from '../errors';

export function writeFileAtomically(path: string, bytes: Uint8Array | string): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new LinkError('OUTPUT_FAILED', `cannot write ${path}: ${(e as Error).message}`, {
      file: path,
      hint: 'check that the output directory exists and is writable',
      cause: e,
    });
  }
}
