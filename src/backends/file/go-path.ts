// Go's path.Clean and path.Join, which confd uses to name keys: the file backend joins map keys
// and list indexes onto "/", the Consul backend cleans "/" + the Consul key. Consul reuses these
// (they live here because the file backend needs the most of them).

/** Go's path.Clean: no "//", no "." segments, ".." resolved, no trailing "/" (except "/" itself). */
export function cleanPath(path: string): string {
  if (path === '') return '.';
  const rooted = path.startsWith('/');
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      // A rooted path cannot climb above "/": Go drops the "..".
      continue;
    }
    out.push(segment);
  }
  const joined = out.join('/');
  if (rooted) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/** Go's path.Join: the non-empty elements joined with "/", then cleaned; "" when all are empty. */
export function joinPath(...elements: readonly string[]): string {
  const parts = elements.filter((e) => e !== '');
  return parts.length === 0 ? '' : cleanPath(parts.join('/'));
}
