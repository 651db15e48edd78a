// encoding/json's Unmarshal into map[string]interface{} / []interface{}, as confd's json and
// jsonArray call it: same accepted syntax, same error texts (Go checks the whole input before
// decoding, so a syntax error anywhere wins over a type mismatch).

import { GoError } from './errors.ts';
import { decodeRuneAt, encodeRune } from './bytes.ts';
import { quote } from './strings.ts';

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

const MAX_DEPTH = 10000;

// Past the end, the character is the space Go's scanner feeds itself at end of input.
function quoteChar(s: string, pos: number): string {
  if (pos >= s.length) return "' '";
  const c = s.charCodeAt(pos);
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return `'"'`;
  // Go reports the offending byte, quoted as if it were a Latin-1 rune.
  const q = quote(encodeRune(c));
  return "'" + q.slice(1, -1) + "'";
}

class JsonSyntaxError extends GoError {}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

interface Frame {
  readonly arr: JsonValue[] | null;
  readonly obj: JsonObject | null;
  key: string;
}

class Parser {
  readonly s: string;
  pos = 0;
  numberError: string | null = null;

  constructor(s: string) {
    this.s = s;
  }

  fail(context: string, at = this.pos): never {
    throw new JsonSyntaxError(`invalid character ${quoteChar(this.s, at)} ${context}`);
  }

  eof(): never {
    throw new JsonSyntaxError('unexpected end of JSON input');
  }

  skipSpace(): void {
    while (this.pos < this.s.length && isSpace(this.s.charCodeAt(this.pos))) this.pos++;
  }

  // At end of input Go feeds the scanner one more space: a token that needs more characters
  // then fails on that space rather than with "unexpected end".
  need(context: string): number {
    if (this.pos >= this.s.length) this.fail(context, this.s.length);
    return this.s.charCodeAt(this.pos);
  }

