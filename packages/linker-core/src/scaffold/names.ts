/**
 * Names and places of a new BPF project, checked the same way by every generator (Nx, turbo gen):
 * a name that becomes a file name, a C identifier and a Rust identifier, and a destination that
 * stays inside the workspace.
 */
import { isAbsolute, posix } from 'node:path';

export interface ProjectNames {
  /** The project (or package) name as given. */
  name: string;
  /** kebab-case: file and output names. */
  fileName: string;
  /** snake_case: C and Rust identifiers. */
  snake: string;
}

const NAME = /^[A-Za-z][\w-]*$/;

export function projectNames(name: string): ProjectNames {
  if (!NAME.test(name)) {
    throw new Error(`"${name}" is not a valid BPF project name: use letters, digits, - and _, starting with a letter`);
  }
  // camelCase and snake_case become kebab-case, as Nx's names() does.
  const fileName = name
    .replace(/([a-z\d])([A-Z])/g, '$1-$2')
    .toLowerCase()
    .replace(/_/g, '-');
  return { name, fileName, snake: fileName.replace(/-/g, '_') };
}

/**
 * A project directory relative to the workspace root, `/`-separated and normalized. Absolute
 * paths and paths that climb out of the workspace (`..`) are refused.
 */
export function projectDirectory(directory: string): string {
  const d = directory.trim().replace(/\\/g, '/');
  if (d === '') throw new Error('the project directory is empty: give a path relative to the workspace root, such as "packages/xdp-counter"');
  if (isAbsolute(d) || /^[A-Za-z]:\//.test(d)) {
    throw new Error(`the project directory "${directory}" is absolute: give a path relative to the workspace root, such as "packages/xdp-counter"`);
  }
  const n = posix.normalize(d).replace(/\/$/, '');
  if (n === '.' || n === '..' || n.startsWith('../') || d.split('/').includes('..')) {
    throw new Error(`the project directory "${directory}" leaves the workspace or is its root: give a subdirectory, such as "packages/xdp-counter"`);
  }
  return n;
}

/** A comma-separated list (or a list) as trimmed, non-empty items; `-` and `none` mean no items. */
export function parseList(value: string | readonly string[] | undefined): string[] {
  const items = Array.isArray(value) ? value : String(value ?? '').split(',');
  return items.map((s) => s.trim()).filter((s) => s !== '' && s !== '-' && s.toLowerCase() !== 'none');
}
