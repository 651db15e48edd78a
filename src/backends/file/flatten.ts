// One YAML or JSON file -> confd's flat keys, as confd's file backend builds them: yaml.v2
// unmarshals the document into map[interface{}]interface{}, then nodeWalk joins map keys and
// list indexes onto "/" with path.Join and prints the scalars it knows (§3.3 of the confd notes).
//
// The `yaml` package only parses the structure (JSON included), with every scalar kept as text;
// the scalars are typed here with yaml.v2's own rules (yaml-v2-scalars.ts), because none of the
// `yaml` package's schemas match yaml.v2 (`y` and `on` are booleans to yaml.v2, `08` is 8,
// `1_000` is 1000, ints above 2^53 must keep their digits).

import type { Alias, Document, Node, ParsedNode, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import { fromBytes, goPathJoin, toBytes } from '../../render/index.ts';
import { confdScalarText, resolveScalar, ScalarTagError, shortTag, type GoScalar } from './yaml-v2-scalars.ts';

export class FileParseError extends Error {
  readonly file: string;
  readonly line: number | undefined;
  constructor(file: string, line: number | undefined, column: number | undefined, message: string) {
    const where = line === undefined ? '' : column === undefined ? `line ${line}: ` : `line ${line}, column ${column}: `;
    super(`${file}: ${where}${message}`);
    this.name = 'FileParseError';
    this.file = file;
    this.line = line;
  }
}

type YamlModule = typeof import('yaml');

/** A decoded value, as yaml.v2 hands it to nodeWalk. */
type GoValue = Map<string, GoValue> | GoValue[] | GoScalar;

// Expanding aliases can blow a small file up exponentially ("billion laughs"); yaml.v2 refuses
// such documents too.
const MAX_DECODED_NODES = 1_000_000;

/**
 * Parses `source` (the content of `file`) and adds its flattened keys to `into`, overriding
 * keys already there (later files win, as in confd). Throws FileParseError naming the file and
 * line.
 */
export function flattenDocument(yaml: YamlModule, file: string, source: string, into: Map<string, string>): void {
  const lineCounter = new yaml.LineCounter();
  const fail = (offset: number | undefined, message: string): never => {
    const pos = offset === undefined ? undefined : lineCounter.linePos(offset);
    throw new FileParseError(file, pos?.line, pos?.col, message);
  };
  // yaml.v2's Unmarshal reads the first document only. failsafe: every scalar stays text, typed
  // below; duplicate keys are allowed (the later one wins, as in yaml.v2); `<<` handled below.
  const docs = yaml.parseAllDocuments(source, {
    schema: 'failsafe',
    uniqueKeys: false,
    merge: false,
    prettyErrors: false,
    lineCounter,
  });
  if ('empty' in docs) {
    // Nothing but comments (or nothing at all); a stream-level error still counts.
    const error = docs.errors[0];
    if (error !== undefined) fail(error.pos[0], error.message);
    return;
  }
  const first = docs[0];
  if (first === undefined) return;
  const error = first.errors[0];
  if (error !== undefined) fail(error.pos[0], error.message);

  const decoder = new Decoder(yaml, first, fail);
  const root = first.contents === null ? undefined : decoder.decode(first.contents);
  if (root === undefined) return;
  if (!(root instanceof Map)) {
    if (!Array.isArray(root) && root.kind === 'null') return;
    const what = Array.isArray(root) ? 'a list' : 'a single value';
    fail(first.contents?.range?.[0], `the file must hold a mapping (key: value) at the top, not ${what}`);
  }
  walk(root, '/', into);
}

/** confd's nodeWalk. */
function walk(node: GoValue, key: string, into: Map<string, string>): void {
  if (node instanceof Map) {
    for (const [k, v] of node) walk(v, goPathJoin(key, k), into);
  } else if (Array.isArray(node)) {
    node.forEach((item, i) => walk(item, goPathJoin(key, String(i)), into));
  } else {
    // Values leave as byte strings (what the stores give): text as its UTF-8, !!binary as it is.
    const text = confdScalarText(node);
    if (text !== undefined) into.set(key, 'bytes' in node && node.bytes === true ? text : toBytes(text));
  }
}

class Decoder {
  readonly #yaml: YamlModule;
  readonly #doc: Document.Parsed;
  readonly #fail: (offset: number | undefined, message: string) => never;
  readonly #active = new Set<Node>();
  #count = 0;

  constructor(yaml: YamlModule, doc: Document.Parsed, fail: (offset: number | undefined, message: string) => never) {
    this.#yaml = yaml;
    this.#doc = doc;
    this.#fail = fail;
  }

  decode(node: ParsedNode | Alias.Parsed | Node): GoValue {
    if (++this.#count > MAX_DECODED_NODES) this.#fail(node.range?.[0], 'too many aliases expanded (a "billion laughs" document?)');
    const y = this.#yaml;
    if (y.isAlias(node)) return this.#withTarget(node, (target) => this.decode(target));
    if (y.isScalar(node)) return this.#scalar(node);
    if (!y.isMap(node) && !y.isSeq(node)) return this.#fail(undefined, 'unsupported YAML node');
    // Collections are marked while being decoded so that an alias to an enclosing one (which
    // would never end) is reported instead.
    this.#active.add(node);
    try {
      return y.isMap(node) ? this.#mapping(node, new Map()) : this.#sequence(node);
    } finally {
      this.#active.delete(node);
    }
  }

  #withTarget<T>(alias: Alias, use: (target: Node) => T): T {
    const target = alias.resolve(this.#doc);
    if (target === undefined) return this.#fail(alias.range?.[0], `unknown anchor *${alias.source}`);
    if (this.#active.has(target)) return this.#fail(alias.range?.[0], `alias *${alias.source} refers to itself`);
    this.#active.add(target);
    try {
      return use(target);
    } finally {
      this.#active.delete(target);
    }
  }

  #sequence(node: YAMLSeq): GoValue[] {
    return node.items.map((item) => (item === null ? { kind: 'null' } : this.decode(item as Node)));
  }

  /** yaml.v2's mapping(): pairs in order into `out`; `<<` merges (and overrides) in place. */
  #mapping(node: YAMLMap, out: Map<string, GoValue>): Map<string, GoValue> {
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      const valueNode = pair.value as Node | null;
      if (keyNode !== null && this.#isMergeKey(keyNode)) {
        this.#merge(valueNode, out, keyNode);
        continue;
      }
      const key = this.#key(keyNode);
      out.set(key, valueNode === null ? { kind: 'null' } : this.decode(valueNode));
    }
    return out;
  }

  #isMergeKey(node: Node): boolean {
    const y = this.#yaml;
    if (!y.isScalar(node) || node.value !== '<<') return false;
    const tag = shortTag(node.tag);
    return (tag === '' && node.type === 'PLAIN') || tag === '!!merge';
  }

  #merge(value: Node | null, out: Map<string, GoValue>, at: Node): void {
    const y = this.#yaml;
    const wantMap = (): never => this.#fail(value?.range?.[0] ?? at.range?.[0], 'map merge requires map or sequence of maps as the value');
    const mergeOne = (n: Node): void => {
      if (y.isAlias(n)) {
        this.#withTarget(n, (target) => (y.isMap(target) ? this.#mapping(target, out) : wantMap()));
      } else if (y.isMap(n)) this.#mapping(n, out);
      else wantMap();
    };
    if (value === null) return wantMap();
    if (y.isSeq(value)) {
      // yaml.v2 steps backwards so that earlier maps take precedence.
      const items = value.items as (Node | null)[];
      for (let i = items.length - 1; i >= 0; i--) {
        const item = items[i];
        if (item === null || item === undefined) wantMap();
        else mergeOne(item);
      }
      return;
    }
    mergeOne(value);
  }

  /**
   * A map key as a string. confd asserts k.(string) and panics on anything else (`80:`, `yes:`,
   * `~:`); steward uses the key as written instead, which is what such a file obviously means.
   */
  #key(node: Node | null): string {
    const y = this.#yaml;
    if (node === null) return '';
    if (y.isAlias(node)) return this.#withTarget(node, (target) => this.#key(target));
    if (!y.isScalar(node)) return this.#fail(node.range?.[0], 'a mapping key must be a plain value, not a list or a mapping');
    const decoded = this.#scalar(node);
    // Key names are text.
    if (decoded.kind === 'str') return decoded.bytes === true ? fromBytes(decoded.value) : decoded.value;
    return scalarText(node);
  }

  #scalar(node: Scalar): GoScalar {
    const tag = shortTag(node.tag);
    if (node.value instanceof Uint8Array) {
      // The `yaml` package decodes !!binary itself even in the failsafe schema.
      return { kind: 'str', value: Buffer.from(node.value).toString('latin1'), bytes: true };
    }
    const text = scalarText(node);
    // yaml.v2: a quoted or block scalar without a tag is a string; only plain ones are typed.
    if (tag === '' && node.type !== 'PLAIN') return { kind: 'str', value: text };
    try {
      return resolveScalar(tag, text);
    } catch (error) {
      if (error instanceof ScalarTagError) return this.#fail(node.range?.[0], error.message);
      throw error;
    }
  }
}

function scalarText(node: Scalar): string {
  const v = node.value;
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  return String(v);
}
