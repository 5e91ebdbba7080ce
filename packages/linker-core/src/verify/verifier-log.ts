/** Reading the kernel verifier's log: its closing statistics and the reason for a rejection. */

export interface VerifierStats {
  /** Instructions the verifier walked (`processed N insns`), the complexity that hits the limit. */
  processedInsns: number;
  /** The kernel's limit on processed instructions. */
  insnLimit?: number;
  maxStatesPerInsn?: number;
  totalStates?: number;
  peakStates?: number;
  /** Microseconds the verifier spent. */
  verificationTimeUs?: number;
  /** Stack use per frame, as printed: `0+8` is the program's 0 bytes plus a subprogram's 8. */
  stackDepth?: string;
}

const PROCESSED = /^processed (\d+) insns \(limit (\d+)\) max_states_per_insn (\d+) total_states (\d+) peak_states (\d+)/m;
const TIME = /^verification time (\d+) usec$/m;
const STACK = /^stack depth ([\d+]+)$/m;

/** The statistics the kernel appends to every log with BPF_LOG_STATS, when present. */
export function parseVerifierStats(log: string): VerifierStats | undefined {
  const processed = PROCESSED.exec(log);
  if (!processed) return undefined;
  const stats: VerifierStats = {
    processedInsns: Number(processed[1]),
    insnLimit: Number(processed[2]),
    maxStatesPerInsn: Number(processed[3]),
    totalStates: Number(processed[4]),
    peakStates: Number(processed[5]),
  };
  const time = TIME.exec(log);
  if (time) stats.verificationTimeUs = Number(time[1]);
  const stack = STACK.exec(log);
  if (stack) stats.stackDepth = stack[1];
  return stats;
}

const STATS_LINE = /^(verification time \d+ usec|stack depth [\d+]+|processed \d+ insns .*)$/;
/** Lines of the instruction trace: `12: (71) r0 = …`, `12: R0=…`, `from 5 to 7: …`, `; source @ file:line`. */
const TRACE_LINE = /^(\d+: |from \d+ to \d+: |; |\s*$)/;

/**
 * Why the verifier rejected a program: the message lines after the instruction trace and before
 * the statistics (`invalid access to packet, off=8 size=1, …`), or '' when the log has none.
 */
export function rejectionReason(log: string): string {
  const lines = log.split('\n');
  while (lines.length > 0 && (lines[lines.length - 1].trim() === '' || STATS_LINE.test(lines[lines.length - 1]))) lines.pop();
  const reason: string[] = [];
  for (let i = lines.length - 1; i >= 0 && !TRACE_LINE.test(lines[i]); i--) reason.unshift(lines[i]);
  return reason.join('\n');
}
