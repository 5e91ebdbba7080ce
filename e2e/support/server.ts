/**
 * Background servers for e2e tests (remote caches): a free port on 127.0.0.1, a process whose
 * output goes to a log file and that is always stopped, and waiting until it answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface Server {
  child: ChildProcess;
  log: string;
  stop(): Promise<void>;
}

/**
 * Starts a long-running process with its output going to a log file (not a pipe: the test's
 * spawnSync calls block the event loop, and an unread pipe would stall the server).
 */
export function startServer(cmd: string, args: string[], o: { cwd: string; env: NodeJS.ProcessEnv; log: string }): Server {
  const fd = openSync(o.log, 'a');
  const child = spawn(cmd, args, { cwd: o.cwd, env: o.env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('exit', () => resolve());
  });
  // If the test process dies before afterAll, the server must not outlive it.
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  return {
    child,
    log: o.log,
    async stop() {
      process.removeListener('exit', onExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `url` until it answers 2xx (or a status `accept` takes), for at most `ms`; throws with the server's log otherwise. */
export async function waitForHttp(url: string, ms: number, server?: Server, accept: (status: number) => boolean = () => false): Promise<void> {
  const deadline = Date.now() + ms;
  let last = '';
  while (Date.now() < deadline) {
    if (server && (server.child.exitCode !== null || server.child.signalCode !== null)) break;
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (r.ok || accept(r.status)) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const log = server && existsSync(server.log) ? readFileSync(server.log, 'utf8').slice(-4000) : '';
  throw new Error(`${url} did not answer within ${ms} ms (${last})${log ? `\nserver log:\n${log}` : ''}`);
}
