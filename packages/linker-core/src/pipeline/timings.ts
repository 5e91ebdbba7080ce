/** Wall time per stage, for --timings, logs and the benchmark. */
/** The stages in pipeline order (the order timings are filled in may differ). */
export const STAGE_NAMES = ['read', 'select', 'choose-llvm', 'link', 'debug-info', 'internalize', 'core', 'optimize', 'partition', 'codegen', 'merge', 'write'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

export type StageTimings = Partial<Record<StageName, number>>;

export class StageTimer {
  readonly timings: StageTimings = {};

  /** Times `fn` as `stage`; a stage run inside another is subtracted from the outer one. */
  run<T>(stage: StageName, fn: () => T): T {
    const start = process.hrtime.bigint();
    const outer = this.inner;
    this.inner = 0;
    try {
      return fn();
    } finally {
      const total = Number(process.hrtime.bigint() - start) / 1e6;
      this.timings[stage] = (this.timings[stage] ?? 0) + total - this.inner;
      this.inner = outer + total;
    }
  }

  /** Time of stages run inside the current one. */
  private inner = 0;
}
