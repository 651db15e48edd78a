// Go strings are byte strings. The engine holds them as "byte strings": JavaScript strings whose
// code units are all below 256, one per byte (what Buffer's 'latin1' encoding reads and writes).
// len, index, slicing and comparison are then JavaScript's own string operations; what needs
// runes (fmt widths, %q, case mapping, the lexer) decodes UTF-8 here exactly as Go's
// unicode/utf8 does: an invalid byte is RuneError (U+FFFD) of width 1.

export const RUNE_ERROR = 0xfffd;

const ASCII = /^[\x00-\x7f]*$/;

export function isAsciiBytes(s: string): boolean {
  return ASCII.test(s);
}

/** A Unicode string as the byte string of its UTF-8 encoding. */
export function toBytes(text: string): string {
  return ASCII.test(text) ? text : Buffer.from(text, 'utf8').toString('latin1');
}

/** A byte string as Unicode text, for messages and for code outside the engine (invalid bytes: U+FFFD). */
export function fromBytes(bytes: string): string {
  return ASCII.test(bytes) ? bytes : Buffer.from(bytes, 'latin1').toString('utf8');
}

/** utf8.DecodeRuneInString(s[i:]) packed as rune * 8 + width. */
export function decodeRuneAt(s: string, i: number): number {
  const n = s.length - i;
  if (n <= 0) return RUNE_ERROR * 8;
  const b0 = s.charCodeAt(i);
  if (b0 < 0x80) return b0 * 8 + 1;
  let lo = 0x80;
  let hi = 0xbf;
  let size: number;
  let r: number;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    size = 2;
    r = b0 & 0x1f;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    size = 3;
    r = b0 & 0x0f;
    if (b0 === 0xe0) lo = 0xa0;
    else if (b0 === 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    size = 4;
    r = b0 & 0x07;
    if (b0 === 0xf0) lo = 0x90;
    else if (b0 === 0xf4) hi = 0x8f;
  } else {
    return RUNE_ERROR * 8 + 1;
  }
  if (n < size) {
    // Go still reports width 1 for a truncated sequence.
    return RUNE_ERROR * 8 + 1;
  }
  const b1 = s.charCodeAt(i + 1);
  if (b1 < lo || b1 > hi) return RUNE_ERROR * 8 + 1;
  r = (r << 6) | (b1 & 0x3f);
  for (let k = 2; k < size; k++) {
    const b = s.charCodeAt(i + k);
    if (b < 0x80 || b > 0xbf) return RUNE_ERROR * 8 + 1;
    r = (r << 6) | (b & 0x3f);
  }
  return r * 8 + size;
}

/** utf8.DecodeLastRuneInString(s[:end]) packed as rune * 8 + width. */
export function decodeLastRuneBefore(s: string, end: number): number {
  if (end <= 0) return RUNE_ERROR * 8;
  const last = s.charCodeAt(end - 1);
  if (last < 0x80) return last * 8 + 1;
  const lim = Math.max(0, end - 4);
  let start = end - 1;
  while (start > lim && (s.charCodeAt(start) & 0xc0) === 0x80) start--;
  const d = decodeRuneAt(s, start);
  if (start + (d & 7) !== end) return RUNE_ERROR * 8 + 1;
  return d;
}

/** utf8.RuneCountInString. */
export function runeCount(s: string): number {
  if (ASCII.test(s)) return s.length;
  let n = 0;
  for (let i = 0; i < s.length; n++) {
    const c = s.charCodeAt(i);
    i += c < 0x80 ? 1 : decodeRuneAt(s, i) & 7;
  }
  return n;
}

/** utf8.ValidString. */
export function isValidUtf8(s: string): boolean {
  if (ASCII.test(s)) return true;
  for (let i = 0; i < s.length; ) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      i++;
      continue;
    }
    const d = decodeRuneAt(s, i);
    if (d >>> 3 === RUNE_ERROR && (d & 7) === 1) return false;
    i += d & 7;
  }
  return true;
}

/** utf8.AppendRune as a byte string; an invalid rune is written as U+FFFD. */
export function encodeRune(r: number): string {
  if (r < 0x80 && r >= 0) return String.fromCharCode(r);
  if (r < 0 || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) r = RUNE_ERROR;
  if (r < 0x800) return String.fromCharCode(0xc0 | (r >> 6), 0x80 | (r & 0x3f));
  if (r < 0x10000) return String.fromCharCode(0xe0 | (r >> 12), 0x80 | ((r >> 6) & 0x3f), 0x80 | (r & 0x3f));
  return String.fromCharCode(0xf0 | (r >> 18), 0x80 | ((r >> 12) & 0x3f), 0x80 | ((r >> 6) & 0x3f), 0x80 | (r & 0x3f));
}

/** The UTF-8 sequences of s (an invalid byte alone), as strings.Split(s, "") cuts it. */
export function explode(s: string): string[] {
  if (ASCII.test(s)) return s.split('');
  const out: string[] = [];
  for (let i = 0; i < s.length; ) {
    const w = s.charCodeAt(i) < 0x80 ? 1 : decodeRuneAt(s, i) & 7;
    out.push(s.slice(i, i + w));
    i += w;
  }
  return out;
}
