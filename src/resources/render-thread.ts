// The render thread's side (render-worker.ts starts it): one job at a time, it compiles the
// template (cached by the file's stamp), renders it from the values and the snapshot of
// steward's functions it was sent, compares the output with the destination and, when they
// differ, writes the stage file. Only a small reply crosses back; the output never does (except
// for --noop, which reports it). Whatever happens here, PID 1's event loop goes on.

import { createHash } from 'node:crypto';
import { setPriority } from 'node:os';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import {
  createTemplateSource, extrasFromSnapshot, loadGoEngine, loadNunjucksEngine, RenderLimitError, storeFor, TemplateError, type CompiledTemplate,
  type EngineName, type TemplateEngine, type TemplateSource,
} from '../render/index.ts';
import type { RenderJob, ThreadMessage, ThreadResult } from './render-worker.ts';
import { inspect, stage } from './stage-and-swap.ts';

const RENDER_NICE = 10;

/** What the main thread hands the thread once, when it starts it. */
export interface ThreadData {
  readonly stewardRenderThread: true;
  /** Names of steward's functions, so that the Go engine knows them when it compiles. */
  readonly extraNames: readonly string[];
}

/** A render's failure as the thread reports it; pipeline.ts turns it into an outcome without values. */
export function failureOf(error: unknown): ThreadResult {
  if (error instanceof RenderLimitError) return { kind: 'too-big' };
  if (error instanceof TemplateError) return { kind: 'template-error', message: error.message, key: error.key, template: error.template, line: error.line };
  return { kind: 'error', message: error instanceof Error ? error.message : String(error) };
}

function rendered(template: CompiledTemplate, job: RenderJob): Buffer {
  const ctx = { store: storeFor(template, job.values), env: job.env, extras: extrasFromSnapshot(job.extras), limits: { maxBytes: job.maxBytes } };
  const text = template.render(ctx);
  // nunjucks cannot be stopped as it grows: measured once it is done (the thread's heap limit bounds it meanwhile).
  if (text.length > job.maxBytes) throw new RenderLimitError('bytes');
  const content = Buffer.from(text, template.encoding);
  if (content.length > job.maxBytes) throw new RenderLimitError('bytes');
  return content;
}

async function runJob(job: RenderJob, source: TemplateSource, port: MessagePort): Promise<ThreadResult> {
  let content: Buffer;
  try {
    const template = await source.compiled(job.template.path, job.template.engine, job.template.text);
    // The time limit is the template's: not this thread's start, nor loading its engine.
    port.postMessage({ id: job.id, kind: 'started' } satisfies ThreadMessage);
    content = rendered(template, job);
  } catch (error) {
    return failureOf(error);
  }
  port.postMessage({ id: job.id, kind: 'rendered' } satisfies ThreadMessage);
  const { dest, mode, uid, gid } = job.desired;
  let inspection;
  try {
    inspection = await inspect({ dest, content, mode, uid, gid });
  } catch (error) {
    return { kind: 'write-failed', message: `cannot read ${dest}: ${(error as Error).message}`, code: (error as NodeJS.ErrnoException).code };
  }
  const { target, differences, current } = inspection;
  if (differences.length === 0) return { kind: 'unchanged' };
  if (job.stagePath === undefined) return { kind: 'would-change', differences, current, after: content, mode: target.mode };
  const digest = createHash('sha256').update(content).digest('hex');
  if (digest === job.rejectedDigest) return { kind: 'rejected-again', digest };
  try {
    await stage(content, target, job.stagePath);
  } catch (error) {
    return { kind: 'write-failed', message: (error as Error).message, code: (error as NodeJS.ErrnoException).code };
  }
  return { kind: 'staged', target, differences, digest };
}

function serve(port: MessagePort, data: ThreadData): void {
  // On Linux the nice value is per thread, and 0 names the calling one: a runaway render then
  // yields the CPU to PID 1's event loop (signals, reaping) whenever both want it.
  try {
    setPriority(0, RENDER_NICE);
  } catch {
    // Not allowed or not supported: the render still runs, at the process's priority.
  }
  const load = (name: EngineName): Promise<TemplateEngine> => (name === 'nunjucks' ? loadNunjucksEngine() : loadGoEngine({ extraFunctionNames: data.extraNames }));
  const source = createTemplateSource(load);
  // One job at a time: the main thread sends the next only after this one's reply.
  port.on('message', (job: RenderJob) => {
    void runJob(job, source, port).then((result) => port.postMessage({ id: job.id, kind: 'done', result } satisfies ThreadMessage));
  });
}

const data = workerData as Partial<ThreadData> | undefined;
if (parentPort !== null && data?.stewardRenderThread === true) serve(parentPort, data as ThreadData);
