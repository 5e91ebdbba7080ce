/**
 * `bpf-turbo`: the Turborepo adapter's command line. Repository commands (init, pin, doctor) run
 * anywhere in the monorepo; package commands (build, verify, inspect) are what the bpf:* package
 * scripts run, in the package's directory. Errors print as one message with a hint, exit 1.
 */
import { parseArgs } from 'node:util';
import { LINKER_VERSION, formatError } from '@bpf-linker/core';
import { doctor } from './doctor';
import { applyInit, planInit } from './init';
import { buildCommand, cliOnObjects } from './package-commands';
import { computePin, pinDifferences, readPin, toolNeeds, writePin, PIN_FILE } from './pin';
import { ADAPTER_VERSION } from './version';
import { readWorkspace } from './workspace';

export const HELP = `bpf-turbo: BPF programs in a Turborepo monorepo, built by bpf-linker and cached by turbo.

Usage: bpf-turbo <command> [options]

Repository commands (run anywhere in the monorepo):
  init [--check]     Add the bpf:build, bpf:verify and bpf:inspect tasks to turbo.json (comments
                     and formatting kept), each BPF package's turbo.json (exact inputs and
                     outputs from its bpf.config.json), package scripts and dependencies, the
                     toolchain pin, the turbo gen registration and .gitignore entries. Running it
                     again changes nothing. --check writes nothing and exits 1 when something is
                     out of date (for CI).
  pin [--check]      Write ${PIN_FILE}: the clang, libLLVM, rustc and linker versions, which
                     turbo hashes (globalDependencies) so a new toolchain is a cache miss.
                     --check exits 1 when it no longer describes this machine.
  doctor [--json]    Run \`turbo run bpf:build --dry=json\` and report, per BPF package, files the
                     build reads that turbo does not hash (sources, included headers), outputs
                     outside the package or caching intermediates, and environment variables the
                     build reads that are not in "env". Exit 1 on any finding.

Package commands (what the bpf:* scripts run, in a BPF package):
  build [--verbose] [--program <name>]...
                     Check the toolchain pin, then compile, archive and link the package's
                     bpf.config.json (C with clang, Rust with cargo) into dist/bpf/.
  verify [args]      bpf-linker verify on the package's objects (the kernel's verifier; root)
  inspect [args]     bpf-linker inspect on the package's objects

Generators (after init): npx turbo gen bpf-program, npx turbo gen bpf-library

Options:
  -h, --help         Print this help
  -V, --version      Print the version

Environment: BPF_CLANG (clang to compile with), BPF_LINKER_LLVM (force a libLLVM), RUSTC, CARGO.
`;

function out(text: string): void {
  process.stdout.write(text);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    out(HELP);
    return command ? 0 : 1;
  }
  if (command === '-V' || command === '--version') {
    out(`bpf-turbo ${ADAPTER_VERSION} (bpf-linker ${LINKER_VERSION})\n`);
    return 0;
  }
  const cwd = process.cwd();
  switch (command) {
    case 'init': {
      const { values } = parseArgs({ args: rest, options: { check: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true });
      if (values.help) return out(HELP), 0;
      const result = planInit({ cwd });
      for (const n of result.notes) process.stderr.write(`note: ${n}\n`);
      if (values.check) {
        for (const c of result.changes) out(`out of date: ${c.path} (${c.why})\n`);
        out(result.changes.length ? `${result.changes.length} file(s) out of date: run \`npx bpf-turbo init\` and commit the result\n` : 'turbo configuration is up to date\n');
        return result.changes.length ? 1 : 0;
      }
      applyInit(result);
      for (const c of result.changes) out(`${c.kind === 'create' ? 'created' : 'updated'} ${c.path}\n`);
      const bpf = result.workspace.bpfProjects.length;
      out(result.changes.length ? `${bpf} BPF package(s) set up. Next: npm install (new devDependencies), then npx turbo run bpf:build\n` : `up to date (${bpf} BPF package(s))\n`);
      return 0;
    }
    case 'pin': {
      const { values } = parseArgs({ args: rest, options: { check: { type: 'boolean' } }, strict: true });
      const ws = readWorkspace(cwd);
      const pin = computePin(toolNeeds(ws.bpfProjects.map((p) => p.config)));
      const diffs = pinDifferences(readPin(ws.root), pin, true);
      if (values.check) {
        for (const d of diffs) out(`${PIN_FILE}: ${d}\n`);
        if (diffs.length) out(`run \`npx bpf-turbo pin\` and commit ${PIN_FILE}\n`);
        else out(`${PIN_FILE} is up to date\n`);
        return diffs.length ? 1 : 0;
      }
      if (diffs.length === 0) return out(`${PIN_FILE} is up to date\n`), 0;
      writePin(ws.root, pin);
      out(`wrote ${PIN_FILE}: ${diffs.join('; ')}\n`);
      return 0;
    }
    case 'doctor': {
      const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' } }, strict: true });
      const findings = doctor({ cwd });
      if (values.json) out(`${JSON.stringify(findings, null, 2)}\n`);
      else {
        for (const f of findings) out(`${f.package}#${f.task}: ${f.message}\n`);
        out(findings.length ? `${findings.length} finding(s)\n` : 'no findings: turbo hashes what the BPF builds read and caches what they write\n');
      }
      return findings.length ? 1 : 0;
    }
    case 'build': {
      const { values } = parseArgs({ args: rest, options: { verbose: { type: 'boolean', short: 'v' }, program: { type: 'string', multiple: true } }, strict: true });
      return buildCommand({ cwd, verbose: values.verbose, programs: values.program });
    }
    case 'verify':
    case 'inspect':
      return cliOnObjects(command, cwd, rest);
    default:
      process.stderr.write(`error: unknown command '${command}'\n  hint: bpf-turbo --help lists the commands\n`);
      return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    const message = (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? `${(e as Error).message}\n  hint: bpf-turbo --help lists the options` : formatError(e);
    process.stderr.write(`error: ${message}\n`);
    process.exitCode = 1;
  },
);
