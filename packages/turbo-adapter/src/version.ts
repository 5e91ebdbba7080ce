/** This package's version (the bundle defines it from package.json; sources report a dev version). */
declare const BPF_TURBO_VERSION: string | undefined;

export const ADAPTER_VERSION: string = typeof BPF_TURBO_VERSION === 'string' ? BPF_TURBO_VERSION : '0.0.0-dev';
