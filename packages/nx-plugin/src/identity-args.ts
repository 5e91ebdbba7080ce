/**
 * The command line of the toolchain-identity script. Nx runs a `runtime` input through a shell
 * (`sh -c`, or `cmd /C` on Windows), so the clang of bpf.config.json — user data — never appears
 * in it as is: a plain path (letters, digits, `_ . / + -`) is passed as `--clang=<path>`, anything
 * else as `--clang-hex=<its UTF-8 bytes in hex>`, which no shell gives a meaning to.
 */

const PLAIN = /^[\w./+-]+$/;

/** The argument naming `clang` for the identity script's command line. */
export function clangArg(clang: string): string {
  return PLAIN.test(clang) ? `--clang=${clang}` : `--clang-hex=${Buffer.from(clang, 'utf8').toString('hex')}`;
}

/**
 * The argument carrying a Rust crate's toolchain environment (RUSTC, RUSTUP_TOOLCHAIN, CARGO,
 * the config's cargo env) for the identity script: JSON in hex, which no shell gives a meaning to.
 */
export function toolchainEnvArg(env: Record<string, string>): string {
  return `--env-hex=${Buffer.from(JSON.stringify(env), 'utf8').toString('hex')}`;
}

/** The argument naming a kernel BTF that CO-RE links read (`kernel-btf` part): hex, like --env-hex. */
export function coreBtfArg(path: string): string {
  return `--core-btf-hex=${Buffer.from(path, 'utf8').toString('hex')}`;
}

/** The identity script's arguments: the parts to print, the clang when one is named, the toolchain environment, kernel BTFs. */
export function parseIdentityArgs(argv: readonly string[]): { parts: Set<string>; clang?: string; env: Record<string, string>; coreBtfs: string[] } {
  let clang: string | undefined;
  let env: Record<string, string> = {};
  const coreBtfs: string[] = [];
  for (const a of argv) {
    if (a.startsWith('--core-btf-hex=')) coreBtfs.push(Buffer.from(a.slice('--core-btf-hex='.length), 'hex').toString('utf8'));
    else if (a.startsWith('--clang=')) clang = a.slice('--clang='.length);
    else if (a.startsWith('--clang-hex=')) clang = Buffer.from(a.slice('--clang-hex='.length), 'hex').toString('utf8');
    else if (a.startsWith('--env-hex=')) env = JSON.parse(Buffer.from(a.slice('--env-hex='.length), 'hex').toString('utf8')) as Record<string, string>;
  }
  return { parts: new Set(argv.filter((a) => !a.startsWith('--'))), clang, env, coreBtfs };
}
