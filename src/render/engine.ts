// The boundary between resources/ and the template engines. Engines know nothing about
// backends: they get a template text once (compile) and a RenderContext per render.

import type { KvStore } from './confd/store.ts';

/** Functions steward adds beside confd's set (role(), isLeader(), members(), hasLock(), ...). */
export type ExtraFunctions = Readonly<Record<string, (...args: unknown[]) => unknown>>;

export interface RenderContext {
  /** The resource's keys, with the resource prefix already stripped as confd does. */
  readonly store: KvStore;
  /** Environment seen by getenv(). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** steward's own functions; engines expose them beside confd's. */
  readonly extras: ExtraFunctions;
  /** Bounds checked while the template runs (the Go engine; nunjucks output is measured after). */
  readonly limits?: RenderLimits;
}

/** What a render may use before it is ended with a RenderLimitError. */
export interface RenderLimits {
  /** Output size, counted as the output grows (bytes for the Go engine). */
  readonly maxBytes: number;
  /** Asked now and then while the template runs: true ends the render. */
  readonly expired?: () => boolean;
}

/** A render ended by its RenderLimits: not the template's fault, so not a TemplateError. */
export class RenderLimitError extends Error {
  readonly limit: 'bytes' | 'time';
  constructor(limit: 'bytes' | 'time') {
    super(limit === 'bytes' ? 'the output grew past its size limit' : 'the render ran past its time limit');
    this.name = 'RenderLimitError';
    this.limit = limit;
  }
}

export interface CompiledTemplate {
  /** The output; write it with Buffer.from(output, encoding). */
  render(ctx: RenderContext): string;
  /**
   * 'latin1' for the Go engine, whose output is a byte string (one char per byte, written as
   * it is), 'utf8' for nunjucks, whose output is Unicode text.
   */
  readonly encoding: 'latin1' | 'utf8';
  /** Names of the functions this template calls (its own defined templates included); undefined when the engine cannot tell. */
  readonly calls?: ReadonlySet<string>;
}

export type EngineName = 'go' | 'nunjucks';

export interface TemplateEngine {
  readonly name: EngineName;
  /**
   * Parses `text` (Unicode text, or the template file's bytes); throws TemplateError on a
   * syntax error. nunjucks refuses bytes that are not UTF-8.
   */
  compile(name: string, text: string | Uint8Array): CompiledTemplate;
}

/** A parse or render failure, located as precisely as the engine can. */
export class TemplateError extends Error {
  readonly template: string;
  readonly line: number | undefined;
  readonly column: number | undefined;
  /** The key that was missing, when that is the cause. */
  readonly key: string | undefined;
  constructor(message: string, where: { template: string; line?: number; column?: number; key?: string }) {
    super(message);
    this.name = 'TemplateError';
    this.template = where.template;
    this.line = where.line;
    this.column = where.column;
    this.key = where.key;
  }
}
