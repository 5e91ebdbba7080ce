/** What a link writes besides the object: the `--report` JSON and the `--timings` table. */
import { writeFileAtomically, type LinkResult, type StageName, type StageTimings } from '@bpf-linker/core';

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
