/**
 * Stage: merge the partitions' objects into one with libbpf's static linker (what `bpftool gen
 * object` runs): .BTF deduplicated, .BTF.ext func/line info and CO-RE relocations carried over,
 * externs resolved to their definitions. The linker reads and writes files, so the objects go
 * through a private temporary directory, removed whatever happens.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linkObjectFiles, loadLibbpf } from '../verify/libbpf';

/**
 * The merge failed: something in the objects that libbpf's linker does not take (an undefined
 * symbol named only by inline assembly has no BTF, say). The link then generates one module.
 */
export class MergeError extends Error {}

/** Merges in the order given: the data partition (definitions of the externs) first. */
export function mergeObjects(objects: readonly Uint8Array[]): Uint8Array {
  const libbpf = loadLibbpf();
  const dir = mkdtempSync(join(tmpdir(), 'bpf-linker-merge-'));
  try {
    const files = objects.map((o, i) => {
      const file = join(dir, `partition-${i}.o`);
      writeFileSync(file, o);
      return file;
    });
    const out = join(dir, 'merged.o');
    try {
      linkObjectFiles(libbpf, files, out);
    } catch (e) {
      throw new MergeError(`libbpf ${libbpf.version}'s linker: ${(e as Error).message}`, { cause: e });
    }
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether libbpf's static linker can be loaded here (auto partitioning needs it). */
export function canMergeObjects(): boolean {
  try {
    return loadLibbpf().api.bpf_linker__new !== undefined;
  } catch {
    return false;
  }
}
