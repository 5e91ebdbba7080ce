/**
 * The docs run as written. The README's "Using the CLI" blocks are run by bash, as a user pastes
 * them: the install block (npm pack, npm install -g, into a private npm prefix) from a copy of
 * the CLI package, then the usage block on the seed example's sources, with only the installed
 * `bpf-linker` on PATH. docs/rust.md's minimal crate is built with the commands it shows, and so is
 * the README's CO-RE for Rust example, which is then run on this kernel (BPF_PROG_TEST_RUN).
 * docs/nx.md's opening session (`$ npx nx …`) is run line by line in a
 * fresh Nx workspace, with the plugin installed from its tarball as its Install section says.
 * A command that stops working, or a step the docs leave out, fails this test.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBpfObject } from '@bpf-linker/core';
import { kernelLoadUnavailable, loadIntoKernel } from '../../packages/linker-core/test/support/kernel';
import { REPO, createNxWorkspace, type NxWorkspace } from '../support/nx-workspace';
import { loadOnHost } from '../kernels/harness';

const noKernel = kernelLoadUnavailable();

/** The fenced blocks of `lang` in the section of `file` that starts at `heading`, up to the next heading. */
function blocks(file: string, heading: string, lang: string): string[] {
  const text = `\n${readFileSync(join(REPO, file), 'utf8')}`;
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`${file} has no "${heading}" section`);
  const rest = text.slice(start + heading.length + 2);
  const section = rest.slice(0, rest.search(/\n#{2,3} /) >= 0 ? rest.search(/\n#{2,3} /) : undefined);
  return [...section.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1]);
}

/** bash -e on a block of the docs (the docs are ours: this is what a user does with them). */
function bash(script: string, cwd: string, env: NodeJS.ProcessEnv): { status: number; output: string } {
  const r = spawnSync('bash', ['-e', '-c', script], { cwd, env, encoding: 'utf8', timeout: 300_000 });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/**
 * The crate a docs section shows (its toml and rust blocks) in a temporary directory, with the
 * built CLI on PATH as `bpf-linker` (as the Install section leaves it), and the section's commands.
 */
function crateFromDocs(file: string, heading: string, name: string): { tmp: string; crate: string; env: NodeJS.ProcessEnv; commands: string } {
  const [toml] = blocks(file, heading, 'toml');
  const [rust] = blocks(file, heading, 'rust');
  const [commands] = blocks(file, heading, 'bash');
  const tmp = mkdtempSync(join(tmpdir(), `bpfl-docs-${name}-`));
  const crate = join(tmp, name);
  mkdirSync(join(crate, 'src'), { recursive: true });
  writeFileSync(join(crate, 'Cargo.toml'), toml);
  writeFileSync(join(crate, 'src/main.rs'), rust);
  mkdirSync(join(tmp, 'bin'));
  symlinkSync(join(REPO, 'packages/cli/dist/bpf-linker.cjs'), join(tmp, 'bin/bpf-linker'));
  const env = { ...process.env, PATH: `${join(tmp, 'bin')}:${process.env.PATH}`, CARGO_HOME: join(tmp, 'cargo-home'), CARGO_NET_OFFLINE: 'true' };
  return { tmp, crate, env, commands };
}

describe("README: Using the CLI", () => {
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'bpfl-docs-cli-'));
    env = { ...process.env, npm_config_prefix: join(tmp, 'prefix'), npm_config_audit: 'false', npm_config_fund: 'false', npm_config_loglevel: 'error' };
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('has the install block, then the usage block', () => {
    const [install, usage] = blocks('README.md', '## Using the CLI', 'bash');
    expect(install).toContain('npm install -g');
    expect(usage).toContain('bpf-linker program.bc liblib.a');
  });

  it('the install block puts bpf-linker on PATH (here: a private npm prefix)', () => {
    const [install] = blocks('README.md', '## Using the CLI', 'bash');
    // A checkout as the block expects it: packages/cli with its built bundle.
    const checkout = join(tmp, 'checkout');
    mkdirSync(join(checkout, 'packages'), { recursive: true });
    cpSync(join(REPO, 'packages/cli'), join(checkout, 'packages/cli'), { recursive: true, filter: (src) => !/\/(node_modules|test|src)(\/|$)/.test(src) });
    const r = bash(install, checkout, env);
    expect(r.status, r.output).toBe(0);
    expect(existsSync(join(tmp, 'prefix/bin/bpf-linker'))).toBe(true);
  });

  it('the usage block links the seed example into an object with BTF that the kernel loads', () => {
    const [, usage] = blocks('README.md', '## Using the CLI', 'bash');
    const work = join(tmp, 'work');
    mkdirSync(work);
    for (const f of ['lib.c', 'program.c']) copyFileSync(join(REPO, 'examples/seed', f), join(work, f));
    const r = bash(usage, work, { ...env, PATH: `${join(tmp, 'prefix/bin')}:${process.env.PATH}` });
    expect(r.status, r.output).toBe(0);
    const obj = readBpfObject(readFileSync(join(work, 'program.o')));
    expect(obj.programs.filter((p) => !p.isSubprogram).map((p) => p.name).sort()).toEqual(['kprobe_prog', 'xdp_prog']);
    expect(obj.btf).toBeDefined();
    if (!noKernel) expect(loadIntoKernel(join(work, 'program.o')).ok).toBe(true);
  });
});

