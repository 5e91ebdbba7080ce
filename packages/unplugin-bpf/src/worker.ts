/**
 * The build process: one build of one object per process, started by the plugin (builder.ts)
 * with `fork`. clang runs as a process anyway; the link runs here, in this process's LLVM, so a
 * long link never blocks the bundler's event loop, and a native crash in libLLVM ends this
 * process, not the dev server. One build per process also means LLVM's process-wide options are
 * set once, for this link only.
 *
 * Protocol (IPC, advanced serialization): the parent sends { request }; this process answers
 * { type: 'step', kind, description } for every step that starts, then { type: 'done', result }
 * or { type: 'error', error }, and exits.
 */
import { buildSingleObject, isLinkError, type SingleObjectRequest } from '@bpf-linker/core';

export interface WorkerRequest {
  request: SingleObjectRequest;
}

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  file?: string;
  hint?: string;
  output?: string;
  diagnostic?: { file: string; line: number; column: number; severity: string; message: string; excerpt: string };
  stack?: string;
}

export function serializeError(e: unknown): SerializedError {
  if (isLinkError(e)) {
    return {
      name: e.name,
      message: e.message,
      code: e.code,
      file: e.file,
      hint: e.hint,
      output: e.output,
      diagnostic: (e as { diagnostic?: SerializedError['diagnostic'] }).diagnostic,
    };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return { name: err.name, message: err.message, stack: err.stack };
}

function send(message: unknown): Promise<void> {
  return new Promise((resolve) => process.send!(message, undefined, undefined, () => resolve()));
}

if (process.send) {
  process.once('message', async (message: WorkerRequest) => {
    try {
      const result = await buildSingleObject(message.request, {
        chdir: true,
        onStepStart: (s) => void send({ type: 'step', kind: s.kind, description: s.description }),
      });
      await send({ type: 'done', result });
    } catch (e) {
      await send({ type: 'error', error: serializeError(e) });
    }
    process.disconnect();
  });
}
