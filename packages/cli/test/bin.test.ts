/** After the README's set-up, the workspace's bins run as a user would run them. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));

describe('workspace bins', () => {
  it.each([
    ['bpf-linker', /^bpf-linker \d+\.\d+\.\d+\n$/],
    ['bpf-turbo', /^bpf-turbo \d+\.\d+\.\d+ \(bpf-linker \d+\.\d+\.\d+\)\n$/],
  ])('npx %s --version works in the repository', (bin, version) => {
    const r = spawnSync('npx', ['--no-install', bin, '--version'], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(version);
  });
});
