/**
 * Atomic writes: no temporary survives an error or a signal the process can handle, temporaries
 * of killed writers are swept by the next write to their directory, and the signal listeners do
 * not outlive the write.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { LinkError } from '../../src/errors';
import { sweepStaleTemporaries, writeFileAtomically } from '../../src/pipeline/output';
import { makeTempDir } from '../support/toolchain';

const OUTPUT_SRC = join(__dirname, '../../src/pipeline/output.ts');
/** Above Linux's PID_MAX_LIMIT (2^22): never a live process. */
const DEAD_PID = 4_194_305;

/**
 * A child that creates a temporary for argv[2] the way writeFileAtomically does, then acts out
 * argv[3]:
 *  - `signal <SIG>`: receives SIG while the temporary exists (and waits for it to act);
 *  - `host <SIG>`: the same, with a listener of its own for SIG that exits 3;
 *  - `during-write <SIG>`: receives SIG inside the synchronous write, which then completes;
 *  - `listeners`: after one writeFileAtomically, prints the SIGINT/SIGTERM/SIGHUP listener counts.
 */
const CHILD = `
import { renameSync, writeFileSync } from 'node:fs';
import { createTemporary, releaseTemporary, writeFileAtomically } from ${JSON.stringify(OUTPUT_SRC)};
const [target, action, signal] = process.argv.slice(2);
const guard = setTimeout(() => process.exit(99), 5000);
if (action === 'listeners') {
  writeFileAtomically(target, 'done');
  setTimeout(() => {
    process.stdout.write(['SIGINT', 'SIGTERM', 'SIGHUP'].map((s) => process.listenerCount(s)).join(','));
    clearTimeout(guard);
  }, 20);
} else {
  if (action === 'host') process.on(signal, () => process.exit(3));
  const tmp = createTemporary(target);
  writeFileSync(tmp, 'partial', { flag: 'wx' });
  process.stdout.write(tmp);
  process.kill(process.pid, signal);
  if (action === 'during-write') {
    renameSync(tmp, target);
    releaseTemporary(tmp, false);
  }
}
`;

let dir: string;
let child: string;
beforeAll(() => {
  dir = makeTempDir('bpfl-output-');
  writeFileSync(join(dir, 'child.ts'), CHILD);
  child = join(dir, 'child.cjs');
  buildSync({ entryPoints: [join(dir, 'child.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: child, logLevel: 'error' });
});

function runChild(...args: string[]) {
  const r = spawnSync(process.execPath, [child, ...args], { encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

const hidden = (d: string) => readdirSync(d).filter((n) => n.startsWith('.'));

describe('temporaries on signals', () => {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    it(`${signal} while a temporary exists: it is removed and the process dies of ${signal}`, () => {
      const d = join(dir, `sig-${signal}`);
      mkdirSync(d);
      const r = runChild(join(d, 'out.o'), 'signal', signal);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(new RegExp(`^${d}/\\.out\\.o\\.\\d+\\.[0-9a-f]+\\.tmp$`));
      expect(r.signal).toBe(signal);
      expect(r.status).toBeNull();
      expect(readdirSync(d)).toEqual([]);
    });
  }

  it('a host with its own listener decides (exits 3 here); the temporary is removed all the same', () => {
    const d = join(dir, 'host');
    mkdirSync(d);
    const r = runChild(join(d, 'out.o'), 'host', 'SIGTERM');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(3);
    expect(readdirSync(d)).toEqual([]);
  });

  it('a signal during the synchronous write is not lost: the write completes, then the process dies of it', () => {
    const d = join(dir, 'during');
    mkdirSync(d);
    const r = runChild(join(d, 'out.o'), 'during-write', 'SIGINT');
    expect(r.signal).toBe('SIGINT');
    expect(readdirSync(d)).toEqual(['out.o']);
    expect(readFileSync(join(d, 'out.o'), 'utf8')).toBe('partial');
  });

  it('no signal listener outlives a write (host signals are not delayed by later synchronous work)', () => {
    const d = join(dir, 'listeners');
    mkdirSync(d);
    const r = runChild(join(d, 'out.o'), 'listeners');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('0,0,0');
    expect(r.status).toBe(0);
    expect(readdirSync(d)).toEqual(['out.o']);
  });
});

describe('temporaries on errors', () => {
  it('a path under a regular file: a LinkError naming it, no stack, nothing left', () => {
    const file = join(dir, 'afile');
    writeFileSync(file, 'keep');
    let error: unknown;
    try {
      writeFileAtomically(join(file, 'x.o'), 'bytes');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LinkError);
    expect((error as LinkError).code).toBe('OUTPUT_FAILED');
    expect((error as LinkError).message).toBe(`cannot write ${file}/x.o: ${file} is a regular file, not a directory`);
    expect(readFileSync(file, 'utf8')).toBe('keep');
  });

  it('a rename that fails (the target is a directory): the temporary is removed', () => {
    const d = join(dir, 'rename-fails');
    mkdirSync(join(d, 'out.o'), { recursive: true });
    expect(() => writeFileAtomically(join(d, 'out.o'), 'bytes')).toThrow(LinkError);
    expect(readdirSync(d)).toEqual(['out.o']);
  });
});

describe('stale temporaries', () => {
  it('the next write sweeps those of dead writers (after a minute) and any older than an hour, and nothing else', () => {
    const d = join(dir, 'stale');
    mkdirSync(d);
    const now = Date.now() / 1000;
    const make = (name: string, ageSeconds: number) => {
      writeFileSync(join(d, name), 'x');
      utimesSync(join(d, name), now - ageSeconds, now - ageSeconds);
    };
    make(`.prog.o.${DEAD_PID}.abc123.tmp`, 120); // killed writer → swept
    make(`.prog.o.${process.pid}.def456.tmp`, 2 * 3600); // a live pid, but two hours old → swept
    make(`.other.o.${process.pid}.aaa111.tmp`, 0); // a live writer at work → kept
    make(`.other.o.${DEAD_PID}.bbb222.tmp`, 5); // dead pid, written seconds ago (another PID namespace?) → kept
    make('.notes.tmp', 2 * 3600); // not ours → kept
    make('report.1234.abc.tmp', 2 * 3600); // not hidden, not ours → kept
    mkdirSync(join(d, `.dir.${DEAD_PID}.ccc333.tmp`)); // not a regular file → kept
    writeFileAtomically(join(d, 'prog.o'), 'object');
    expect(hidden(d).sort()).toEqual([`.dir.${DEAD_PID}.ccc333.tmp`, `.other.o.${DEAD_PID}.bbb222.tmp`, `.other.o.${process.pid}.aaa111.tmp`, '.notes.tmp'].sort());
    expect(existsSync(join(d, 'report.1234.abc.tmp'))).toBe(true);
    expect(readFileSync(join(d, 'prog.o'), 'utf8')).toBe('object');
  });

  it('sweeping a missing directory does nothing', () => {
    expect(sweepStaleTemporaries(join(dir, 'no-such-dir'))).toEqual([]);
  });
});
