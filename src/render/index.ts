// The render package as the rest of steward sees it: import from here, never from the files
// behind it. It stays light: the engines (the Go engine, nunjucks) load on first use, because
// start-up time matters and most containers use only one of them.

import type { TemplateEngine } from './engine.ts';
import type { GoEngineOptions, GoTemplateEngine } from './go-engine.ts';

export type { CompiledTemplate, EngineName, ExtraFunctions, RenderContext, RenderLimits, TemplateEngine } from './engine.ts';
export { RenderLimitError, TemplateError } from './engine.ts';
export { extrasFromSnapshot, snapshotExtras } from './extras-snapshot.ts';
export type { ExtraAnswer, ExtraSnapshot, SnapshotFunction } from './extras-snapshot.ts';
export { createTemplateSource } from './templates.ts';
export type { TemplateSource } from './templates.ts';
export { KvStore } from './confd/store.ts';
export { storeFor } from './store-for.ts';
/** Byte strings (one char per byte) to and from text; see go/bytes.ts. */
export { fromBytes, toBytes } from './go/bytes.ts';
export type { KVPair } from './confd/store.ts';
export type { GoEngineOptions, GoTemplateEngine } from './go-engine.ts';
/** Go's path.Clean and path.Join, as confd names keys. */
export { clean as goPathClean, join as goPathJoin } from './go/path.ts';

/** The 'go' engine: Go's text/template with confd's functions. */
export async function loadGoEngine(options: GoEngineOptions = {}): Promise<GoTemplateEngine> {
  return (await import('./go-engine.ts')).createGoEngine(options);
}

/** The 'nunjucks' engine, with confd's functions as globals. */
export async function loadNunjucksEngine(): Promise<TemplateEngine> {
  return (await import('./nunjucks.ts')).loadNunjucksEngine();
}
