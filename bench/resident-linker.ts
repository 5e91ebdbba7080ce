/**
 * Bench helper: one process that links many times with the core's linkSync, as the build runner
 * (runSteps: `bpf-turbo build`, the Nx link executor) links the programs of one build (libLLVM
 * loaded once). Requests on stdin, one JSON line each: { inputs, output }; one JSON line back each:
 * { ok, ms, error? }. bench.mjs bundles this file with esbuild and times each round trip.
 */
import { createInterface } from 'node:readline';
import { defaultLinkOptions, linkSync } from '../packages/linker-core/src/index';

const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
lines.on('line', (line) => {
  const request = JSON.parse(line) as { inputs: string[]; output: string };
  const t0 = process.hrtime.bigint();
  try {
    linkSync(defaultLinkOptions({ inputs: request.inputs, output: request.output, btf: true }));
    process.stdout.write(`${JSON.stringify({ ok: true, ms: Number(process.hrtime.bigint() - t0) / 1e6 })}\n`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: String((e as Error).message).split('\n')[0] })}\n`);
  }
});
