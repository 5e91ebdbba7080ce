/**
 * `bpf-turbo init`: brings a monorepo's turbo configuration in line with its BPF packages —
 * root and package turbo.json, package.json scripts and dependencies, the toolchain pin, the
 * `turbo gen` registration and .gitignore entries. Idempotent: a second run changes nothing.
 * `--check` changes nothing and lists what is out of date (exit 1), for CI.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, posix } from 'node:path';
import { BPF_GITIGNORE, formatError, writeFileAtomically } from '@bpf-linker/core';
import { GENERATORS_CONFIG, generatorsConfigText } from './generators-config';
import { applyJsonEdits } from './jsonc-edit';
import { computePin, pinDifferences, pinText, readPin, toolNeeds, PIN_FILE } from './pin';
import { ADAPTER_PACKAGE, planTurbo } from './plan-tasks';
import { ADAPTER_VERSION } from './version';
import { readWorkspace, type TurboWorkspace } from './workspace';

export interface InitOptions {
  cwd: string;
  check?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface FileChange {
  path: string;
  kind: 'create' | 'update';
  /** The new text. */
  text: string;
  why: string;
}

export interface InitResult {
  workspace: TurboWorkspace;
  changes: FileChange[];
  /** Things init cannot fix by itself (a generators config of the user's, invalid configs). */
  notes: string[];
}

const GITIGNORE_HEADER = '# BPF build outputs (@bpf-linker/turbo)';
const GITIGNORE = [...BPF_GITIGNORE, '.turbo/'];

export function turboConfigFile(root: string): string {
  return existsSync(join(root, 'turbo.jsonc')) && !existsSync(join(root, 'turbo.json')) ? 'turbo.jsonc' : 'turbo.json';
}

/**
 * The version spec BPF packages depend on the adapter with: the root package.json's (a `file:`
 * path rewritten for the package's directory), else ^<this version>.
 */
export function adapterSpec(root: string, packageRoot: string): string {
  let spec: string | undefined;
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    spec = pkg.devDependencies?.[ADAPTER_PACKAGE] ?? pkg.dependencies?.[ADAPTER_PACKAGE];
  } catch {
    // no readable root package.json: the default below
  }
  if (!spec) return `^${ADAPTER_VERSION}`;
  const file = /^file:(.+)$/.exec(spec);
  if (!file || isAbsolute(file[1])) return spec;
  return `file:${posix.relative(packageRoot || '.', posix.normalize(file[1]))}`;
}

function read(root: string, path: string): string | undefined {
  try {
    return readFileSync(join(root, path), 'utf8');
  } catch {
    return undefined;
  }
}

/** Computes every change init would make; writes nothing. */
export function planInit(options: InitOptions): InitResult {
  const ws = readWorkspace(options.cwd);
  const changes: FileChange[] = [];
  const notes = ws.invalid.map((i) => `skipped ${i.package.root}: ${formatError(i.error)}`);
  const plan = planTurbo(ws, { adapterSpec: (packageRoot) => adapterSpec(ws.root, packageRoot), turboFile: turboConfigFile(ws.root) });
  for (const p of plan.plans) for (const problem of p.plan.problems) notes.push(`${p.project.root}: ${problem.format()}`);

  for (const f of plan.files) {
    const before = read(ws.root, f.path);
    const text = applyJsonEdits(before ?? f.create(), f.edits, f.path);
    if (text !== before) changes.push({ path: f.path, kind: before === undefined ? 'create' : 'update', text, why: 'BPF tasks, inputs and outputs' });
  }

  const pinned = readPin(ws.root);
  const pin = computePin(toolNeeds(ws.bpfProjects.map((p) => p.config)), options.env);
  const diffs = pinDifferences(pinned, pin, true);
  if (diffs.length > 0) changes.push({ path: PIN_FILE, kind: pinned ? 'update' : 'create', text: pinText(pin), why: `toolchain: ${diffs.join('; ')}` });

  const gen = read(ws.root, GENERATORS_CONFIG);
  if (gen === undefined) changes.push({ path: GENERATORS_CONFIG, kind: 'create', text: generatorsConfigText(), why: 'turbo gen bpf-program / bpf-library' });
  else if (!gen.includes('registerBpfGenerators')) {
    notes.push(`${GENERATORS_CONFIG} is your own: add \`import { registerBpfGenerators } from '${ADAPTER_PACKAGE}/generators';\` and call \`registerBpfGenerators(plop)\` in its default export to get turbo gen bpf-program and bpf-library`);
  }

  const ignore = read(ws.root, '.gitignore') ?? '';
  const lines = ignore.split(/\r?\n/).map((l) => l.trim());
  const missing = GITIGNORE.filter((l) => !lines.includes(l) && !lines.includes(l.replace(/\/$/, '')));
  if (missing.length > 0) {
    const text = `${ignore}${ignore && !ignore.endsWith('\n') ? '\n' : ''}${GITIGNORE_HEADER}\n${missing.join('\n')}\n`;
    changes.push({ path: '.gitignore', kind: ignore ? 'update' : 'create', text, why: 'build outputs out of git' });
  }
  return { workspace: ws, changes, notes };
}

export function applyInit(result: InitResult): void {
  for (const c of result.changes) writeFileAtomically(join(result.workspace.root, c.path), c.text);
}
