/** Options of the plugin entry in nx.json: the names of the inferred targets. */
export interface BpfPluginOptions {
  compileTargetName?: string;
  archiveTargetName?: string;
  linkTargetName?: string;
  /** The target of Rust programs (cargo). */
  buildTargetName?: string;
  verifyTargetName?: string;
  inspectTargetName?: string;
}

export type NormalizedOptions = Required<BpfPluginOptions>;

export const DEFAULT_TARGET_NAMES: NormalizedOptions = {
  compileTargetName: 'compile',
  archiveTargetName: 'archive',
  linkTargetName: 'link',
  buildTargetName: 'build',
  verifyTargetName: 'verify',
  inspectTargetName: 'inspect',
};

export function normalizeOptions(options: BpfPluginOptions | undefined): NormalizedOptions {
  return { ...DEFAULT_TARGET_NAMES, ...Object.fromEntries(Object.entries(options ?? {}).filter(([, v]) => typeof v === 'string' && v)) };
}
