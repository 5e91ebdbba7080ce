/** LLVM's process-global command-line options for a link, in bpf-linker's order. */
import type { LinkOptions } from '../options';

export function llvmGlobalOptions(o: Pick<LinkOptions, 'unrollLoops' | 'disableExpandMemcpyInOrder' | 'allowBpfTrap' | 'llvmArgs'>): string[] {
  const args = [
    // LLVM >= 17 stopped inlining cold call sites, leaving >64-bit returns BPF cannot express.
    '--cold-callsite-rel-freq=0',
  ];
  if (o.unrollLoops) {
    args.push('--unroll-runtime', '--unroll-runtime-multi-exit', `--unroll-max-upperbound=${0xffffffff}`, `--unroll-threshold=${0xffffffff}`);
  }
  if (!o.disableExpandMemcpyInOrder) args.push('--bpf-expand-memcpy-in-order');
  // LLVM >= 21 would otherwise emit calls to the __bpf_trap kfunc, which loaders like Aya reject.
  if (!o.allowBpfTrap) args.push('--bpf-disable-trap-unreachable');
  args.push(...o.llvmArgs);
  return args;
}
