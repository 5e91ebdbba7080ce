/**
 * The bpf-linker CLI's executable file (rustc's `-C linker=`, verify and inspect commands), as an
 * installed @bpf-linker/cli package resolved by Node from each of `from` in turn (package.json
 * files: the workspace's, then the adapter's own). Undefined when none has it installed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const CLI_PACKAGE = '@bpf-linker/cli';

export function resolveLinkerCli(from: readonly string[]): string | undefined {
  for (const pkgJson of from) {
    try {
      const pkgFile = createRequire(pkgJson).resolve(`${CLI_PACKAGE}/package.json`);
      const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { bin?: Record<string, string> };
      const bin = join(dirname(pkgFile), pkg.bin?.['bpf-linker'] ?? 'dist/bpf-linker.cjs');
      if (existsSync(bin)) return bin;
    } catch {
      // not installed there
    }
  }
  return undefined;
}
