import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const core = fileURLToPath(new URL('./packages/linker-core/src/index.ts', import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources, not a stale dist/.
    alias: { '@bpf-linker/core': core },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'e2e/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // 2-core machines; clang and LLVM runs are CPU-bound.
    maxWorkers: 2,
  },
});
