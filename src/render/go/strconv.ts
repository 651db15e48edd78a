// The strconv and encoding/base64 behaviour behind confd's parseBool, atoi, base64Encode and
// base64Decode, with Go's error texts.

import { GoError } from './errors.ts';
import { fromBytes, toBytes } from './bytes.ts';
import { quote } from './strings.ts';

function numError(fn: string, num: string, err: string): GoError {
  return new GoError(`strconv.${fn}: parsing ${quote(num)}: ${err}`);
}

/** strconv.ParseBool. */
export function parseBool(s: string): boolean {
  switch (s) {
    case '1': case 't': case 'T': case 'true': case 'TRUE': case 'True':
      return true;
    case '0': case 'f': case 'F': case 'false': case 'FALSE': case 'False':
      return false;
  }
  throw numError('ParseBool', s, 'invalid syntax');
}

const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/**
 * strconv.Atoi on a 64-bit platform. The result is a number when it is a safe integer and a
 * bigint otherwise (Go's int is 64 bits wide).
 */
export function atoi(s: string): number | bigint {
  const s0 = s;
  let neg = false;
  if (s.length > 0 && (s[0] === '+' || s[0] === '-')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s.length === 0) throw numError('Atoi', s0, 'invalid syntax');
  // Go scans digit by digit and stops at the first overflow, before looking further.
  let n = 0n;
  for (let i = 0; i < s.length; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) throw numError('Atoi', s0, 'invalid syntax');
    if (n >= UINT64_MAX / 10n + 1n) throw numError('Atoi', s0, 'value out of range');
    n = n * 10n + BigInt(d);
    if (n > UINT64_MAX) throw numError('Atoi', s0, 'value out of range');
  }
  if ((!neg && n > INT64_MAX) || (neg && n > INT64_MAX + 1n)) throw numError('Atoi', s0, 'value out of range');
  const v = neg ? -n : n;
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** base64.StdEncoding.EncodeToString of the UTF-8 bytes of Unicode text. */
export function base64Encode(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}

/** base64.StdEncoding.EncodeToString of a byte string. */
export function base64EncodeBytes(s: string): string {
  return Buffer.from(s, 'latin1').toString('base64');
}

/** base64Decode for Unicode text: the decoded bytes read as UTF-8. */
export function base64Decode(s: string): string {
  return fromBytes(base64DecodeBytes(toBytes(s)));
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE = new Int16Array(256).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

function corrupt(at: number): GoError {
  return new GoError(`illegal base64 data at input byte ${at}`);
}

/**
 * base64.StdEncoding.DecodeString on byte strings: padding required, CR and LF ignored, trailing bits not
 * checked; errors name the offending byte offset as Go does.
 */
export function base64DecodeBytes(s: string): string {
  const src = Buffer.from(s, 'latin1');
  const out: number[] = [];
  let si = 0;
  while (si < src.length) {
    const dbuf = [0, 0, 0, 0];
    let dlen = 4;
    let j = 0;
    for (; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return Buffer.from(out).toString('latin1');
        // Without padding characters a short final quantum is an error for StdEncoding.
        throw corrupt(si - j);
      }
      const inb = src[si] as number;
      si++;
      const v = DECODE[inb] as number;
      if (v >= 0) {
        dbuf[j] = v;
        continue;
      }
      if (inb === 0x0a || inb === 0x0d) {
        j--;
        continue;
      }
      if (inb !== 0x3d) throw corrupt(si - 1);
      // Padding: "==" after two symbols or "=" after three, then only CR/LF may follow.
      if (j === 0 || j === 1) throw corrupt(si - 1);
      if (j === 2) {
        while (si < src.length && (src[si] === 0x0a || src[si] === 0x0d)) si++;
        if (si === src.length) throw corrupt(src.length);
        if (src[si] !== 0x3d) throw corrupt(si - 1);
        si++;
      }
      while (si < src.length && (src[si] === 0x0a || src[si] === 0x0d)) si++;
      if (si < src.length) throw corrupt(si);
      dlen = j;
      break;
    }
    const val = (dbuf[0] as number) * 262144 + (dbuf[1] as number) * 4096 + (dbuf[2] as number) * 64 + (dbuf[3] as number);
    const b0 = (val >> 16) & 0xff;
    const b1 = (val >> 8) & 0xff;
    const b2 = val & 0xff;
    if (dlen >= 2) out.push(b0);
    if (dlen >= 3) out.push(b1);
    if (dlen >= 4) out.push(b2);
  }
  return Buffer.from(out).toString('latin1');
}
