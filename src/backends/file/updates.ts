// Picking the requested keys out of everything a backend learned at once (the files, a Consul
// recursive read).

/** The keys of `values` that `belongs` accepts for at least one of `keys`. */
export function selectValues(
  values: ReadonlyMap<string, string>,
  keys: readonly string[],
  belongs: (requested: string, key: string) => boolean,
): Map<string, string> {
  const selected = new Map<string, string>();
  for (const [key, value] of values) if (keys.some((requested) => belongs(requested, key))) selected.set(key, value);
  return selected;
}
