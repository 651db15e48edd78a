// text/template's parser (Go 1.19's grammar and messages), building the nodes of nodes.ts.
// Two departures, both asked for by steward: `{{else with ...}}` (Go 1.23) is accepted, and
// functions unknown at parse time can be deferred to render time, when steward's extra
// functions are known.

import { decodeRuneAt, isValidUtf8 } from './bytes.ts';
import { quote } from './strings.ts';
import { lex, T } from './lex.ts';
import type { Item, ItemType } from './lex.ts';
import { isEmptyTree } from './nodes.ts';
import type {
  ActionNode, BranchNode, CommandNode, ListNode, Node, NumberNode, PipeNode, TemplateNode, Tree,
  VariableNode,
} from './nodes.ts';

export class ParseError extends Error {
  readonly line: number;
  constructor(message: string, line: number) {
    super(message);
    this.name = 'ParseError';
    this.line = line;
  }
}

/** A function name the parser did not know, recorded instead of failing (deferred mode). */
export interface UnknownFunction {
  readonly name: string;
  readonly line: number;
}

export interface ParseOptions {
  /** Names of the functions that templates may call (besides the builtins). */
  readonly hasFunction: (name: string) => boolean;
  /** When set, unknown functions are recorded here instead of failing the parse. */
  readonly deferUnknown?: UnknownFunction[];
}

const ZERO_ITEM: Item = { typ: T.error, pos: 0, val: '', line: 0 };

function itemString(i: Item): string {
  if (i.typ === T.eof) return 'EOF';
  if (i.typ === T.error) return i.val;
  if (i.typ > T.keyword) return `<${i.val}>`;
  const runes = Array.from(i.val);
  if (runes.length > 10) return quote(runes.slice(0, 10).join('')) + '...';
  return quote(i.val);
}

// ---- literals ----------------------------------------------------------------------------

class SyntaxErr extends Error {}

function hexVal(c: string): number {
  const n = parseInt(c, 16);
  if (Number.isNaN(n)) throw new SyntaxErr('invalid syntax');
  return n;
}

/** strconv.UnquoteChar on s[i:]: appends the bytes of one (possibly escaped) character. */
function unquoteChar(s: string, i: number, q: string, out: number[]): number {
  const c = s[i] as string;
  if (c === q && (q === "'" || q === '"')) throw new SyntaxErr('invalid syntax');
  if (c !== '\\') {
    // One UTF-8 sequence, kept; an invalid byte is RuneError, which Unquote writes as U+FFFD.
    const d = decodeRuneAt(s, i);
    const w = d & 7;
    if (w === 1 && s.charCodeAt(i) >= 0x80) out.push(0xef, 0xbf, 0xbd);
    else for (let k = 0; k < w; k++) out.push(s.charCodeAt(i + k));
    return i + w;
  }
  const e = s[i + 1];
  if (e === undefined) throw new SyntaxErr('invalid syntax');
  i += 2;
  switch (e) {
    case 'a': out.push(7); return i;
    case 'b': out.push(8); return i;
    case 'f': out.push(12); return i;
    case 'n': out.push(10); return i;
    case 'r': out.push(13); return i;
    case 't': out.push(9); return i;
    case 'v': out.push(11); return i;
    case '\\': out.push(0x5c); return i;
    case "'":
    case '"':
      if (e !== q) throw new SyntaxErr('invalid syntax');
      out.push(e.charCodeAt(0));
      return i;
    case 'x':
    case 'u':
    case 'U': {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      if (i + n > s.length) throw new SyntaxErr('invalid syntax');
      let v = 0;
      for (let k = 0; k < n; k++) v = v * 16 + hexVal(s[i + k] as string);
      i += n;
      if (e === 'x') {
        out.push(v);
        return i;
      }
      if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) throw new SyntaxErr('invalid syntax');
      for (const b of Buffer.from(String.fromCodePoint(v), 'utf8')) out.push(b);
      return i;
    }
  }
  if (e >= '0' && e <= '7') {
    let v = e.charCodeAt(0) - 0x30;
    for (let k = 0; k < 2; k++) {
      const d = s.charCodeAt(i + k) - 0x30;
      if (!(d >= 0 && d <= 7)) throw new SyntaxErr('invalid syntax');
      v = v * 8 + d;
    }
    if (v > 255) throw new SyntaxErr('invalid syntax');
    out.push(v);
    return i + 2;
  }
  throw new SyntaxErr('invalid syntax');
}

