/**
 * `node toolchain-identity.js <clang|llvm|rust|linker>... [--clang=<clang> | --clang-hex=<hex>] [--env-hex=<hex>]`:
 * prints what identifies the tools a task uses — the linker's version, clang's `--version`, the
 * libLLVM libraries the link can load, `rustc -vV`. Inferred targets use it as a `runtime` input,
 * so a toolchain upgrade is a cache miss. Nx runs it once per command and caches the answer.
 */
import { probeToolchain, toolchainFingerprint } from '@bpf-linker/core';
import { parseIdentityArgs } from './identity-args';

function main(argv: string[]): void {
  const { parts, clang, env } = parseIdentityArgs(argv);
  const want = (['clang', 'llvm', 'rust'] as const).filter((p) => parts.has(p));
  // The crate's toolchain (bpf.config.json's cargo settings) decides which rustc and cargo answer.
  const id = probeToolchain({ clang, tools: want, env: { ...process.env, ...env } });
  process.stdout.write(toolchainFingerprint(id, want));
}

main(process.argv.slice(2));
