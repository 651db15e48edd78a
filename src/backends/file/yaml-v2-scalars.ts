// How confd's YAML library (gopkg.in/yaml.v2, decoding into interface{}) types a scalar, and how
// confd's file backend then prints it. yaml.v2 follows YAML 1.1: `yes`, `on`, `y` are booleans,
// `0777` is octal, `1_000` is an int. confd keeps strings, ints, bools and float64s and silently
// drops everything else (nulls, integers above int64, which yaml.v2 returns as uint64).

export type GoScalar =
  | { readonly kind: 'null' }
  | { readonly kind: 'bool'; readonly value: boolean }
  /** int64 range: confd prints it with strconv.Itoa (int is 64-bit on the platforms it ships for). */
  | { readonly kind: 'int'; readonly value: bigint }
  /** Above int64: yaml.v2 returns a uint64, which confd's nodeWalk does not handle. */
  | { readonly kind: 'uint'; readonly value: bigint }
  | { readonly kind: 'float'; readonly value: number }
  /** `bytes`: the value is a byte string, one char per byte (a !!binary scalar), not text. */
  | { readonly kind: 'str'; readonly value: string; readonly bytes?: true }
  /** The `<<` merge key. */
  | { readonly kind: 'merge' };

export class ScalarTagError extends Error {}

const STR = '!!str';
const BINARY = '!!binary';
const RESOLVABLE: ReadonlySet<string> = new Set(['', STR, '!!bool', '!!int', '!!float', '!!null', '!!timestamp']);

/** yaml.v2's resolveMap: the exact spellings it types without parsing. */
const TABLE: ReadonlyMap<string, GoScalar> = new Map<string, GoScalar>([
  ...['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'].map((s): [string, GoScalar] => [s, { kind: 'bool', value: true }]),
  ...['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF'].map((s): [string, GoScalar] => [s, { kind: 'bool', value: false }]),
  ...['', '~', 'null', 'Null', 'NULL'].map((s): [string, GoScalar] => [s, { kind: 'null' }]),
  ...['.nan', '.NaN', '.NAN'].map((s): [string, GoScalar] => [s, { kind: 'float', value: Number.NaN }]),
  ...['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF'].map((s): [string, GoScalar] => [s, { kind: 'float', value: Number.POSITIVE_INFINITY }]),
  ...['-.inf', '-.Inf', '-.INF'].map((s): [string, GoScalar] => [s, { kind: 'float', value: Number.NEGATIVE_INFINITY }]),
  ['<<', { kind: 'merge' }],
]);

