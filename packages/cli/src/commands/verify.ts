/** `bpf-linker verify <OBJECT>...`: every program of each object through the kernel's verifier. */
import { basename, extname } from 'node:path';
import { LinkError, formatVerifyResult, inspectObject, readingObject, verifyObject, type VerifyOptions, type VerifyResult } from '@bpf-linker/core';
import { errorJson, parseCommandArgs, printError, readBpfObjectFile, usage, type CommandFlag } from './common';

export const VERIFY_HELP = `Loads every program of each BPF object into the running kernel's verifier, through libbpf, and
reports a verdict per program:
  OK        accepted, with the verifier's statistics
  REJECTED  rejected by the verifier (with its log), or by libbpf before it (with libbpf's reason)
  REFUSED   refused by the kernel, whatever its code, so not verified: not permitted here (EPERM),
            not supported by this kernel (ENOTSUPP, EOPNOTSUPP), or its attach target is not in
            this kernel (ENOENT, ESRCH: an fentry/fexit function that does not exist)
Each program gets its own verdict: when one fails, the others are loaded again one at a time.
Nothing stays loaded or pinned (maps asking for pinning are not pinned).

Usage: bpf-linker verify [OPTIONS] <OBJECT>...

Options:
  --json              Print the results as JSON (an array, one entry per object)
  --logs              Ask the verifier for its complete log (level 2: every instruction with the
                      register states) for every program, accepted ones included, and print it
                      [default: statistics when accepted, the failing path when rejected]
  --log-size <BYTES>  First size of each program's log buffer; it doubles while the log does not
                      fit, up to 256 MiB [default: 1048576]
  --libbpf <PATH>     libbpf shared object to use [default: the system's libbpf.so.1]
  -h, --help          Print this help

Needs root, or CAP_BPF with CAP_PERFMON (tracing) and CAP_NET_ADMIN (networking programs).

Exit status, the first that applies (over all objects):
  2  an object could not be verified at all: no permission to load any of its programs (not
     root), no libbpf, not a BPF object or a corrupt one
  1  the verifier (or libbpf) rejected a program
  3  the kernel refused a program (REFUSED), so it was not verified, and none was rejected
  0  every program accepted
`;

const FLAGS: readonly CommandFlag[] = [
  { long: 'json' },
  { long: 'logs' },
  { long: 'log-size', value: 'BYTES' },
  { long: 'libbpf', value: 'PATH' },
  { long: 'help', short: 'h' },
];

const EXIT_ACCEPTED = 0;
const EXIT_REJECTED = 1;
const EXIT_CANNOT_VERIFY = 2;
const EXIT_REFUSED = 3;
/** The order in which exit statuses apply over all objects: an object not verified at all outranks a rejection, a rejection a refusal. */
const EXIT_PRECEDENCE = [EXIT_CANNOT_VERIFY, EXIT_REJECTED, EXIT_REFUSED, EXIT_ACCEPTED];

const firstApplying = (a: number, b: number) => (EXIT_PRECEDENCE.indexOf(a) <= EXIT_PRECEDENCE.indexOf(b) ? a : b);

/** A rejection says the program is wrong; a refusal only that this kernel would not take it. */
function exitStatus(result: VerifyResult): number {
  if (result.accepted) return EXIT_ACCEPTED;
  return result.programs.some((p) => !p.accepted && p.refused === undefined) ? EXIT_REJECTED : EXIT_REFUSED;
}

export function runVerify(argv: readonly string[]): number {
  let json = false;
  try {
    const { positionals, flags } = parseCommandArgs('verify', argv, FLAGS);
    json = flags.has('json');
    if (flags.has('help')) {
      process.stdout.write(VERIFY_HELP);
      return 0;
    }
    if (positionals.length === 0) throw usage('verify', 'no object to verify', 'usage: bpf-linker verify [OPTIONS] <OBJECT>...');
    const options: VerifyOptions = {};
    if (flags.has('logs')) options.logLevel = 2;
    const logSize = flags.get('log-size');
    if (typeof logSize === 'string') {
      if (!/^\d+$/.test(logSize) || Number(logSize) < 256) throw usage('verify', `invalid --log-size '${logSize}'`, 'give a number of bytes, at least 256');
      options.logSize = Number(logSize);
    }
    const libbpf = flags.get('libbpf');
    if (typeof libbpf === 'string') options.libbpfPath = libbpf;

    let status = EXIT_ACCEPTED;
    const entries: object[] = [];
    for (const path of positionals) {
      let result: VerifyResult;
      try {
        // The object is read by our own reader first: a corrupt one is refused with what is wrong
        // and its name, before libbpf (which can crash on a corrupt ELF) parses it.
        const bytes = readingObject(path, () => {
          const data = readBpfObjectFile(path);
          inspectObject(data);
          return data;
        });
        result = verifyingObject(path, () => verifyObject(bytes, { ...options, objectName: objectName(path), file: path }));
      } catch (e) {
        status = firstApplying(status, EXIT_CANNOT_VERIFY);
        if (json) entries.push({ path, error: errorJson(e) });
        else printError(e);
        continue;
      }
      status = firstApplying(status, exitStatus(result));
      if (json) entries.push({ path, ...result });
      else process.stdout.write(formatVerifyResult(result, { label: path, logs: options.logLevel !== undefined }));
    }
    if (json) process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
    return status;
  } catch (e) {
    if (json) process.stdout.write(`${JSON.stringify([{ error: errorJson(e) }], null, 2)}\n`);
    else printError(e);
    return EXIT_CANNOT_VERIFY;
  }
}

/** libbpf's object name (used in its messages): the file name without its extension. */
function objectName(path: string): string {
  const base = basename(path);
  return base.slice(0, base.length - extname(base).length) || base;
}

/**
 * Errors of verifying the object at `path` (its bytes already read): libbpf refusing the object
 * is about that file, so its message gets the path; an unexpected error (a bug of ours) is
 * reported as one, without a stack trace. Errors about the machine (no libbpf, no permission)
 * pass as they are.
 */
function verifyingObject<T>(path: string, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof LinkError) {
      if (e.file !== undefined || e.code !== 'INVALID_INPUT') throw e;
      throw new LinkError(e.code, `${path}: ${e.message}`, { file: path, hint: e.hint, output: e.output, cause: e });
    }
    throw new LinkError('VERIFY_FAILED', `${path}: verification failed: unexpected ${(e as Error)?.name ?? 'error'}: ${(e as Error)?.message ?? String(e)}`, {
      file: path,
      hint: 'this is a bug in bpf-linker verify: report it with the object file',
      cause: e,
    });
  }
}