/** strconv.Unquote for "..." and `...` literals. */
export function unquote(s: string): string {
  if (s.length < 2) throw new SyntaxErr('invalid syntax');
  const q = s[0];
  if (q !== s[s.length - 1]) throw new SyntaxErr('invalid syntax');
  const body = s.slice(1, -1);
  if (q === '`') {
    if (body.includes('`')) throw new SyntaxErr('invalid syntax');
    return body.includes('\r') ? body.replace(/\r/g, '') : body;
  }
  if (q !== '"') throw new SyntaxErr('invalid syntax');
  if (body.includes('\n')) throw new SyntaxErr('invalid syntax');
  if (!body.includes('\\') && !body.includes('"') && isValidUtf8(body)) return body;
  const out: number[] = [];
  let i = 0;
  while (i < body.length) i = unquoteChar(body, i, '"', out);
  return latin1(out);
}

function latin1(bytes: readonly number[]): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

function lower(c: string): string {
  return c.toLowerCase();
}

/** strconv's underscoreOK: underscores only between digits (or after a base prefix). */
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'box'.includes(lower(s[1] as string))) {
    i = 2;
    saw = '0';
    hex = lower(s[1] as string) === 'x';
  }
  for (; i < s.length; i++) {
    const c = s[i] as string;
    if ((c >= '0' && c <= '9') || (hex && lower(c) >= 'a' && lower(c) <= 'f')) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

const U64 = (1n << 64n) - 1n;
const I64 = 1n << 63n;

/** strconv.ParseUint(s, 0, 64), or null on any error. */
function parseUint0(s: string): bigint | null {
  if (s === '') return null;
  let base = 10;
  let body = s;
  if (s[0] === '0') {
    if (s.length >= 3 && lower(s[1] as string) === 'b') {
      base = 2;
      body = s.slice(2);
    } else if (s.length >= 3 && lower(s[1] as string) === 'o') {
      base = 8;
      body = s.slice(2);
    } else if (s.length >= 3 && lower(s[1] as string) === 'x') {
      base = 16;
      body = s.slice(2);
    } else {
      base = 8;
      body = s.slice(1);
    }
  }
  let n = 0n;
  let underscores = false;
  const B = BigInt(base);
  for (const c of body) {
    if (c === '_') {
      underscores = true;
      continue;
    }
    const d = parseInt(c, 36);
    if (Number.isNaN(d) || d >= base) return null;
    n = n * B + BigInt(d);
    if (n > U64) return null;
  }
  if (underscores && !underscoreOK(s)) return null;
  return n;
}

function parseInt0(s: string): bigint | null {
  let neg = false;
  let body = s;
  if (s[0] === '+' || s[0] === '-') {
    neg = s[0] === '-';
    body = s.slice(1);
  }
  const u = parseUint0(body);
  if (u === null) return null;
  if (!neg && u >= I64) return null;
  if (neg && u > I64) return null;
  return neg ? -u : u;
}

/** strconv.ParseFloat(s, 64) for the forms the lexer lets through; null on error. */
function parseFloat64(s: string): number | null {
  let neg = false;
  let body = s;
  if (s[0] === '+' || s[0] === '-') {
    neg = s[0] === '-';
    body = s.slice(1);
  }
  if (body.includes('_')) {
    if (!underscoreOK(body)) return null;
    body = body.replace(/_/g, '');
  }
  let v: number;
  const hex = /^0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?[0-9]+)$/.exec(body);
  if (hex !== null) {
    const intPart = hex[1] ?? '';
    const frac = hex[2] ?? '';
    if (intPart === '' && frac === '') return null;
    const mant = BigInt('0x' + (intPart + frac || '0'));
    const exp = Number(hex[3]) - 4 * frac.length;
    v = Number(mant) * 2 ** exp;
  } else {
    if (!/^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(body)) return null;
    v = Number(body);
  }
  if (!Number.isFinite(v)) return null;
  return neg ? -v : v;
}

