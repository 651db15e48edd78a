// confd's etcdv3 key rule, and the byte ranges that implement it. A requested key covers itself
// and what lies below it plus '/': `/app/db` covers `/app/db` and `/app/db/host`, never
// `/app/dbx`. etcd can only range over byte prefixes, so reads and watches ask for the prefix
// and drop what the rule excludes.

/** Whether `key` belongs under the requested key `requested` (confd's etcdv3 GetValues filter). */
export function covers(requested: string, key: string): boolean {
  if (key === requested) return true;
  return key.startsWith(requested.endsWith('/') ? requested : `${requested}/`);
}

export interface KeyRange {
  readonly key: Buffer;
  readonly range_end: Buffer;
}

/** The etcd range of every key that starts with `prefix` (all keys for ''). */
export function prefixRange(prefix: string): KeyRange {
  const start = Buffer.from(prefix, 'utf8');
  // etcd rejects an empty key; '\0' with range_end '\0' means "from the first key to the end".
  if (start.length === 0) return { key: Buffer.from([0]), range_end: Buffer.from([0]) };
  const end = Buffer.from(start);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return { key: start, range_end: end.subarray(0, i + 1) };
    }
  }
  return { key: start, range_end: Buffer.from([0]) };
}

/**
 * The keys to watch for `keys`: each distinct key once, without the keys another one already
 * covers (`/app/db/host` when `/app/db` is watched), since its events come through that watch.
 */
export function watchedKeys(keys: readonly string[]): string[] {
  const sorted = [...new Set(keys)].sort();
  return sorted.filter((k) => !sorted.some((other) => other !== k && covers(other, k)));
}
