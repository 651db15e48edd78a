// steward's functions (role(), members(), hasLock()) are closures over state that lives on the
// main thread, while templates render in a worker thread. They cross as data taken when the
// render starts, and the worker offers that data as functions again. A synchronous render saw
// the same: nothing could change while it ran.

import { resolve } from 'node:path';
import type { ExtraFunctions } from './engine.ts';

export type ExtraAnswer =
  /** A function of no arguments: what it returned. */
  | { readonly kind: 'value'; readonly value: unknown }
  /** What it threw, or why it cannot be called from another thread. */
  | { readonly kind: 'error'; readonly message: string }
  /** A function of one path (hasLock): its answer for each path that has one, `otherwise` for the rest. */
  | { readonly kind: 'by-path'; readonly answers: Readonly<Record<string, unknown>>; readonly otherwise: unknown };

export type ExtraSnapshot = Readonly<Record<string, ExtraAnswer>>;

/** A function that takes arguments says how to take its snapshot. */
export type SnapshotFunction = ((...args: never[]) => unknown) & { readonly snapshot: () => ExtraAnswer };

function answerOf(name: string, f: (...args: unknown[]) => unknown): ExtraAnswer {
  const own = (f as Partial<SnapshotFunction>).snapshot;
  if (typeof own === 'function') return own();
  if (f.length > 0) return { kind: 'error', message: `${name} takes arguments and cannot be called from the render thread` };
  try {
    return { kind: 'value', value: f() };
  } catch (error) {
    return { kind: 'error', message: error instanceof Error ? error.message : String(error) };
  }
}

/** Every function's answer now (own properties only, as the engines see them). */
export function snapshotExtras(extras: ExtraFunctions): ExtraSnapshot {
  const out: Record<string, ExtraAnswer> = {};
  for (const name of Object.keys(extras)) {
    const f = extras[name];
    if (typeof f === 'function') out[name] = answerOf(name, f);
  }
  return out;
}

/** The functions a snapshot stands for, to hand to an engine. */
export function extrasFromSnapshot(snapshot: ExtraSnapshot): ExtraFunctions {
  const out: Record<string, (...args: unknown[]) => unknown> = {};
  for (const [name, answer] of Object.entries(snapshot)) {
    switch (answer.kind) {
      case 'value':
        // A fresh copy per call, as the function itself returned: a template may reverse it in place.
        out[name] = () => structuredClone(answer.value);
        break;
      case 'error':
        out[name] = () => {
          throw new Error(answer.message);
        };
        break;
      case 'by-path':
        out[name] = (path) => {
          const key = resolve(String(path));
          return Object.hasOwn(answer.answers, key) ? answer.answers[key] : answer.otherwise;
        };
        break;
    }
  }
  return out;
}
