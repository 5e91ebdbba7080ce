/** Loading objects into the running kernel's verifier through libbpf. */
export { verifyObject, type VerifyOptions, type VerifyResult, type ProgramVerdict } from './verify';
export { parseVerifierStats, rejectionReason, type VerifierStats } from './verifier-log';
export { formatVerifyResult, type VerifyFormatOptions } from './format';
export type { LibbpfMessage } from './libbpf';
