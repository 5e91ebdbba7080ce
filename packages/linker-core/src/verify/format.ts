/** The readable report of a verification, as `bpf-linker verify` prints it. */
import type { ProgramVerdict, VerifyResult } from './verify';

export interface VerifyFormatOptions {
  /** What to call the object in the heading (its path). */
  label?: string;
  /** Print the verifier's log of accepted programs too (failed ones always get theirs). */
  logs?: boolean;
}

export function formatVerifyResult(result: VerifyResult, options: VerifyFormatOptions = {}): string {
  const label = options.label ?? result.objectName;
  const lines = [`${label}: ${heading(result.programs)} (kernel ${result.kernel}, libbpf ${result.libbpf.version})`];

  const nameWidth = Math.max(0, ...result.programs.map((p) => p.name.length));
  const sectionWidth = Math.max(0, ...result.programs.map((p) => p.section.length));
  for (const p of result.programs) {
    lines.push(`  ${verdictLabel(p)}  ${p.name.padEnd(nameWidth)}  ${p.section.padEnd(sectionWidth)}  ${summary(p)}`);
    // The verifier's message, or (without a verifier log) libbpf's warnings about the program;
    // a refusal's bare errno text is already on its line.
    if (!p.accepted && p.reason && !(p.refused && p.reason === p.error)) lines.push(...indent(p.reason, '      '));
    if ((!p.accepted || options.logs) && p.log.trim() !== '') {
      lines.push(`    verifier log${p.logTruncated ? ' (truncated: only its end fitted)' : ''}:`, ...indent(p.log.trimEnd(), '      | '));
    }
  }
  return lines.join('\n') + '\n';
}

/** `2 programs accepted`, `1 of 3 programs rejected`, `1 of 2 programs refused by the kernel`, or both. */
function heading(programs: readonly ProgramVerdict[]): string {
  const total = programs.length;
  if (total === 0) return 'no programs to verify';
  const rejected = programs.filter((p) => !p.accepted && !p.refused).length;
  const refused = programs.filter((p) => p.refused).length;
  if (rejected === 0 && refused === 0) return `${plural(total, 'program')} accepted`;
  const of = `of ${plural(total, 'program')}`;
  if (refused === 0) return `${rejected} ${of} rejected`;
  if (rejected === 0) return `${refused} ${of} refused by the kernel`;
  return `${rejected} ${of} rejected, ${refused} refused by the kernel`;
}

/** The verdict column, 8 wide. REFUSED: the kernel would not load it, so it was not verified. */
function verdictLabel(p: ProgramVerdict): string {
  return p.accepted ? 'OK      ' : p.refused ? 'REFUSED ' : 'REJECTED';
}

function summary(p: ProgramVerdict): string {
  const parts = [`${p.type}, ${plural(p.insnCount, 'insn')}`];
  if (p.stats) {
    parts.push(`${p.stats.processedInsns} processed`);
    if (p.stats.verificationTimeUs !== undefined) parts.push(`${p.stats.verificationTimeUs} µs`);
  }
  const code = p.code ?? `errno ${p.errno}`;
  // The kernel answers EACCES when the verifier rejects a program; other errors come earlier.
  if (p.refused) parts.push(`refused by the kernel: ${p.refused.reason} (${p.refused.code})`);
  else if (!p.accepted) parts.push(p.code === 'EACCES' && p.log.trim() !== '' ? `rejected by the verifier (${code})` : `${p.error} (${code})`);
  return parts.join(', ');
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function indent(text: string, prefix: string): string[] {
  return text.split('\n').map((l) => `${prefix}${l}`);
}