function newNumber(pos: number, text: string, typ: ItemType): NumberNode {
  const n: NumberNode = {
    type: 'number', pos, text, isInt: false, isUint: false, isFloat: false, isComplex: false,
    int: 0n, uint: 0n, float: 0, re: 0, im: 0,
  };
  const setFromFloat = (f: number): void => {
    n.isFloat = true;
    n.float = f;
    if (Number.isInteger(f) && f >= -(2 ** 63) && f < 2 ** 63) {
      n.isInt = true;
      n.int = BigInt(f);
    }
    if (Number.isInteger(f) && f >= 0 && f < 2 ** 64) {
      n.isUint = true;
      n.uint = BigInt(f);
    }
  };
  if (typ === T.charConstant) {
    const out: number[] = [];
    let end: number;
    try {
      end = unquoteChar(text, 1, "'", out);
    } catch {
      throw new SyntaxErr('invalid syntax');
    }
    if (text.slice(end) !== "'") throw new SyntaxErr(`malformed character constant: ${text}`);
    const rv = out.length === 1 ? (out[0] as number) : decodeRuneAt(latin1(out), 0) >>> 3;
    n.isInt = n.isUint = n.isFloat = true;
    n.int = n.uint = BigInt(rv);
    n.float = rv;
    return n;
  }
  if (typ === T.complex) {
    const m = /^([+-]?[^+-]+(?:[eE][+-]?[0-9]+)?)([+-].*)i$/.exec(text);
    const re = m !== null ? parseFloat64(m[1] as string) : null;
    const im = m !== null ? parseFloat64(m[2] as string) : null;
    if (re === null || im === null) throw new SyntaxErr(`expected integer`);
    n.isComplex = true;
    n.re = re;
    n.im = im;
    if (im === 0) setFromFloat(re);
    return n;
  }
  if (text.endsWith('i')) {
    const f = parseFloat64(text.slice(0, -1));
    if (f !== null) {
      n.isComplex = true;
      n.im = f;
      if (f === 0) setFromFloat(0);
      return n;
    }
  }
  const u = parseUint0(text);
  if (u !== null) {
    n.isUint = true;
    n.uint = u;
  }
  const i = parseInt0(text);
  if (i !== null) {
    n.isInt = true;
    n.int = i;
    if (i === 0n) {
      n.isUint = true;
      n.uint = u ?? 0n;
    }
  }
  if (n.isInt) {
    n.isFloat = true;
    n.float = Number(n.int);
  } else if (n.isUint) {
    n.isFloat = true;
    n.float = Number(n.uint);
  } else {
    const f = parseFloat64(text);
    if (f !== null) {
      if (!/[.eEpP]/.test(text)) throw new SyntaxErr(`integer overflow: ${quote(text)}`);
      setFromFloat(f);
    }
  }
  if (!n.isInt && !n.isUint && !n.isFloat) throw new SyntaxErr(`illegal number syntax: ${quote(text)}`);
  return n;
}

// ---- the parser ----------------------------------------------------------------------------

class Parser {
  readonly parseName: string;
  readonly items: Item[];
  readonly opts: ParseOptions;
  readonly treeSet: Map<string, Tree>;
  idx = 0;
  token: [Item, Item, Item] = [ZERO_ITEM, ZERO_ITEM, ZERO_ITEM];
  peekCount = 0;
  vars: string[] = ['$'];
  actionLine = 0;
  rangeDepth = 0;

  constructor(parseName: string, items: Item[], opts: ParseOptions, treeSet: Map<string, Tree>) {
    this.parseName = parseName;
    this.items = items;
    this.opts = opts;
    this.treeSet = treeSet;
  }

  nextItem(): Item {
    return this.items[this.idx++] ?? ZERO_ITEM;
  }

  next(): Item {
    if (this.peekCount > 0) this.peekCount--;
    else this.token[0] = this.nextItem();
    return this.token[this.peekCount] as Item;
  }

  backup(): void {
    this.peekCount++;
  }

  backup2(t1: Item): void {
    this.token[1] = t1;
    this.peekCount = 2;
  }

  backup3(t2: Item, t1: Item): void {
    this.token[1] = t1;
    this.token[2] = t2;
    this.peekCount = 3;
  }

  peek(): Item {
    if (this.peekCount > 0) return this.token[this.peekCount - 1] as Item;
    this.peekCount = 1;
    this.token[0] = this.nextItem();
    return this.token[0];
  }

  nextNonSpace(): Item {
    let t: Item;
    do t = this.next();
    while (t.typ === T.space);
    return t;
  }