const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
// What Go's strconv.ParseFloat accepts for a string starting with "." (no base prefix, so no
// underscores and no hex).
const DOT_FLOAT = /^\.[0-9]+([eE][-+]?[0-9]+)?$/;
const TIMESTAMP = /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(([Tt ]|\s+)[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\.[0-9]*)?(\s*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?)?$/;

/** "tag:yaml.org,2002:int" -> "!!int"; local tags ("!foo") unchanged. */
export function shortTag(tag: string | undefined): string {
  if (tag === undefined) return '';
  const long = 'tag:yaml.org,2002:';
  return tag.startsWith(long) ? `!!${tag.slice(long.length)}` : tag;
}

/**
 * yaml.v2's resolve(): the type of a scalar with text `text`, given its tag (short form, '' for
 * a plain scalar without one). Quoted and block scalars without a tag are strings and never get
 * here. Throws ScalarTagError where yaml.v2 fails ("cannot decode !!str `x` as a !!int").
 */
export function resolveScalar(tag: string, text: string): GoScalar {
  if (tag === BINARY) return { kind: 'str', value: Buffer.from(text, 'base64').toString('latin1'), bytes: true };
  // Any other tag yaml.v2 cannot resolve ("!foo", "!") leaves the text as it is.
  if (!RESOLVABLE.has(tag)) return { kind: 'str', value: text };
  const resolved = resolveUntagged(tag, text);
  if (tag === '' || tag === STR) return resolved;
  const got = kindTag(resolved);
  if (got === tag) return resolved;
  if (tag === '!!float' && resolved.kind === 'int') return { kind: 'float', value: Number(resolved.value) };
  if (tag === '!!timestamp' && resolved.kind === 'str' && TIMESTAMP.test(text)) return resolved;
  throw new ScalarTagError(`cannot decode ${got} \`${text}\` as a ${tag}`);
}

function kindTag(s: GoScalar): string {
  switch (s.kind) {
    case 'null':
      return '!!null';
    case 'bool':
      return '!!bool';
    case 'int':
    case 'uint':
      return '!!int';
    case 'float':
      return '!!float';
    case 'merge':
      return '!!merge';
    case 'str':
      return STR;
  }
}

function hint(text: string): 'N' | 'S' | 'D' | 'M' | '.' | undefined {
  if (text === '') return 'N';
  const c = text.charAt(0);
  if (c === '+' || c === '-') return 'S';
  if (c >= '0' && c <= '9') return 'D';
  if ('yYnNtTfFoO~'.includes(c)) return 'M';
  if (c === '.') return '.';
  return undefined;
}

function resolveUntagged(tag: string, text: string): GoScalar {
  const h = hint(text);
  if (h === undefined || tag === STR) return { kind: 'str', value: text };
  const known = TABLE.get(text);
  if (known !== undefined) return known;
  if (h === '.') {
    if (DOT_FLOAT.test(text)) {
      const f = Number(text);
      if (Number.isFinite(f)) return { kind: 'float', value: f };
    }
  } else if (h === 'D' || h === 'S') {
    // A timestamp decodes to its own text when the target is interface{}, the same as a string;
    // it only matters for an explicit !!timestamp tag (handled by the caller).
    const plain = text.replaceAll('_', '');
    const asInt = parseGoInt(plain, 0);
    if (asInt !== undefined) return { kind: 'int', value: asInt };
    const asUint = parseGoUint(plain, 0);
    if (asUint !== undefined) return { kind: 'uint', value: asUint };
    if (YAML_STYLE_FLOAT.test(plain)) {
      // Go's ParseFloat fails on overflow (then yaml.v2 falls through to a string).
      const f = Number(plain);
      if (Number.isFinite(f)) return { kind: 'float', value: f };
    }
    if (plain.startsWith('0b')) {
      const i = parseGoInt(plain.slice(2), 2);
      if (i !== undefined) return { kind: 'int', value: i };
      const u = parseGoUint(plain.slice(2), 2);
      if (u !== undefined) return { kind: 'uint', value: u };
    } else if (plain.startsWith('-0b')) {
      const i = parseGoInt(`-${plain.slice(3)}`, 2);
      if (i !== undefined) return { kind: 'int', value: i };
    }
  }
  return { kind: 'str', value: text };
}

const MAX_UINT64 = (1n << 64n) - 1n;
const INT64_CUTOFF = 1n << 63n;

/** Go's strconv.ParseUint(s, base, 64) for base 0 (prefix decides) or 2; undefined on any error. */
export function parseGoUint(s: string, base: 0 | 2): bigint | undefined {
  if (s === '') return undefined;
  let radix = 10;
  let digits = s;
  if (base === 2) radix = 2;
  else if (s.charAt(0) === '0') {
    const p = s.charAt(1).toLowerCase();
    if (s.length >= 3 && p === 'b') [radix, digits] = [2, s.slice(2)];
    else if (s.length >= 3 && p === 'o') [radix, digits] = [8, s.slice(2)];
    else if (s.length >= 3 && p === 'x') [radix, digits] = [16, s.slice(2)];
    else [radix, digits] = [8, s.slice(1)];
  }
  let n = 0n;
  const r = BigInt(radix);
  for (const ch of digits.toLowerCase()) {
    let d: number;
    if (ch >= '0' && ch <= '9') d = ch.charCodeAt(0) - 48;
    else if (ch >= 'a' && ch <= 'z') d = ch.charCodeAt(0) - 87;
    else return undefined;
    if (d >= radix) return undefined;
    n = n * r + BigInt(d);
    if (n > MAX_UINT64) return undefined;
  }
  return n;
}

/** Go's strconv.ParseInt(s, base, 64): an optional sign, then ParseUint, within int64. */
export function parseGoInt(s: string, base: 0 | 2): bigint | undefined {
  if (s === '') return undefined;
  let negative = false;
  let rest = s;
  if (s.charAt(0) === '+' || s.charAt(0) === '-') {
    negative = s.charAt(0) === '-';
    rest = s.slice(1);
  }
  const un = parseGoUint(rest, base);
  if (un === undefined) return undefined;
  if (!negative && un >= INT64_CUTOFF) return undefined;
  if (negative && un > INT64_CUTOFF) return undefined;
  return negative ? -un : un;
}

/** Go's strconv.FormatFloat(f, 'f', -1, 64): the shortest exact digits, never an exponent. */
export function formatGoFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Number.POSITIVE_INFINITY) return '+Inf';
  if (f === Number.NEGATIVE_INFINITY) return '-Inf';
  const sign = f < 0 || Object.is(f, -0) ? '-' : '';
  // toExponential() without an argument gives the shortest digits that read back as f, as Go's
  // shortest formatting does; only the placement of the point differs.
  const [mantissa = '0', exponent = '0'] = Math.abs(f).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const point = Number(exponent) + 1;
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** How confd's nodeWalk prints a scalar, or undefined for the kinds it drops. */
export function confdScalarText(s: GoScalar): string | undefined {
  switch (s.kind) {
    case 'str':
      return s.value;
    case 'int':
      return s.value.toString();
    case 'bool':
      return s.value ? 'true' : 'false';
    case 'float':
      return formatGoFloat(s.value);
    case 'merge':
      // "<<" as a value (not a key) decodes to the string "<<".
      return '<<';
    case 'null':
    case 'uint':
      return undefined;
  }
}
