/**
 * The doctor's comparison of turbo's dry run (here written out in turbo's own JSON shape; the
 * e2e runs the real turbo) with what the builds read (clang -M on the real sources) and write.
 */
import { describe, expect, it } from 'vitest';
import { doctor, type DryRun, type DryRunTask } from '../src/doctor';
import { SAMPLE, tempMonorepo } from './support';

const files = {
  ...SAMPLE,
  'packages/xdp/src/local.h': '#define X 1\n',
  'packages/xdp/src/xdp.bpf.c': '#include "counters.h"\n#include "local.h"\nint x(void) { return counters_record(X); }\n',
};

function task(pkg: string, inputs: string[], outputs: string[], env: string[]): DryRunTask {
  return {
    taskId: `${pkg}#bpf:build`,
    task: 'bpf:build',
    package: pkg,
    inputs: Object.fromEntries(['package.json', 'turbo.json', ...inputs].map((f) => [f, '0'])),
    resolvedTaskDefinition: { outputs, env },
    environmentVariables: { specified: { env } },
  };
}

const ENV = ['BPF_CLANG', 'BPF_LINKER_LLVM', 'RUSTC', 'CARGO', 'RUSTFLAGS', 'CARGO_ENCODED_RUSTFLAGS', 'RUSTUP_TOOLCHAIN'];
const healthy = (): DryRun => ({
  tasks: [
    task('counters', ['bpf.config.json', 'src/counters.c', 'include/counters.h'], ['dist/bpf/libcounters.a'], ENV),
    task('xdp', ['bpf.config.json', 'src/xdp.bpf.c', 'src/local.h', '../counters/include/counters.h'], ['dist/bpf/xdp.o', 'dist/bpf/xdp.manifest.json', '!dist/bpf/bc/**'], ['BPF_*', 'RUST*', 'CARGO*']),
    task('rusty', ['bpf.config.json', 'Cargo.toml', 'src/main.rs'], ['dist/bpf/rusty.o', 'dist/bpf/rusty.manifest.json'], ENV),
  ],
});

describe('doctor', () => {
  it('has no findings when turbo hashes every file clang reads and caches every product', () => {
    expect(doctor({ cwd: tempMonorepo(files), dry: healthy() })).toEqual([]);
  });

  it('finds a header outside the inputs, intermediates and missing products in outputs, and unhashed variables', () => {
    const dry = healthy();
    dry.tasks[1] = task('xdp', ['bpf.config.json', 'src/xdp.bpf.c'], ['dist/bpf/**', '../shared/out/**'], ['BPF_CLANG', 'RUST*', 'CARGO*', '!RUSTUP_TOOLCHAIN']);
    dry.tasks[2] = task('rusty', ['bpf.config.json', 'Cargo.toml', 'src/main.rs'], ['target/**', 'dist/bpf/rusty.o'], ENV.filter((e) => e !== 'RUSTFLAGS'));
    dry.tasks.splice(0, 1);
    const findings = doctor({ cwd: tempMonorepo(files), dry }).map((f) => `${f.package} ${f.kind}: ${f.message}`);
    expect(findings).toEqual([
      'counters task: turbo has no bpf:build task for this package: run `bpf-turbo init` (it adds the task and the package script)',
      'rusty outputs: output "target/**" caches intermediates (target/bpfel-unknown-none/release/rusty, target/CACHEDIR.TAG): list only objects, archives and manifests',
      'rusty outputs: dist/bpf/rusty.manifest.json is built but no output glob caches it: a cache hit would not restore it',
      'rusty env: env lacks RUSTFLAGS, which the build reads: strict mode hides it from the build and a change would not miss',
      'xdp inputs: inputs miss packages/counters/include/counters.h (included by src/xdp.bpf.c): an edit to it would not change the hash',
      'xdp inputs: inputs miss packages/xdp/src/local.h (included by src/xdp.bpf.c): an edit to it would not change the hash',
      'xdp outputs: output "../shared/out/**" is outside the package: turbo caches and restores package files only',
      'xdp outputs: output "dist/bpf/**" caches intermediates (dist/bpf/bc/src/xdp.bpf.bc, dist/bpf/bc/src/xdp.bpf.d): list only objects, archives and manifests',
      'xdp env: env lacks BPF_LINKER_LLVM, which the build reads: strict mode hides it from the build and a change would not miss',
    ]);
  });
});
