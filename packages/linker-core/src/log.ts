/**
 * A small leveled logger. Stages receive it as a value (no global logger), and adapters decide
 * where lines go (stderr, a log file, Nx's output).
 */
import type { LogLevel } from './options';

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };

export type LogSink = (level: LogLevel, message: string) => void;

export interface Logger {
  readonly level: LogLevel;
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  trace(message: string): void;
  enabled(level: LogLevel): boolean;
}

export function createLogger(level: LogLevel, sink: LogSink): Logger {
  const enabled = (l: LogLevel) => RANK[l] <= RANK[level];
  const at = (l: LogLevel) => (message: string) => {
    if (enabled(l)) sink(l, message);
  };
  return {
    level,
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    trace: at('trace'),
    enabled,
  };
}

/** A logger that drops everything below `error` and sends errors nowhere: for library callers. */
export const silentLogger: Logger = createLogger('error', () => {});

/** Collects lines in memory (tests, reports). */
export function createMemoryLogger(level: LogLevel = 'trace'): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger(level, (l, m) => lines.push(`${l.toUpperCase()} ${m}`));
  return Object.assign(logger, { lines });
}
