// Consul parses every duration (`?wait=`, a session's TTL and LockDelay) with Go's
// time.ParseDuration and prints them with Duration.String(); its error texts quote those
// messages verbatim, so the double reproduces both instead of using a JavaScript parser.

const NS_PER_UNIT: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5 MICRO SIGN
  'μs': 1e3, // U+03BC GREEK SMALL LETTER MU
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

export class GoDurationError extends Error {}

/** Go's `strconv.Quote` for the printable ASCII that appears in practice. */
function goQuote(text: string): string {
  return JSON.stringify(text);
}

/**
 * Parses a Go duration string ("10s", "1m30s", "1.5h", "0") into nanoseconds.
 * Throws GoDurationError with the same message as Go's time.ParseDuration.
 */
export function parseGoDuration(input: string): number {
  const invalid = (): GoDurationError => new GoDurationError(`time: invalid duration ${goQuote(input)}`);
  let rest = input;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw invalid();
  let total = 0;
  while (rest !== '') {
    const number = /^(\d*)(?:\.(\d*))?/.exec(rest);
    const whole = number?.[1] ?? '';
    const fraction = number?.[2];
    if (whole === '' && (fraction === undefined || fraction === '')) throw invalid();
    rest = rest.slice(number?.[0].length ?? 0);
    const unitMatch = /^[^\d.]+/.exec(rest);
    if (unitMatch === null) throw new GoDurationError(`time: missing unit in duration ${goQuote(input)}`);
    const unit = unitMatch[0];
    const scale = NS_PER_UNIT[unit];
    if (scale === undefined) {
      throw new GoDurationError(`time: unknown unit ${goQuote(unit)} in duration ${goQuote(input)}`);
    }
    rest = rest.slice(unit.length);
    total += Number(`${whole === '' ? '0' : whole}.${fraction ?? '0'}`) * scale;
    if (!Number.isFinite(total) || total > 9.223372036854775807e18) throw invalid();
  }
  return sign * Math.round(total);
}

function trimFraction(digits: string): string {
  return digits.replace(/0+$/, '');
}

/** Go's Duration.String(): 10s -> "10s", 24h -> "24h0m0s", 1.5s -> "1.5s", 250ms -> "250ms". */
export function formatGoDuration(nanoseconds: number): string {
  if (nanoseconds === 0) return '0s';
  const negative = nanoseconds < 0;
  const ns = Math.abs(Math.round(nanoseconds));
  let text: string;
  if (ns < 1e9) {
    const [unit, scale] = ns < 1e3 ? ['ns', 1] : ns < 1e6 ? ['µs', 1e3] : ['ms', 1e6];
    const whole = Math.floor(ns / scale);
    const fraction = trimFraction(String(ns % scale).padStart(String(scale).length - 1, '0'));
    text = `${whole}${fraction === '' ? '' : `.${fraction}`}${unit}`;
  } else {
    const hours = Math.floor(ns / 3600e9);
    const minutes = Math.floor((ns % 3600e9) / 60e9);
    const secondsNs = ns % 60e9;
    const seconds = Math.floor(secondsNs / 1e9);
    const fraction = trimFraction(String(secondsNs % 1e9).padStart(9, '0'));
    const secondsText = `${seconds}${fraction === '' ? '' : `.${fraction}`}s`;
    if (hours > 0) text = `${hours}h${minutes}m${secondsText}`;
    else if (minutes > 0) text = `${minutes}m${secondsText}`;
    else text = secondsText;
  }
  return negative ? `-${text}` : text;
}

/**
 * Go's strconv.ParseUint(s, 10, 64), used by Consul for `?flags`, `?cas` and `?index`.
 * Returns the value or the error text Go would print.
 */
export function parseGoUint64(text: string): { value: bigint } | { error: string } {
  if (!/^\d+$/.test(text)) return { error: `strconv.ParseUint: parsing ${goQuote(text)}: invalid syntax` };
  const value = BigInt(text);
  if (value > 0xffff_ffff_ffff_ffffn) {
    return { error: `strconv.ParseUint: parsing ${goQuote(text)}: value out of range` };
  }
  return { value };
}
