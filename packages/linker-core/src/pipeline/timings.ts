/** Wall time per stage, for --timings, logs and the benchmark. */
export type StageName = 'read' | 'select' | 'choose-llvm' | 'link' | 'debug-info' | 'internalize' | 'optimize' | 'partition' | 'codegen' | 'merge' | 'write';

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