describe.skipIf(!existsSync('/usr/bin/cargo') || !existsSync('/usr/lib/rustlib/bpfel-unknown-none/lib'))('docs/rust.md: a minimal crate', () => {
  it('builds with the commands shown, into an object with BTF that the kernel loads', () => {
    const { tmp, crate, env, commands } = crateFromDocs('docs/rust.md', '## A minimal crate', 'pass');
    try {
      const r = bash(commands, crate, env);
      expect(r.status, r.output).toBe(0);
      const object = join(crate, 'target/bpfel-unknown-none/release/pass');
      const obj = readBpfObject(readFileSync(object));
      expect(obj.programs.filter((p) => !p.isSubprogram).map((p) => [p.name, p.section])).toEqual([['pass', 'xdp']]);
      expect(obj.btf).toBeDefined();
      expect(r.output).toContain('.BTF');
      if (!noKernel) expect(loadIntoKernel(object).ok).toBe(true);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!existsSync('/usr/bin/cargo') || !existsSync('/sys/kernel/btf/vmlinux'))('README: CO-RE for Rust', () => {
  it('the example builds with the command shown, has the relocation shown, and reads tgid right on this kernel (linked without --core, wrong)', () => {
    const { tmp, crate, env, commands } = crateFromDocs('README.md', '## CO-RE for Rust', 'tgid');
    try {
      const r = bash(commands, crate, env);
      expect(r.status, r.output).toBe(0);
      const shown = commands.split('\n').filter((l) => l.startsWith('# #')).map((l) => l.slice(2));
      for (const line of shown) expect(r.output).toContain(line);
      const object = join(crate, 'target/bpfel-unknown-none/release/tgid');
      const plain = join(tmp, 'tgid-plain');
      copyFileSync(object, join(tmp, 'tgid-core'));
      // The same crate linked without --core: the offset of the local struct (4) is baked in.
      const build = commands.split('\n')[0].replace(', "-C", "link-arg=--core=auto"', '');
      expect(build).not.toContain('--core');
      expect(bash(build, crate, env).status).toBe(0);
      copyFileSync(object, plain);
      if (noKernel) return;
      const ran = loadOnHost([join(tmp, 'tgid-core'), plain], false, ['--run']);
      const retval = (name: string) => ran.results.get(name)?.programs[0]?.run;
      expect(retval('tgid-core')).toEqual({ retval: 1 });
      expect(retval('tgid-plain')).toEqual({ retval: 0 });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('docs/nx.md: the opening session', () => {
  let w: NxWorkspace;
  beforeAll(() => {
    w = createNxWorkspace('bpfl-docs-nx-');
  }, 600_000);
  afterAll(() => {
    if (w && !process.env.KEEP_E2E) rmSync(w.tmp, { recursive: true, force: true });
  });

  it('runs line by line, and Nx prints the tasks the docs show (in a workspace without nx.json, which nx add creates)', () => {
    // A workspace made with `npm i -D nx` alone has no nx.json: nx add must still register the plugin.
    rmSync(join(w.ws, 'nx.json'));
    const [session] = blocks('docs/nx.md', '# Nx: `@bpf-linker/nx`', 'console');
    const commands = session.split('\n').filter((l) => l.startsWith('$ ')).map((l) => l.slice(2));
    expect(commands[0]).toBe('npx nx add @bpf-linker/nx');
    const shownTasks = session.split('\n').filter((l) => l.startsWith('> nx run '));
    let output = '';
    for (const command of commands) {
      // Not on the npm registry yet: the Install section's form, from the tarball.
      const line = command === 'npx nx add @bpf-linker/nx' ? `npx nx add @bpf-linker/nx@file:${w.packs['nx-plugin']}` : command;
      if (noKernel && line.endsWith(':verify')) continue;
      const r = bash(line, w.ws, w.env);
      expect(r.status, `${line}\n${r.output}`).toBe(0);
      output += r.output;
    }
    for (const task of shownTasks) expect(output).toContain(task);
    expect(JSON.parse(readFileSync(join(w.ws, 'nx.json'), 'utf8')).plugins).toContainEqual(expect.objectContaining({ plugin: '@bpf-linker/nx' }));
    expect(existsSync(join(w.ws, 'apps/xdp-counter/dist/bpf/xdp-counter.o'))).toBe(true);
    if (!noKernel) expect(output).toMatch(/xdp-counter\.o: 1 program accepted/);
  });
});