  peekNonSpace(): Item {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  errorf(msg: string): never {
    const line = this.token[0].line;
    throw new ParseError(`template: ${this.parseName}:${line}: ${msg}`, line);
  }

  expect(expected: ItemType, context: string): Item {
    const t = this.nextNonSpace();
    if (t.typ !== expected) this.unexpected(t, context);
    return t;
  }

  expectOneOf(a: ItemType, b: ItemType, context: string): Item {
    const t = this.nextNonSpace();
    if (t.typ !== a && t.typ !== b) this.unexpected(t, context);
    return t;
  }

  unexpected(token: Item, context: string): never {
    if (token.typ === T.error) {
      let extra = '';
      if (this.actionLine !== 0 && this.actionLine !== token.line) {
        extra = ` in action started at ${this.parseName}:${this.actionLine}`;
        if (token.val.endsWith(' action')) extra = extra.slice(' in action'.length);
      }
      this.errorf(`${itemString(token)}${extra}`);
    }
    this.errorf(`unexpected ${itemString(token)} in ${context}`);
  }

  hasFunction(name: string): boolean {
    return this.opts.hasFunction(name);
  }

  add(name: string, root: ListNode): void {
    const tree = this.treeSet.get(name);
    if (tree === undefined || isEmptyTree(tree.root)) {
      this.treeSet.set(name, { name, root });
      return;
    }
    if (!isEmptyTree(root)) this.errorf(`template: multiple definition of template ${quote(name)}`);
  }

  parse(name: string): void {
    const root: ListNode = { type: 'list', pos: this.peek().pos, nodes: [] };
    while (this.peek().typ !== T.eof) {
      if (this.peek().typ === T.leftDelim) {
        const delim = this.next();
        if (this.nextNonSpace().typ === T.define) {
          this.parseDefinition();
          continue;
        }
        this.backup2(delim);
      }
      const n = this.textOrAction();
      if (n.type === 'end' || n.type === 'else') this.errorf(`unexpected ${n.type === 'end' ? '{{end}}' : '{{else}}'}`);
      root.nodes.push(n);
    }
    this.add(name, root);
  }

  parseDefinition(): void {
    const context = 'define clause';
    const nameTok = this.expectOneOf(T.string, T.rawString, context);
    let name: string;
    try {
      name = unquote(nameTok.val);
    } catch (e) {
      this.errorf((e as Error).message);
    }
    this.expect(T.rightDelim, context);
    // A definition gets a fresh variable scope, as Go's new Tree does.
    const savedVars = this.vars;
    this.vars = ['$'];
    const [list, end] = this.itemList();
    if (end.type !== 'end') this.errorf(`unexpected ${end.type === 'else' ? '{{else}}' : '{{end}}'} in ${context}`);
    this.add(name, list);
    this.vars = savedVars;
  }

  itemList(): [ListNode, Node] {
    const list: ListNode = { type: 'list', pos: this.peekNonSpace().pos, nodes: [] };
    while (this.peekNonSpace().typ !== T.eof) {
      const n = this.textOrAction();
      if (n.type === 'end' || n.type === 'else') return [list, n];
      list.nodes.push(n);
    }
    this.errorf('unexpected EOF');
  }

  textOrAction(): Node {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case T.text:
        return { type: 'text', pos: token.pos, text: token.val };
      case T.leftDelim: {
        this.actionLine = token.line;
        try {
          return this.action();
        } finally {
          this.actionLine = 0;
        }
      }
      default:
        this.unexpected(token, 'input');
    }
  }

