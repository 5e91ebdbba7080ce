/** Wall time per stage, for --timings, logs and the benchmark. */
/** The stages in pipeline order (the order timings are filled in may differ). */
export const STAGE_NAMES = ['read', 'select', 'choose-llvm', 'link', 'debug-info', 'internalize', 'core', 'optimize', 'codegen', 'write'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

export type StageTimings = Partial<Record<StageName, number>>;

export class StageTimer {
  readonly timings: StageTimings = {};

  run<T>(stage: StageName, fn: () => T): T {
    const start = process.hrtime.bigint();
    try {
      return fn();
    } finally {
      this.timings[stage] = (this.timings[stage] ?? 0) + Number(process.hrtime.bigint() - start) / 1e6;
    }
  }
}
