// The key store a compiled template renders from, built from the values as the stores deliver
// them: keys as text, values as byte strings (one char per byte, go/bytes.ts). The Go engine
// takes bytes, so its keys become their UTF-8 bytes and values stay as they are; nunjucks takes
// text, so a value that is not UTF-8 is refused, naming the key and never the value.

import { fromBytes, isValidUtf8, toBytes } from './go/bytes.ts';
import { KvStore } from './confd/store.ts';
import { TemplateError, type CompiledTemplate } from './engine.ts';

/**
 * The store for `template`. `keyName` says how a key is named in an error (the resource's
 * prefix joined back on); a refused value throws TemplateError without `key`, since the key is
 * there and it is its value that cannot be used.
 */
export function storeFor(
  template: Pick<CompiledTemplate, 'encoding'>,
  values: Iterable<readonly [string, string]>,
  keyName: (key: string) => string = (key) => key,
): KvStore {
  if (template.encoding === 'latin1') {
    const entries: [string, string][] = [];
    for (const [key, value] of values) entries.push([toBytes(key), value]);
    return new KvStore(entries, 'bytes');
  }
  const entries: [string, string][] = [];
  for (const [key, value] of values) {
    if (!isValidUtf8(value)) {
      throw new TemplateError(`the value of key ${keyName(key)} is not valid UTF-8: a nunjucks template takes text only (the go engine takes any bytes)`, {
        template: '',
      });
    }
    entries.push([key, fromBytes(value)]);
  }
  return new KvStore(entries, 'text');
}
