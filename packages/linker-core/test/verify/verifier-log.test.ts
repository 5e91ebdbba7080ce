/** Reading verifier logs: the statistics lines and the reason for a rejection. */
import { describe, expect, it } from 'vitest';
import { parseVerifierStats, rejectionReason } from '@bpf-linker/core';

// Copied from kernel 6.18's answer to the overrun fixture at log level 1 | BPF_LOG_STATS.
const REJECTED = `0: R1=ctx() R10=fp0
; int bad(struct xdp_md *ctx) { @ two.c:7
0: (b7) r0 = 1                        ; R0=1
1: (61) r2 = *(u32 *)(r1 +4)          ; R1=ctx() R2=pkt_end()
2: (61) r1 = *(u32 *)(r1 +0)          ; R1=pkt(r=0)
5: (2d) if r3 > r2 goto pc+1          ; R2=pkt_end() R3=pkt(off=4,r=4)
; return ((volatile __u8 *)data)[8]; @ two.c:10
6: (71) r0 = *(u8 *)(r1 +8)
invalid access to packet, off=8 size=1, R1(id=0,off=8,r=4)
R1 offset is outside of the packet
verification time 52 usec
stack depth 0
processed 7 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
`;

describe('parseVerifierStats', () => {
  it('reads the BPF_LOG_STATS lines', () => {
    expect(parseVerifierStats(REJECTED)).toEqual({
      processedInsns: 7,
      insnLimit: 1000000,
      maxStatesPerInsn: 0,
      totalStates: 0,
      peakStates: 0,
      verificationTimeUs: 52,
      stackDepth: '0',
    });
    expect(parseVerifierStats('verification time 79 usec\nstack depth 0+8\nprocessed 18 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0\n')).toMatchObject({
      processedInsns: 18,
      totalStates: 1,
      stackDepth: '0+8',
    });
  });

  it('is undefined for a log without statistics', () => {
    expect(parseVerifierStats('')).toBeUndefined();
    expect(parseVerifierStats('0: (b7) r0 = 1\n')).toBeUndefined();
  });
});

describe('rejectionReason', () => {
  it('takes the message between the instruction trace and the statistics', () => {
    expect(rejectionReason(REJECTED)).toBe('invalid access to packet, off=8 size=1, R1(id=0,off=8,r=4)\nR1 offset is outside of the packet');
  });

  it('works on a statistics-only log (BPF_LOG_STATS without level 1)', () => {
    expect(rejectionReason('R0 !read_ok\nverification time 3 usec\nstack depth 0\nprocessed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n')).toBe('R0 !read_ok');
  });

  it('is empty when the log has no message', () => {
    expect(rejectionReason('')).toBe('');
    expect(rejectionReason('0: (95) exit\n')).toBe('');
  });
});
