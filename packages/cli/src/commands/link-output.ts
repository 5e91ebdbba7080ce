/**
 * The files of a link besides its inputs and the object: the `--export-symbols` list it reads,
 * the `--log-file` it appends to, the `--report` JSON, and the `--timings` table.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  DEFAULT_MAX_INPUT_SIZE,
  LinkError,
  readRegularFile,
  writeFileAtomically,
  type LinkResult,
  type Partitioning,
  type RunFile,
  type RunFiles,
  type RunOutput,
  STAGE_NAMES,
  type StageTimings,
} from '@bpf-linker/core';
import { readExportSymbolsFile, type ParsedCommand } from '../args';

type LinkCommand = Extract<ParsedCommand, { kind: 'link' }>;

/** The files a link command reads and writes besides options.inputs, options.output and --dump-module, for checkOutputs. */
export function commandFiles(command: LinkCommand): RunFiles {
  const inputs: RunFile[] = [];
  const outputs: RunOutput[] = [];
  if (command.exportSymbolsFile !== undefined) inputs.push({ path: command.exportSymbolsFile, role: 'the --export-symbols file' });
  if (command.reportFile !== undefined) outputs.push({ path: command.reportFile, role: 'the --report file' });
  if (command.log.file !== undefined) outputs.push({ path: command.log.file, role: 'the --log-file', inPlace: true });
  return { inputs, outputs };
}

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

const logDirectoriesMade = new Set<string>();

/** `--log-file PATH`: appends one line, creating the file (and its directory) on first use. */
export function appendLogLine(path: string, line: string): void {
  try {
    const dir = dirname(path);
    if (!logDirectoriesMade.has(dir)) {
      mkdirSync(dir, { recursive: true });
      logDirectoriesMade.add(dir);
    }
    appendFileSync(path, line);
  } catch (e) {
    throw new LinkError('OUTPUT_FAILED', `cannot write the --log-file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      file: path,
      hint: 'choose a log file in a writable directory',
      cause: e,
    });
  }
}


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

/**
 * `--timings` of a partitioned link, a second line: `partitions (ms): 9 on 2 threads: p0 120.3 (4 functions), …`
 * (each partition's code generation in its worker; `codegen` above is their wall time together).
 * Split before optimization, each partition's optimization comes first:
 * `partitions (ms): 8 on 2 threads, optimized apart: p0 95.1+180.2 (525 functions), …`.
 */
export function formatPartitionTimings(p: Partitioning): string {
  const parts = p.partitions.map((x) => `p${x.index} ${x.optimizeMs !== undefined ? `${x.optimizeMs.toFixed(1)}+` : ''}${x.codegenMs.toFixed(1)} (${x.functions} functions)`);
  const apart = p.optimizedInPartitions ? ', optimized apart' : '';
  return `partitions (ms): ${p.partitions.length} on ${p.jobs} thread${p.jobs === 1 ? '' : 's'}${apart}: ${parts.join(', ')}\n`;
}

function orderedTimings(timings: StageTimings): Record<string, number> {
  const out: Record<string, number> = {};
  for (const stage of STAGE_NAMES) if (timings[stage] !== undefined) out[stage] = timings[stage]!;
  return out;
}
