/**
 * `node toolchain-identity.js <clang|llvm|rust|linker|kernel-btf>... [--clang=<clang> | --clang-hex=<hex>] [--env-hex=<hex>] [--core-btf-hex=<hex>]...`:
 * prints what identifies the tools a task uses — the linker's version, clang's `--version`, the
 * libLLVM libraries the link can load, `rustc -vV`, and the content of the kernel BTFs CO-RE links
 * relocate against. Inferred targets use it as a `runtime` input, so a toolchain upgrade (or a
 * kernel upgrade, with --core=auto) is a cache miss. Nx runs it once per command and caches the answer.
 */
import { coreBtfFingerprint, probeToolchain, toolchainFingerprint } from '@bpf-linker/core';
import { parseIdentityArgs } from './identity-args';

function main(argv: string[]): void {
  const { parts, clang, env, coreBtfs } = parseIdentityArgs(argv);
  const want = (['clang', 'llvm', 'rust'] as const).filter((p) => parts.has(p));
  // The crate's toolchain (bpf.config.json's cargo settings) decides which rustc and cargo answer.
  const id = probeToolchain({ clang, tools: want, env: { ...process.env, ...env } });
  const btfs = parts.has('kernel-btf') ? coreBtfs.map((p) => `${coreBtfFingerprint(p)}\n`).join('') : '';
  process.stdout.write(toolchainFingerprint(id, want) + btfs);
}

main(process.argv.slice(2));
