/**
 * `node toolchain-identity.js <clang|llvm|rust|linker>... [--clang=<clang> | --clang-hex=<hex>]`:
 * prints what identifies the tools a task uses — the linker's version, clang's `--version`, the
 * libLLVM libraries the link can load, `rustc -vV`. Inferred targets use it as a `runtime` input,
 * so a toolchain upgrade is a cache miss. Nx runs it once per command and caches the answer.
 */
import { probeToolchain, toolchainFingerprint } from '@bpf-linker/core';
import { parseIdentityArgs } from './identity-args';

function main(argv: string[]): void {
  const { parts, clang } = parseIdentityArgs(argv);
  const want = (['clang', 'llvm', 'rust'] as const).filter((p) => parts.has(p));
  const id = probeToolchain({ clang, tools: want });
  process.stdout.write(toolchainFingerprint(id, want));
}

main(process.argv.slice(2));
