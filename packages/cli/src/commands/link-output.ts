/**
 * The files of a link besides its inputs and the object: the `--export-symbols` list it reads,
 * the `--report` JSON, and the `--timings` table.
 */
import {
  DEFAULT_MAX_INPUT_SIZE,
  LinkError,
  readRegularFile,
  writeFileAtomically,
  type LinkResult,
  type StageName,
  type StageTimings,
} from '@bpf-linker/core';
import { readExportSymbolsFile } from '../args';

/** `--export-symbols PATH`: the symbol names, one per line; a regular file no larger than the input limit. */
export function readExportSymbols(path: string, maxBytes = DEFAULT_MAX_INPUT_SIZE): string[] {
  let bytes: Uint8Array;
  try {
    bytes = readRegularFile(path, {
      maxBytes,
      noun: 'an export symbols file',
      notRegularHint: 'pass a regular text file with one symbol name per line to --export-symbols',
      tooLargeHint: 'pass a text file with one symbol name per line; --max-input-size=<BYTES> raises the limit',
    });
  } catch (e) {
    if (e instanceof LinkError) throw e;
    throw new LinkError('INPUT_NOT_FOUND', `cannot read the export symbols file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      file: path,
      hint: 'pass a text file with one symbol name per line to --export-symbols',
    });
  }
  return readExportSymbolsFile(bytes);
}

/** Stages in pipeline order (the order LinkResult.timings is filled in may differ). */
const STAGES: readonly StageName[] = ['read', 'choose-llvm', 'link', 'debug-info', 'internalize', 'optimize', 'codegen', 'write'];

/** `--report PATH`: the link report, with the output path and the stage times. */
export function writeLinkReport(path: string, result: LinkResult): void {
  if (result.report === undefined) throw new Error('writeLinkReport needs a link run with environment.report');
  const json = { output: result.output, llvm: result.llvm, ...result.report, timings: orderedTimings(result.timings) };
  writeFileAtomically(path, `${JSON.stringify(json, null, 2)}\n`);
}

/**
 * `--timings`: `stage times (ms): read 1.84, choose-llvm 20.48, …, total 30.25` on one line, in
 * the format of the debug log's summary, so one parser (the benchmark's) reads both.
 */
export function formatTimings(timings: StageTimings): string {
  const rows = Object.entries(orderedTimings(timings));
  rows.push(['total', rows.reduce((sum, [, ms]) => sum + ms, 0)]);
  return `stage times (ms): ${rows.map(([name, ms]) => `${name} ${ms.toFixed(2)}`).join(', ')}\n`;
}

function orderedTimings(timings: StageTimings): Record<string, number> {
  const out: Record<string, number> = {};
  for (const stage of STAGES) if (timings[stage] !== undefined) out[stage] = timings[stage]!;
  return out;
}
