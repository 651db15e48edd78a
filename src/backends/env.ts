// The env backend: confd's mapping between keys and environment variables (§3.4 of the confd
// notes). A key asks for every variable whose name starts with the key upper-cased with "/" as
// "_" (/myapp/db -> MYAPP_DB, so MYAPP_DBX too); a variable comes back as its name lower-cased
// with "_" as "/" (MYAPP_DB_URL -> /myapp/db/url). The match is case-sensitive, so a variable
// whose name is lower-case where the key is compared never matches.
//
// A process's environment cannot change, so a watch has nothing to report: it delivers nothing
// and never fails. (confd's env WatchPrefix blocks forever, which is why confd -watch renders
// nothing with env; steward renders from read() and then simply has no updates.)
//
// Values are handed on as the UTF-8 bytes of the text Node decoded from the environment: Node
// decodes it before any JavaScript runs, so bytes that are not UTF-8 arrive as U+FFFD and their
// raw form cannot be recovered.

import { toBytes } from '../render/index.ts';
import type { Backend, BackendOptions, Cursor, Snapshot, WatchListener } from './backend.ts';

/** confd's transform(): "/myapp/db" -> "MYAPP_DB". */
export function envVariablePrefix(key: string): string {
  const trimmed = key.startsWith('/') ? key.slice(1) : key;
  return goCase(trimmed.replaceAll('/', '_'), 'upper');
}

/** confd's clean(): "MYAPP_DB_URL" -> "/myapp/db/url". */
export function envVariableKey(name: string): string {
  return goCase(`/${name}`, 'lower').replaceAll('_', '/');
}

// Go's strings.ToUpper/ToLower map each rune to one rune; JavaScript may expand one ("ß" ->
// "SS"). Keep such characters as they are, as Go does.
function goCase(text: string, to: 'upper' | 'lower'): string {
  let out = '';
  for (const ch of text) {
    const mapped = to === 'upper' ? ch.toUpperCase() : ch.toLowerCase();
    out += [...mapped].length === 1 ? mapped : ch;
  }
  return out;
}

export function createEnvBackend(options: BackendOptions): Backend {
  const env = options.env;
  return {
    name: 'env',
    source: 'the environment',

    read(keys: readonly string[], signal: AbortSignal): Promise<Snapshot> {
      signal.throwIfAborted();
      const values = new Map<string, string>();
      const prefixes = keys.map(envVariablePrefix);
      for (const [name, value] of Object.entries(env)) {
        if (value === undefined) continue;
        if (prefixes.some((prefix) => name.startsWith(prefix))) values.set(envVariableKey(name), toBytes(value));
      }
      return Promise.resolve({ values, cursor: undefined });
    },

    watch(_keys: readonly string[], _from: Cursor, _listener: WatchListener, _signal: AbortSignal): void {
      // Nothing can change: no update, no status, nothing to stop.
    },

    covers(requested: string, key: string): boolean {
      // The same test read() applies, expressed on the key a variable comes back as.
      return envVariablePrefix(key).startsWith(envVariablePrefix(requested));
    },

    close(): Promise<void> {
      return Promise.resolve();
    },
  };
}
