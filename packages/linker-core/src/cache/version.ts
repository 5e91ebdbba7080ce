/**
 * The linker's version, part of every cache key. Bundles define BPF_LINKER_VERSION (the CLI and
 * the Nx plugin do, from their package.json); unbundled sources report a dev version.
 */
declare const BPF_LINKER_VERSION: string | undefined;

export const LINKER_VERSION: string = typeof BPF_LINKER_VERSION === 'string' ? BPF_LINKER_VERSION : '0.0.0-dev';