  parseString(): string {
    const s = this.s;
    this.pos++; // opening quote
    let out = '';
    let start = this.pos;
    for (;;) {
      if (this.pos >= s.length) this.eof();
      const c = s.charCodeAt(this.pos);
      if (c === 0x22) {
        out += s.slice(start, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) this.fail('in string literal');
      if (c >= 0x80) {
        // Valid UTF-8 is kept; an invalid byte becomes U+FFFD, as Go's unquote does.
        const w = decodeRuneAt(s, this.pos) & 7;
        if (w === 1) {
          out += s.slice(start, this.pos) + '\xef\xbf\xbd';
          start = this.pos + 1;
        }
        this.pos += w;
        continue;
      }
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += s.slice(start, this.pos);
      this.pos++;
      if (this.pos >= s.length) this.eof();
      const e = s[this.pos];
      this.pos++;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          let r = this.hex4();
          if (r >= 0xd800 && r < 0xe000) {
            // A valid surrogate pair combines; anything else decodes to U+FFFD.
            if (r < 0xdc00 && s[this.pos] === '\\' && s[this.pos + 1] === 'u' && this.peekHex4(this.pos + 2)) {
              const r2 = parseInt(s.slice(this.pos + 2, this.pos + 6), 16);
              if (r2 >= 0xdc00 && r2 < 0xe000) {
                this.pos += 6;
                out += encodeRune(0x10000 + ((r - 0xd800) << 10) + (r2 - 0xdc00));
                break;
              }
            }
            r = 0xfffd;
          }
          out += encodeRune(r);
          break;
        }
        default:
          this.fail('in string escape code', this.pos - 1);
      }
      start = this.pos;
    }
  }

  peekHex4(at: number): boolean {
    for (let i = 0; i < 4; i++) if (at + i >= this.s.length || !isHex(this.s.charCodeAt(at + i))) return false;
    return true;
  }

  hex4(): number {
    for (let i = 0; i < 4; i++) {
      if (this.pos + i >= this.s.length) this.eof();
      if (!isHex(this.s.charCodeAt(this.pos + i))) this.fail('in \\u hexadecimal character escape', this.pos + i);
    }
    const r = parseInt(this.s.slice(this.pos, this.pos + 4), 16);
    this.pos += 4;
    return r;
  }

  parseNumber(): number {
    const s = this.s;
    const start = this.pos;
    if (s.charCodeAt(this.pos) === 0x2d) {
      this.pos++;
      const c = this.need('in numeric literal');
      if (!isDigit(c)) this.fail('in numeric literal');
    }
    if (s.charCodeAt(this.pos) === 0x30) this.pos++;
    else while (this.pos < s.length && isDigit(s.charCodeAt(this.pos))) this.pos++;
    if (s.charCodeAt(this.pos) === 0x2e) {
      this.pos++;
      const c = this.need('after decimal point in numeric literal');
      if (!isDigit(c)) this.fail('after decimal point in numeric literal');
      while (this.pos < s.length && isDigit(s.charCodeAt(this.pos))) this.pos++;
    }
    const e = s.charCodeAt(this.pos);
    if (e === 0x65 || e === 0x45) {
      this.pos++;
      let c = this.need('in exponent of numeric literal');
      if (c === 0x2b || c === 0x2d) {
        this.pos++;
        c = this.need('in exponent of numeric literal');
      }
      if (!isDigit(c)) this.fail('in exponent of numeric literal');
      while (this.pos < s.length && isDigit(s.charCodeAt(this.pos))) this.pos++;
    }
    const text = s.slice(start, this.pos);
    const n = Number(text);
    if (!Number.isFinite(n) && this.numberError === null) {
      this.numberError = `json: cannot unmarshal number ${text} into Go value of type float64`;
    }
    return n;
  }

  literal(word: string, value: JsonValue): JsonValue {
    this.pos++;
    for (let i = 1; i < word.length; i++) {
      const context = `in literal ${word} (expecting '${word[i]}')`;
      const c = this.need(context);
      if (c !== word.charCodeAt(i)) this.fail(context);
      this.pos++;
    }
    return value;
  }

  // Expects the first byte of an object key (after "{" or ",").
  key(frame: Frame): void {
    this.skipSpace();
    if (this.pos >= this.s.length) this.eof();
    if (this.s.charCodeAt(this.pos) !== 0x22) this.fail('looking for beginning of object key string');
    frame.key = this.parseString();
    this.skipSpace();
    if (this.pos >= this.s.length) this.eof();
    if (this.s.charCodeAt(this.pos) !== 0x3a) this.fail('after object key');
    this.pos++;
  }

  parse(): JsonValue {
    const s = this.s;
    const stack: Frame[] = [];
    let value: JsonValue;
    let allowClose = false;
    for (;;) {
      // Read one value (or close an empty array).
      this.skipSpace();
      if (this.pos >= s.length) this.eof();
      const c = s.charCodeAt(this.pos);
      if (allowClose && c === 0x5d) {
        this.pos++;
        value = (stack.pop() as Frame).arr as JsonValue[];
      } else if (c === 0x7b) {
        if (stack.length >= MAX_DEPTH) this.fail('exceeded max depth');
        this.pos++;
        const frame: Frame = { arr: null, obj: Object.create(null) as JsonObject, key: '' };
        stack.push(frame);
        this.skipSpace();
        if (this.pos >= s.length) this.eof();
        if (s.charCodeAt(this.pos) === 0x7d) {
          this.pos++;
          stack.pop();
          value = frame.obj as JsonObject;
        } else {
          this.key(frame);
          allowClose = false;
          continue;
        }
      } else if (c === 0x5b) {
        if (stack.length >= MAX_DEPTH) this.fail('exceeded max depth');
        this.pos++;
        stack.push({ arr: [], obj: null, key: '' });
        allowClose = true;
        continue;
      } else if (c === 0x22) {
        value = this.parseString();
      } else if (c === 0x2d || isDigit(c)) {
        value = this.parseNumber();
      } else if (c === 0x74) {
        value = this.literal('true', true);
      } else if (c === 0x66) {
        value = this.literal('false', false);
      } else if (c === 0x6e) {
        value = this.literal('null', null);
      } else {
        this.fail('looking for beginning of value');
      }
      allowClose = false;
      // A value is complete: hand it to its container, closing containers as they end.
      for (;;) {
        const top = stack[stack.length - 1];
        if (top === undefined) {
          this.skipSpace();
          if (this.pos < s.length) this.fail('after top-level value');
          return value;
        }
        if (top.arr !== null) top.arr.push(value);
        else (top.obj as JsonObject)[top.key] = value;
        this.skipSpace();
        if (this.pos >= s.length) this.eof();
        const d = s.charCodeAt(this.pos);
        if (top.arr !== null) {
          if (d === 0x2c) {
            this.pos++;
            break;
          }
          if (d !== 0x5d) this.fail('after array element');
          this.pos++;
          stack.pop();
          value = top.arr;
        } else {
          if (d === 0x2c) {
            this.pos++;
            this.key(top);
            break;
          }
          if (d !== 0x7d) this.fail('after object key:value pair');
          this.pos++;
          stack.pop();
          value = top.obj as JsonObject;
        }
      }
    }
  }
}

function kindOf(v: JsonValue): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'string': return 'string';
    case 'number': return 'number';
    case 'boolean': return 'bool';
    default: return 'object';
  }
}

/** json.Unmarshal into map[string]interface{}: null yields null (a nil map). */
export function decodeJsonObject(text: string): JsonObject | null {
  const p = new Parser(text);
  const v = p.parse();
  const k = kindOf(v);
  if (k === 'null') return null;
  if (k !== 'object') throw new GoError(`json: cannot unmarshal ${k} into Go value of type map[string]interface {}`);
  if (p.numberError !== null) throw new GoError(p.numberError);
  return v as JsonObject;
}

/** json.Unmarshal into []interface{}: null yields null (a nil slice). */
export function decodeJsonArray(text: string): JsonValue[] | null {
  const p = new Parser(text);
  const v = p.parse();
  const k = kindOf(v);
  if (k === 'null') return null;
  if (k !== 'array') throw new GoError(`json: cannot unmarshal ${k} into Go value of type []interface {}`);
  if (p.numberError !== null) throw new GoError(p.numberError);
  return v as JsonValue[];
}
