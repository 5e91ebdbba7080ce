/** Readers of the BPF ELF objects we produce: BTF, BTF.ext, instructions, and a summary of the whole object. */
export * from './btf';
export * from './btf-ext';
export * from './btfdump';
export * from './instructions';
export * from './bpf-object';
export * from './inspect';
export * from './errors';
