// confd's key/value view for one template resource: memkv's semantics (kelseyhightower/memkv,
// the version confd's last master builds with), read-only since a render never writes.

import { MissingKeyError } from '../go/errors.ts';
import { base, clean, dir, match } from '../go/path.ts';
import type { RuneReading } from '../go/path.ts';
import { compareGo, lessGo } from '../go/strings.ts';
import { goSortArray } from '../go/sort.ts';

/** memkv's KeyError. */
function keyError(key: string): MissingKeyError {
  return new MissingKeyError(key, `key does not exist: ${key}`);
}

/** memkv.KVPair; field names are the ones templates use (`.Key`, `.Value`). */
export interface KVPair {
  readonly Key: string;
  readonly Value: string;
}

interface Entry {
  readonly pair: KVPair;
  readonly dirTerms: readonly string[];
}

function terms(p: string): string[] {
  return clean(p).split('/');
}

function samePrefixTerms(prefix: readonly string[], test: readonly string[]): boolean {
  if (test.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== test[i]) return false;
  return true;
}

function stripKey(key: string, prefix: string): string {
  if (key.startsWith(prefix)) key = key.slice(prefix.length);
  return key.startsWith('/') ? key.slice(1) : key;
}

function sortedStrings(set: Set<string>): string[] {
  const out = [...set];
  out.sort(compareGo);
  return out;
}

export class KvStore {
  readonly #byKey: Map<string, Entry>;
  // Sorted once: memkv sorts every result by key, and keys are unique, so order is stable.
  readonly #sorted: Entry[];
  readonly #reading: RuneReading;

  /**
   * `entries` are absolute keys ("/app/db/host") to values, as confd stores them: byte strings
   * for the Go engine (the default), Unicode text for nunjucks (`reading: 'text'`).
   */
  constructor(entries: Iterable<readonly [string, string]> = [], reading: RuneReading = 'bytes') {
    this.#reading = reading;
    this.#byKey = new Map();
    for (const [Key, Value] of entries) {
      this.#byKey.set(Key, { pair: Object.freeze({ Key, Value }), dirTerms: terms(dir(Key)) });
    }
    this.#sorted = [...this.#byKey.values()];
    this.#sorted.sort((a, b) => compareGo(a.pair.Key, b.pair.Key));
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** All keys, in Go's sort order. */
  keys(): string[] {
    return this.#sorted.map((e) => e.pair.Key);
  }

  /** `exists`: whether the exact key is present. */
  exists(key: string): boolean {
    return this.#byKey.has(key);
  }

  /** `get`: the pair for key; throws memkv's KeyError ("key does not exist: KEY"). */
  get(key: string): KVPair {
    const e = this.#byKey.get(key);
    if (e === undefined) throw keyError(key);
    return e.pair;
  }

  /** `getv`: the value for key, else the first default if one is given, else throws. */
  getv(key: string, ...defaults: string[]): string {
    const e = this.#byKey.get(key);
    if (e !== undefined) return e.pair.Value;
    if (defaults.length > 0) return defaults[0] as string;
    throw keyError(key);
  }

  /** `gets`: pairs whose key matches the path.Match pattern, sorted by key. */
  gets(pattern: string): KVPair[] {
    const out: KVPair[] = [];
    for (const e of this.#sorted) if (match(pattern, e.pair.Key, this.#reading)) out.push(e.pair);
    return out;
  }

  /** `getvs`: values of the matching pairs, sorted as strings (not by key). */
  getvs(pattern: string): string[] {
    const out = this.gets(pattern).map((p) => p.Value);
    goSortArray(out, lessGo);
    return out;
  }

  /**
   * `ls`: the names directly under path (for a key deeper down, its first segment below path).
   * A key equal to path lists its own base name. memkv compares path terms, and "/" splits into
   * ["", ""], so `ls "/"` only sees keys that sit directly under the root; kept as confd does.
   */
  ls(path: string): string[] {
    const found = new Set<string>();
    const prefix = terms(path);
    for (const e of this.#sorted) {
      const key = e.pair.Key;
      if (key === path) {
        found.add(base(key));
        continue;
      }
      if (samePrefixTerms(prefix, e.dirTerms)) found.add(stripKey(key, path).split('/')[0] as string);
    }
    return sortedStrings(found);
  }

  /** `lsdir`: the names under path that have keys below them. */
  lsdir(path: string): string[] {
    const found = new Set<string>();
    const prefix = terms(path);
    for (const e of this.#sorted) {
      if (!e.pair.Key.startsWith(path)) continue;
      const items = e.dirTerms;
      if (samePrefixTerms(prefix, items) && items.length - prefix.length >= 1) {
        found.add(items[prefix.length] as string);
      }
    }
    return sortedStrings(found);
  }
}
