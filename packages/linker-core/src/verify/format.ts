/** The readable report of a verification, as `bpf-linker verify` prints it. */
import type { ProgramVerdict, VerifyResult } from './verify';

export interface VerifyFormatOptions {
  /** What to call the object in the heading (its path). */
  label?: string;
  /** Print the verifier's log of accepted programs too (rejected ones always get theirs). */
  logs?: boolean;
}

export function formatVerifyResult(result: VerifyResult, options: VerifyFormatOptions = {}): string {
  const label = options.label ?? result.objectName;
  const total = result.programs.length;
  const rejected = result.programs.filter((p) => !p.accepted).length;
  const verdict =
    total === 0 ? 'no programs to verify' : rejected === 0 ? `${plural(total, 'program')} accepted` : `${rejected} of ${plural(total, 'program')} rejected`;
  const lines = [`${label}: ${verdict} (kernel ${result.kernel}, libbpf ${result.libbpf.version})`];

  const nameWidth = Math.max(0, ...result.programs.map((p) => p.name.length));
  const sectionWidth = Math.max(0, ...result.programs.map((p) => p.section.length));
  for (const p of result.programs) {
    lines.push(`  ${p.accepted ? 'OK      ' : 'REJECTED'}  ${p.name.padEnd(nameWidth)}  ${p.section.padEnd(sectionWidth)}  ${summary(p)}`);
    // The verifier's message, or (without a verifier log) libbpf's warnings about the program.
    if (!p.accepted && p.reason) lines.push(...indent(p.reason, '      '));
    if ((!p.accepted || options.logs) && p.log.trim() !== '') {
      lines.push(`    verifier log${p.logTruncated ? ' (truncated: only its end fitted)' : ''}:`, ...indent(p.log.trimEnd(), '      | '));
    }
  }
  return lines.join('\n') + '\n';
}

function summary(p: ProgramVerdict): string {
  const parts = [`${p.type}, ${plural(p.insnCount, 'insn')}`];
  if (p.stats) {
    parts.push(`${p.stats.processedInsns} processed`);
    if (p.stats.verificationTimeUs !== undefined) parts.push(`${p.stats.verificationTimeUs} µs`);
  }
  const code = p.code ?? `errno ${p.errno}`;
  // The kernel answers EACCES when the verifier rejects a program; other errors come earlier.
  if (!p.accepted) parts.push(p.code === 'EACCES' && p.log.trim() !== '' ? `rejected by the verifier (${code})` : `${p.error} (${code})`);
  return parts.join(', ');
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function indent(text: string, prefix: string): string[] {
  return text.split('\n').map((l) => `${prefix}${l}`);
}
