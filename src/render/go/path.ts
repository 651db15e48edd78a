// Go's "path" package (slash-separated paths): Clean, Base, Dir, Match and Join with Go's exact
// rules. memkv and confd name keys with it, and so do steward's backends (the file backend joins
// map keys and list indexes onto "/", the Consul backend cleans "/" + the Consul key).

import { decodeRuneAt } from './bytes.ts';
import { GoError } from './errors.ts';

/** path.Clean. */
export function clean(p: string): string {
  if (p === '') return '.';
  const rooted = p.charCodeAt(0) === 0x2f;
  const n = p.length;
  const out: string[] = [];
  let r = 0;
  if (rooted) r = 1;
  // Segments kept so far; ".." only survives in an unrooted path that cannot back up further.
  let keptDotDot = 0;
  while (r < n) {
    if (p[r] === '/') {
      r++;
    } else if (p[r] === '.' && (r + 1 === n || p[r + 1] === '/')) {
      r++;
    } else if (p[r] === '.' && p[r + 1] === '.' && (r + 2 === n || p[r + 2] === '/')) {
      r += 2;
      if (out.length > keptDotDot) out.pop();
      else if (!rooted) {
        out.push('..');
        keptDotDot = out.length;
      }
    } else {
      let j = r;
      while (j < n && p[j] !== '/') j++;
      out.push(p.slice(r, j));
      r = j;
    }
  }
  const body = out.join('/');
  if (rooted) return '/' + body;
  return body === '' ? '.' : body;
}

/** path.Base. */
export function base(p: string): string {
  if (p === '') return '.';
  let end = p.length;
  while (end > 0 && p.charCodeAt(end - 1) === 0x2f) end--;
  p = p.slice(0, end);
  const i = p.lastIndexOf('/');
  if (i >= 0) p = p.slice(i + 1);
  return p === '' ? '/' : p;
}

/** path.Dir. */
export function dir(p: string): string {
  return clean(p.slice(0, p.lastIndexOf('/') + 1));
}

export const errBadPattern = 'syntax error in pattern';

function badPattern(): never {
  throw new GoError(errBadPattern);
}

interface Chunk {
  star: boolean;
  chunk: string;
  rest: string;
}

function scanChunk(pattern: string): Chunk {
  let star = false;
  while (pattern.length > 0 && pattern[0] === '*') {
    pattern = pattern.slice(1);
    star = true;
  }
  let inRange = false;
  let i = 0;
  scan: for (; i < pattern.length; i++) {
    switch (pattern[i]) {
      case '\\':
        if (i + 1 < pattern.length) i++;
        break;
      case '[':
        inRange = true;
        break;
      case ']':
        inRange = false;
        break;
      case '*':
        if (!inRange) break scan;
        break;
    }
  }
  return { star, chunk: pattern.slice(0, i), rest: pattern.slice(i) };
}

/** How a string's runes are read: UTF-8 from a byte string (the Go engine), or UTF-16 text (nunjucks). */
export type RuneReading = 'bytes' | 'text';

function runeAt(s: string, i: number, reading: RuneReading): { r: number; w: number } {
  if (reading === 'bytes') {
    const d = decodeRuneAt(s, i);
    return { r: d >>> 3, w: d & 7 };
  }
  const r = s.codePointAt(i) as number;
  return { r, w: r > 0xffff ? 2 : 1 };
}

// One escaped-or-plain rune of a character class; Go reports ErrBadPattern when the class
// ends right after it.
function getEsc(chunk: string, reading: RuneReading): { r: number; rest: string } {
  if (chunk.length === 0 || chunk[0] === '-' || chunk[0] === ']') badPattern();
  if (chunk[0] === '\\') {
    chunk = chunk.slice(1);
    if (chunk.length === 0) badPattern();
  }
  const { r, w } = runeAt(chunk, 0, reading);
  const rest = chunk.slice(w);
  if (rest.length === 0) badPattern();
  return { r, rest };
}

// Matches chunk against the start of s; returns the rest of s, or null when it does not match.
// The whole chunk is always scanned so that a malformed class is reported even on a mismatch.
function matchChunk(chunk: string, s: string, reading: RuneReading): string | null {
  let failed = false;
  while (chunk.length > 0) {
    if (!failed && s.length === 0) failed = true;
    const c = chunk[0];
    if (c === '[') {
      let r = 0;
      if (!failed) {
        const d = runeAt(s, 0, reading);
        r = d.r;
        s = s.slice(d.w);
      }
      chunk = chunk.slice(1);
      let negated = false;
      if (chunk.length > 0 && chunk[0] === '^') {
        negated = true;
        chunk = chunk.slice(1);
      }
      let match = false;
      let nrange = 0;
      for (;;) {
        if (chunk.length > 0 && chunk[0] === ']' && nrange > 0) {
          chunk = chunk.slice(1);
          break;
        }
        const lo = getEsc(chunk, reading);
        chunk = lo.rest;
        let hi = lo.r;
        if (chunk[0] === '-') {
          const h = getEsc(chunk.slice(1), reading);
          hi = h.r;
          chunk = h.rest;
        }
        if (lo.r <= r && r <= hi) match = true;
        nrange++;
      }
      if (match === negated) failed = true;
    } else if (c === '?') {
      if (!failed) {
        if (s[0] === '/') failed = true;
        s = s.slice(runeAt(s, 0, reading).w);
      }
      chunk = chunk.slice(1);
    } else {
      if (c === '\\') {
        chunk = chunk.slice(1);
        if (chunk.length === 0) badPattern();
      }
      if (!failed) {
        if (chunk[0] !== s[0]) failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    }
  }
  return failed ? null : s;
}

/** path.Match: throws GoError("syntax error in pattern") for a malformed pattern. */
export function match(pattern: string, name: string, reading: RuneReading = 'bytes'): boolean {
  outer: while (pattern.length > 0) {
    const { star, chunk, rest } = scanChunk(pattern);
    pattern = rest;
    if (star && chunk === '') return name.indexOf('/') < 0;
    const t = matchChunk(chunk, name, reading);
    if (t !== null && (t.length === 0 || pattern.length > 0)) {
      name = t;
      continue;
    }
    if (star) {
      for (let i = 0; i < name.length && name[i] !== '/'; i++) {
        const t2 = matchChunk(chunk, name.slice(i + 1), reading);
        if (t2 !== null) {
          if (pattern.length === 0 && t2.length > 0) continue;
          name = t2;
          continue outer;
        }
      }
    }
    while (pattern.length > 0) {
      const next = scanChunk(pattern);
      pattern = next.rest;
      matchChunk(next.chunk, '', reading);
    }
    return false;
  }
  return name.length === 0;
}

/** path.Join: the non-empty elements joined with "/", then cleaned ("" when all are empty). */
export function join(...elements: readonly string[]): string {
  const parts = elements.filter((e) => e !== '');
  return parts.length === 0 ? '' : clean(parts.join('/'));
}