  action(): Node {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case T.block: return this.blockControl();
      case T.break: return this.breakControl(token.pos, token.line, 'break');
      case T.continue: return this.breakControl(token.pos, token.line, 'continue');
      case T.else: return this.elseControl();
      case T.end: return this.endControl();
      case T.if: return this.branch('if');
      case T.range: return this.branch('range');
      case T.template: return this.templateControl();
      case T.with: return this.branch('with');
    }
    this.backup();
    const t = this.peek();
    const node: ActionNode = { type: 'action', pos: t.pos, line: t.line, pipe: this.pipeline('command', T.rightDelim) };
    return node;
  }

  breakControl(pos: number, line: number, kind: 'break' | 'continue'): Node {
    const token = this.nextNonSpace();
    if (token.typ !== T.rightDelim) this.unexpected(token, `{{${kind}}}`);
    if (this.rangeDepth === 0) this.errorf(`{{${kind}}} outside {{range}}`);
    return { type: kind, pos, line };
  }

  pipeline(context: string, end: ItemType): PipeNode {
    const token = this.peekNonSpace();
    const pipe: PipeNode = { type: 'pipe', pos: token.pos, line: token.line, isAssign: false, decl: [], cmds: [] };
    decls: for (;;) {
      const v = this.peekNonSpace();
      if (v.typ !== T.variable) break;
      this.next();
      const tokenAfterVariable = this.peek();
      const next = this.peekNonSpace();
      if (next.typ === T.assign || next.typ === T.declare) {
        pipe.isAssign = next.typ === T.assign;
        this.nextNonSpace();
        pipe.decl.push(this.newVariable(v.pos, v.val));
        this.vars.push(v.val);
      } else if (next.typ === T.char && next.val === ',') {
        this.nextNonSpace();
        pipe.decl.push(this.newVariable(v.pos, v.val));
        this.vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const p = this.peekNonSpace().typ;
          if (p === T.variable || p === T.rightDelim || p === T.rightParen) continue decls;
          this.errorf('range can only initialize variables');
        }
        this.errorf(`too many declarations in ${context}`);
      } else if (tokenAfterVariable.typ === T.space) {
        this.backup3(v, tokenAfterVariable);
      } else {
        this.backup2(v);
      }
      break;
    }
    for (;;) {
      const t = this.nextNonSpace();
      if (t.typ === end) {
        this.checkPipeline(pipe, context);
        return pipe;
      }
      switch (t.typ) {
        case T.bool: case T.charConstant: case T.complex: case T.dot: case T.field: case T.identifier:
        case T.number: case T.nil: case T.rawString: case T.string: case T.variable: case T.leftParen:
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(t, context);
      }
    }
  }

  checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`);
    for (let i = 1; i < pipe.cmds.length; i++) {
      const first = (pipe.cmds[i] as CommandNode).args[0] as Node;
      switch (first.type) {
        case 'bool': case 'dot': case 'nil': case 'number': case 'string':
          this.errorf(`non executable command in pipeline stage ${i + 1}`);
      }
    }
  }

  branch(kind: 'if' | 'range' | 'with'): BranchNode {
    const mark = this.vars.length;
    try {
      const pipe = this.pipeline(kind, T.rightDelim);
      if (kind === 'range') this.rangeDepth++;
      let [list, next] = this.itemList();
      if (kind === 'range') this.rangeDepth--;
      let elseList: ListNode | null = null;
      if (next.type === 'else') {
        // "{{else if ...}}" (and "{{else with ...}}" inside with) chains without another {{end}}.
        const chained = kind === 'if' ? T.if : kind === 'with' ? T.with : null;
        if (chained !== null && this.peek().typ === chained) {
          this.next();
          elseList = { type: 'list', pos: next.pos, nodes: [this.branch(kind)] };
        } else {
          [elseList, next] = this.itemList();
          if (next.type !== 'end') this.errorf(`expected end; found ${next.type === 'else' ? '{{else}}' : '{{end}}'}`);
        }
      }
      list = list as ListNode;
      return { type: kind, pos: pipe.pos, line: pipe.line, pipe, list, elseList };
    } finally {
      this.vars.length = mark;
    }
  }

  endControl(): Node {
    return { type: 'end', pos: this.expect(T.rightDelim, 'end').pos };
  }

  elseControl(): Node {
    const peek = this.peekNonSpace();
    if (peek.typ === T.if || peek.typ === T.with) return { type: 'else', pos: peek.pos, line: peek.line };
    const token = this.expect(T.rightDelim, 'else');
    return { type: 'else', pos: token.pos, line: token.line };
  }

  blockControl(): Node {
    const context = 'block clause';
    const token = this.nextNonSpace();
    const name = this.parseTemplateName(token, context);
    const pipe = this.pipeline(context, T.rightDelim);
    const savedVars = this.vars;
    const savedDepth = this.rangeDepth;
    this.vars = ['$'];
    this.rangeDepth = 0;
    const [list, end] = this.itemList();
    if (end.type !== 'end') this.errorf(`unexpected {{else}} in ${context}`);
    this.add(name, list);
    this.vars = savedVars;
    this.rangeDepth = savedDepth;
    const node: TemplateNode = { type: 'template', pos: token.pos, line: token.line, name, pipe };
    return node;
  }

  templateControl(): Node {
    const context = 'template clause';
    const token = this.nextNonSpace();
    const name = this.parseTemplateName(token, context);
    let pipe: PipeNode | null = null;
    if (this.nextNonSpace().typ !== T.rightDelim) {
      this.backup();
      pipe = this.pipeline(context, T.rightDelim);
    }
    return { type: 'template', pos: token.pos, line: token.line, name, pipe };
  }

  parseTemplateName(token: Item, context: string): string {
    if (token.typ === T.string || token.typ === T.rawString) {
      try {
        return unquote(token.val);
      } catch (e) {
        this.errorf((e as Error).message);
      }
    }
    this.unexpected(token, context);
  }

  command(): CommandNode {
    const cmd: CommandNode = { type: 'command', pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand !== null) cmd.args.push(operand);
      const token = this.next();
      if (token.typ === T.space) continue;
      if (token.typ === T.rightDelim || token.typ === T.rightParen) this.backup();
      else if (token.typ !== T.pipe) this.unexpected(token, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.errorf('empty command');
    return cmd;
  }

  operand(): Node | null {
    const node = this.term();
    if (node === null) return null;
    if (this.peek().typ === T.field) {
      const pos = this.peek().pos;
      const fields: string[] = [];
      while (this.peek().typ === T.field) fields.push(this.next().val.slice(1));
      switch (node.type) {
        case 'field':
          return { type: 'field', pos, ident: [...node.ident, ...fields] };
        case 'variable':
          return { type: 'variable', pos, ident: [...node.ident, ...fields] };
        case 'bool': case 'string': case 'number': case 'nil': case 'dot':
          this.errorf(`unexpected . after term ${quote(termString(node))}`);
      }
      return { type: 'chain', pos, node, field: fields };
    }
    return node;
  }

  term(): Node | null {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case T.identifier:
        if (!this.hasFunction(token.val)) {
          if (this.opts.deferUnknown !== undefined) this.opts.deferUnknown.push({ name: token.val, line: this.token[0].line });
          else this.errorf(`function ${quote(token.val)} not defined`);
        }
        return { type: 'identifier', pos: token.pos, ident: token.val };
      case T.dot:
        return { type: 'dot', pos: token.pos };
      case T.nil:
        return { type: 'nil', pos: token.pos };
      case T.variable:
        return this.useVar(token.pos, token.val);
      case T.field:
        return { type: 'field', pos: token.pos, ident: token.val.slice(1).split('.') };
      case T.bool:
        return { type: 'bool', pos: token.pos, value: token.val === 'true' };
      case T.charConstant:
      case T.complex:
      case T.number:
        try {
          return newNumber(token.pos, token.val, token.typ);
        } catch (e) {
          this.errorf((e as Error).message);
        }
      // falls through (errorf never returns)
      case T.leftParen:
        return this.pipeline('parenthesized pipeline', T.rightParen);
      case T.string:
      case T.rawString:
        try {
          return { type: 'string', pos: token.pos, quoted: token.val, text: unquote(token.val) };
        } catch (e) {
          this.errorf((e as Error).message);
        }
    }
    this.backup();
    return null;
  }

  newVariable(pos: number, name: string): VariableNode {
    return { type: 'variable', pos, ident: name.split('.') };
  }

  useVar(pos: number, name: string): VariableNode {
    const v = this.newVariable(pos, name);
    const head = v.ident[0] as string;
    if (!this.vars.includes(head)) this.errorf(`undefined variable ${quote(head)}`);
    return v;
  }
}

function termString(n: Node): string {
  switch (n.type) {
    case 'bool': return n.value ? 'true' : 'false';
    case 'string': return n.quoted;
    case 'number': return n.text;
    case 'nil': return 'nil';
    default: return '.';
  }
}

/**
 * Parses `text` as the template `name`; returns every template it defines (the top-level one
 * under `name`). Throws ParseError with Go's message on a syntax error.
 */
export function parseTemplate(name: string, text: string, opts: ParseOptions): Map<string, Tree> {
  const breakOK = !opts.hasFunction('break');
  const continueOK = !opts.hasFunction('continue');
  const items = lex(text, breakOK, continueOK);
  const treeSet = new Map<string, Tree>();
  const p = new Parser(name, items, opts, treeSet);
  p.parse(name);
  return treeSet;
}
