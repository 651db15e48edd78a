// text/template's executor (Go 1.19's exec.go semantics) over the Go value model: evaluation
// order, argument conversion, truthiness, printing, and Go's exec error texts with
// "template: NAME:LINE:COL: executing \"NAME\" at <NODE>: ..." locations.

import { quote } from './strings.ts';
import { RenderLimitError, TemplateError, type RenderLimits } from '../engine.ts';
import { MissingKeyError } from './errors.ts';
import { formatValue, keyValue, sortedKeys, sprint } from './fmt.ts';
import type { GoFunc } from './funcs.ts';
import { nodeString } from './nodes.ts';
import type {
  BranchNode, ChainNode, CommandNode, FieldNode, IdentifierNode, Node, NumberNode, PipeNode,
  TemplateNode, Tree, VariableNode,
} from './nodes.ts';
import {
  FLOAT64, GoComplex, GoMap, GoNum, GoPtr, GoSlice, GoStruct, IFACE, INT, REFLECT, assignable, canBeNil,
  truth, typeOf, zeroOf,
} from './value.ts';
import type { GoMethod, GoType, GoValue } from './value.ts';

/** Marks "no final argument" (Go's missingVal). */
const MISSING = Symbol('missing');
type Final = GoValue | typeof MISSING;

const BREAK = Symbol('break');
const CONTINUE = Symbol('continue');

export const MAX_EXEC_DEPTH = 100000;

/** A function as the executor finds it; `and` and `or` evaluate lazily only when builtin. */
export interface FoundFunction<C> {
  readonly fn: GoFunc<C>;
  readonly builtin: boolean;
}

/** Everything a render needs besides the data: templates, functions, the source text. */
export interface Program<C> {
  readonly name: string;
  readonly text: string;
  readonly trees: ReadonlyMap<string, Tree>;
  readonly funcs: (name: string) => FoundFunction<C> | undefined;
}

/** State shared by a render and the templates it calls. */
interface Shared {
  readonly out: Output;
  /** The innermost {{template}} call, to report running out of stack as Go reports depth. */
  call: { node: TemplateNode; name: string } | null;
}

// How many nodes run between two looks at the clock: a look costs more than a node.
const NODES_PER_TIME_CHECK = 256;

/** The output as it grows, held to the render's limits (a byte string: its length is its size). */
class Output {
  readonly parts: string[] = [];
  #size = 0;
  #nodes = 0;
  readonly #limits: RenderLimits | undefined;

  constructor(limits: RenderLimits | undefined) {
    this.#limits = limits;
  }

  push(text: string): void {
    this.#size += text.length;
    if (this.#limits !== undefined && this.#size > this.#limits.maxBytes) throw new RenderLimitError('bytes');
    this.parts.push(text);
  }

  /** One more node runs: now and then, ask whether the time is up. */
  tick(): void {
    if (++this.#nodes % NODES_PER_TIME_CHECK === 0 && this.#limits?.expired?.() === true) throw new RenderLimitError('time');
  }
}

function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && e.message.includes('call stack');
}

interface Var {
  name: string;
  value: GoValue;
  /** The value came out of an interface{} slot (matters only for error messages). */
  iface: boolean;
}

/** Location "NAME:LINE:COL" of a node; the text is a byte string, so the column counts bytes as Go's does. */
export function location(text: string, parseName: string, pos: number): { line: number; col: number; loc: string } {
  const before = text.slice(0, pos);
  const nl = before.lastIndexOf('\n');
  let line = 1;
  for (let i = 0; i < before.length; i++) if (before.charCodeAt(i) === 0x0a) line++;
  const col = nl < 0 ? before.length : before.length - nl - 1;
  return { line, col, loc: `${parseName}:${line}:${col}` };
}

class ExecState<C> {
  readonly prog: Program<C>;
  readonly ctx: C;
  tmplName: string;
  node: Node | null = null;
  vars: Var[];
  depth: number;
  readonly shared: Shared;
  readonly out: Output;
  /** Set by evalField: whether the value it returned sits in an interface{} slot. */
  lastIface = false;

  constructor(prog: Program<C>, ctx: C, tmplName: string, vars: Var[], depth: number, shared: Shared) {
    this.prog = prog;
    this.ctx = ctx;
    this.tmplName = tmplName;
    this.vars = vars;
    this.depth = depth;
    this.shared = shared;
    this.out = shared.out;
  }

  at(n: Node): void {
    this.node = n;
  }

  errorf(msg: string, key?: string): never {
    const name = this.tmplName;
    if (this.node === null) {
      throw new TemplateError(`template: ${name}: ${msg}`, { template: name, key });
    }
    const { line, col, loc } = location(this.prog.text, this.prog.name, this.node.pos);
    const message = `template: ${loc}: executing ${quote(name)} at <${nodeString(this.node)}>: ${msg}`;
    throw new TemplateError(message, { template: this.prog.name, line, column: col, key });
  }

  // ---- variables ----

  push(name: string, value: GoValue, iface = false): void {
    this.vars.push({ name, value, iface });
  }

  mark(): number {
    return this.vars.length;
  }

  pop(mark: number): void {
    this.vars.length = mark;
  }

  setVar(name: string, value: GoValue): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      const v = this.vars[i] as Var;
      if (v.name === name) {
        v.value = value;
        v.iface = false;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }

  setTopVar(n: number, value: GoValue, iface: boolean): void {
    const v = this.vars[this.vars.length - n] as Var;
    v.value = value;
    v.iface = iface;
  }

  lookupVar(name: string): Var {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      const v = this.vars[i] as Var;
      if (v.name === name) return v;
    }
    this.errorf(`undefined variable: ${name}`);
  }

  // ---- walking ----

  walk(dot: GoValue, dotIface: boolean, node: Node): void {
    this.out.tick();
    this.at(node);
    switch (node.type) {
      case 'action': {
        const val = this.evalPipeline(dot, dotIface, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, val);
        return;
      }
      case 'break':
        throw BREAK;
      case 'continue':
        throw CONTINUE;
      case 'if':
      case 'with':
        this.walkIfOrWith(dot, dotIface, node);
        return;
      case 'list':
        for (const n of node.nodes) this.walk(dot, dotIface, n);
        return;
      case 'range':
        this.walkRange(dot, dotIface, node);
        return;
      case 'template':
        this.walkTemplate(dot, dotIface, node);
        return;
      case 'text':
        this.out.push(node.text);
        return;
      default:
        this.errorf(`unknown node: ${nodeString(node)}`);
    }
  }

  walkIfOrWith(dot: GoValue, dotIface: boolean, node: BranchNode): void {
    const mark = this.mark();
    try {
      const val = this.evalPipeline(dot, dotIface, node.pipe);
      if (truth(val)) {
        if (node.type === 'with') this.walk(val, false, node.list);
        else this.walk(dot, dotIface, node.list);
      } else if (node.elseList !== null) {
        this.walk(dot, dotIface, node.elseList);
      }
    } finally {
      this.pop(mark);
    }
  }

  walkRange(dot: GoValue, dotIface: boolean, r: BranchNode): void {
    this.at(r);
    const outer = this.mark();
    try {
      let val = this.evalPipeline(dot, dotIface, r.pipe);
      if (val instanceof GoPtr) val = val.p === null ? val : val.p;
      const mark = this.mark();
      const decls = r.pipe.decl.length;
      const one = (index: GoValue, elem: GoValue, elemIface: boolean): boolean => {
        if (decls > 0) this.setTopVar(1, elem, elemIface);
        if (decls > 1) this.setTopVar(2, index, false);
        try {
          this.walk(elem, elemIface, r.list);
        } catch (e) {
          if (e === BREAK) return false;
          if (e !== CONTINUE) throw e;
        } finally {
          this.pop(mark);
        }
        return true;
      };
      if (val instanceof GoSlice) {
        if (val.n > 0) {
          const iface = val.t.elem?.kind === 'interface';
          for (let i = 0; i < val.n; i++) if (!one(i, val.at(i), iface)) break;
          return;
        }
      } else if (val instanceof GoMap) {
        if (val.m.size > 0) {
          const iface = val.t.elem?.kind === 'interface';
          for (const k of sortedKeys(val)) if (!one(keyValue(val, k), val.m.get(k), iface)) break;
          return;
        }
      } else if (typeof val === 'number' || typeof val === 'bigint') {
        // Ranging over an int is Go 1.22's; steward accepts it as asked.
        if (decls > 1) this.errorf(`can't use ${formatValue(val)} to iterate over more than one variable`);
        const n = Number(val);
        if (n > 0) {
          for (let i = 0; i < n; i++) if (!one(i, i, false)) break;
          return;
        }
      } else if (val !== undefined) {
        this.errorf(`range can't iterate over ${formatValue(val)}`);
      }
      if (r.elseList !== null) this.walk(dot, dotIface, r.elseList);
    } finally {
      this.pop(outer);
    }
  }

  walkTemplate(dot: GoValue, dotIface: boolean, t: TemplateNode): void {
    this.at(t);
    const tree = this.prog.trees.get(t.name);
    if (tree === undefined) this.errorf(`template ${quote(t.name)} not defined`);
    if (this.depth === MAX_EXEC_DEPTH) this.errorf(`exceeded maximum template depth (${MAX_EXEC_DEPTH})`);
    const newDot = this.evalPipeline(dot, dotIface, t.pipe);
    this.shared.call = { node: t, name: this.tmplName };
    const s = new ExecState(this.prog, this.ctx, t.name, [{ name: '$', value: newDot, iface: false }], this.depth + 1, this.shared);
    s.node = this.node;
    s.walk(newDot, false, tree.root);
  }

  // ---- evaluation ----

  evalPipeline(dot: GoValue, dotIface: boolean, pipe: PipeNode | null): GoValue {
    if (pipe === null) return undefined;
    this.at(pipe);
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, dotIface, cmd, value);
      // A nil interface{} result becomes "no value", as reflect.ValueOf(nil) is invalid.
      if (value === null) value = undefined;
    }
    const v = value as GoValue;
    for (const d of pipe.decl) {
      if (pipe.isAssign) this.setVar(d.ident[0] as string, v);
      else this.push(d.ident[0] as string, v);
    }
    return v;
  }

  notAFunction(args: readonly Node[], final: Final): void {
    if (args.length > 1 || final !== MISSING) this.errorf(`can't give argument to non-function ${nodeString(args[0] as Node)}`);
  }

  evalCommand(dot: GoValue, dotIface: boolean, cmd: CommandNode, final: Final): GoValue {
    const first = cmd.args[0] as Node;
    switch (first.type) {
      case 'field':
        return this.evalFieldNode(dot, dotIface, first, cmd.args, final);
      case 'chain':
        return this.evalChainNode(dot, dotIface, first, cmd.args, final);
      case 'identifier':
        return this.evalFunction(dot, dotIface, first, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, dotIface, first);
      case 'variable':
        return this.evalVariableNode(dot, dotIface, first, cmd.args, final);
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.type) {
      case 'bool': return first.value;
      case 'dot': return dot;
      case 'nil': this.errorf('nil is not a command');
      // falls through (errorf never returns)
      case 'number': return this.idealConstant(first);
      case 'string': return first.text;
    }
    this.errorf(`can't evaluate command ${quote(nodeString(first))}`);
  }

  idealConstant(c: NumberNode): GoValue {
    this.at(c);
    if (c.isComplex) return new GoComplex(c.re, c.im);
    const isHexInt = c.text.length > 2 && c.text[0] === '0' && (c.text[1] === 'x' || c.text[1] === 'X') && !/[pP]/.test(c.text);
    const isRune = c.text[0] === "'";
    if (c.isFloat && !isHexInt && !isRune && /[.eEpP]/.test(c.text)) return new GoNum(FLOAT64, c.float);
    if (c.isInt) return intFromBig(c.int);
    if (c.isUint) this.errorf(`${c.text} overflows int`);
    return undefined;
  }

  evalFieldNode(dot: GoValue, dotIface: boolean, field: FieldNode, args: readonly Node[] | null, final: Final): GoValue {
    this.at(field);
    return this.evalFieldChain(dot, dotIface, dot, dotIface, field, field.ident, args, final);
  }

  evalChainNode(dot: GoValue, dotIface: boolean, chain: ChainNode, args: readonly Node[] | null, final: Final): GoValue {
    this.at(chain);
    if (chain.field.length === 0) this.errorf('internal error: no fields in evalChainNode');
    if (chain.node.type === 'nil') this.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = this.evalArg(dot, dotIface, null, chain.node);
    return this.evalFieldChain(dot, dotIface, pipe, false, chain, chain.field, args, final);
  }

  evalVariableNode(dot: GoValue, dotIface: boolean, v: VariableNode, args: readonly Node[] | null, final: Final): GoValue {
    this.at(v);
    const variable = this.lookupVar(v.ident[0] as string);
    if (v.ident.length === 1) {
      this.notAFunction(args ?? [v], final);
      return variable.value;
    }
    return this.evalFieldChain(dot, dotIface, variable.value, variable.iface, v, v.ident.slice(1), args, final);
  }

  evalFieldChain(
    dot: GoValue, dotIface: boolean, receiver: GoValue, recvIface: boolean, node: Node, ident: readonly string[],
    args: readonly Node[] | null, final: Final,
  ): GoValue {
    const n = ident.length;
    for (let i = 0; i < n - 1; i++) {
      receiver = this.evalField(dot, dotIface, ident[i] as string, node, null, MISSING, receiver, recvIface);
      recvIface = this.lastIface;
    }
    return this.evalField(dot, dotIface, ident[n - 1] as string, node, args, final, receiver, recvIface);
  }

  evalFunction(dot: GoValue, dotIface: boolean, node: IdentifierNode, cmd: Node, args: readonly Node[] | null, final: Final): GoValue {
    this.at(node);
    const name = node.ident;
    const found = this.prog.funcs(name);
    if (found === undefined) this.errorf(`${quote(name)} is not a defined function`);
    return this.evalCall(dot, dotIface, found.fn, found.builtin, cmd, name, args, final, false, undefined);
  }

  evalField(
    dot: GoValue, dotIface: boolean, fieldName: string, node: Node, args: readonly Node[] | null, final: Final,
    receiver: GoValue, recvIface: boolean,
  ): GoValue {
    this.lastIface = false;
    if (receiver === undefined) return undefined;
    const typStr = recvIface || receiver === null ? 'interface {}' : typeOf(receiver).str;
    if (receiver === null) this.errorf(`nil pointer evaluating ${typStr}.${fieldName}`);
    let r: GoValue = receiver;
    let isNil = false;
    if (r instanceof GoPtr) {
      if (r.p === null) isNil = true;
      else r = r.p;
    }
    const t = typeof r === 'object' && r !== null ? r.t : typeOf(r as Exclude<GoValue, undefined | null>);
    const method = (receiver instanceof GoPtr ? receiver.t.methods.get(fieldName) : undefined) ?? t.methods.get(fieldName);
    if (method !== undefined) {
      return this.evalCall(dot, dotIface, method, false, node, fieldName, args, final, true, r);
    }
    const hasArgs = (args !== null && args.length > 1) || final !== MISSING;
    if (r instanceof GoStruct) {
      const i = r.t.fieldIndex(fieldName);
      if (i >= 0) {
        if (hasArgs) this.errorf(`${fieldName} has arguments but cannot be invoked as function`);
        this.lastIface = (r.t.fields[i] as { type: GoType }).type.kind === 'interface';
        return r.f[i];
      }
    } else if (r instanceof GoMap) {
      if ((r.t.key as GoType).kind === 'string' || (r.t.key as GoType).kind === 'interface') {
        if (hasArgs) this.errorf(`${fieldName} is not a method but has arguments`);
        this.lastIface = (r.t.elem as GoType).kind === 'interface';
        return r.m.get(fieldName);
      }
    } else if (r instanceof GoPtr && isNil) {
      const et = r.t.elem as GoType;
      if (et.kind !== 'struct' || et.fieldIndex(fieldName) >= 0) this.errorf(`nil pointer evaluating ${typStr}.${fieldName}`);
    }
    this.errorf(`can't evaluate field ${fieldName} in type ${typStr}`);
  }

  evalCall(
    dot: GoValue, dotIface: boolean, fn: GoFunc<C> | GoMethod, isBuiltin: boolean, node: Node, name: string,
    argNodes: readonly Node[] | null, final: Final, isMethod: boolean, recv: GoValue,
  ): GoValue {
    const args = argNodes !== null ? argNodes.slice(1) : [];
    let numIn = args.length;
    if (final !== MISSING) numIn++;
    const nParams = fn.params.length + (fn.variadic !== undefined ? 1 : 0);
    let numFixed = args.length;
    if (fn.variadic !== undefined) {
      numFixed = fn.params.length;
      if (numIn < numFixed) this.errorf(`wrong number of args for ${name}: want at least ${numFixed} got ${args.length}`);
    } else if (numIn !== nParams) {
      this.errorf(`wrong number of args for ${name}: want ${nParams} got ${numIn}`);
    }

    if (isBuiltin && (name === 'and' || name === 'or')) {
      let v: GoValue = undefined;
      for (const a of args) {
        v = this.evalArg(dot, dotIface, REFLECT, a);
        if (truth(v) === (name === 'or')) return v;
      }
      if (final !== MISSING) v = this.validateType(final, REFLECT);
      return v;
    }

    const argv: GoValue[] = new Array(numIn);
    let i = 0;
    for (; i < numFixed && i < args.length; i++) argv[i] = this.evalArg(dot, dotIface, fn.params[i] as GoType, args[i] as Node);
    if (fn.variadic !== undefined) {
      for (; i < args.length; i++) argv[i] = this.evalArg(dot, dotIface, fn.variadic, args[i] as Node);
    }
    if (final !== MISSING) {
      let t: GoType;
      if (fn.variadic !== undefined) t = numIn - 1 < numFixed ? (fn.params[numIn - 1] as GoType) : fn.variadic;
      else t = fn.params[fn.params.length - 1] as GoType;
      argv[i] = this.validateType(final, t);
    }
    try {
      return isMethod ? (fn as GoMethod).call(recv, argv) : (fn as GoFunc<C>).call(argv, this.ctx);
    } catch (e) {
      if (e instanceof TemplateError || e instanceof RenderLimitError || isStackOverflow(e)) throw e;
      this.at(node);
      const key = e instanceof MissingKeyError ? e.key : undefined;
      this.errorf(`error calling ${name}: ${e instanceof Error ? e.message : String(e)}`, key);
    }
  }

  validateType(value: GoValue, typ: GoType | null): GoValue {
    if (value === undefined) {
      if (typ === null) return undefined;
      if (canBeNil(typ)) return zeroOf(typ);
      this.errorf(`invalid value; expected ${typ.str}`);
    }
    if (typ === null || typ === REFLECT || typ === IFACE) return value;
    if (value === null) this.errorf(`wrong type for value; expected ${typ.str}; got interface {}`);
    const vt = typeOf(value);
    if (assignable(vt, typ)) return value instanceof GoSlice && vt !== typ ? value.as(typ) : value;
    if (value instanceof GoPtr && assignable(value.t.elem as GoType, typ)) {
      if (value.p === null) this.errorf(`dereference of nil pointer of type ${typ.str}`);
      return value.p;
    }
    this.errorf(`wrong type for value; expected ${typ.str}; got ${vt.str}`);
  }

  evalArg(dot: GoValue, dotIface: boolean, typ: GoType | null, n: Node): GoValue {
    this.at(n);
    switch (n.type) {
      case 'dot':
        return this.validateType(dot, typ);
      case 'nil':
        if (typ !== null && canBeNil(typ)) return zeroOf(typ);
        this.errorf(`cannot assign nil to ${typ === null ? '<nil>' : typ.str}`);
      // falls through (errorf never returns)
      case 'field':
        return this.validateType(this.evalFieldNode(dot, dotIface, n, [n], MISSING), typ);
      case 'variable':
        return this.validateType(this.evalVariableNode(dot, dotIface, n, null, MISSING), typ);
      case 'pipe':
        return this.validateType(this.evalPipeline(dot, dotIface, n), typ);
      case 'identifier':
        return this.validateType(this.evalFunction(dot, dotIface, n, n, null, MISSING), typ);
      case 'chain':
        return this.validateType(this.evalChainNode(dot, dotIface, n, null, MISSING), typ);
    }
    const kind = typ === null ? 'interface' : typ.kind;
    switch (kind) {
      case 'bool':
        if (n.type === 'bool') return n.value;
        this.errorf(`expected bool; found ${nodeString(n)}`);
      // falls through
      case 'complex128':
        if (n.type === 'number' && n.isComplex) return new GoComplex(n.re, n.im);
        this.errorf(`expected complex; found ${nodeString(n)}`);
      // falls through
      case 'float64':
        if (n.type === 'number' && n.isFloat) return new GoNum(typ as GoType, n.float);
        this.errorf(`expected float; found ${nodeString(n)}`);
      // falls through
      case 'int':
      case 'int64':
        if (n.type === 'number' && n.isInt) return typ === INT ? intFromBig(n.int) : new GoNum(typ as GoType, intFromBig(n.int));
        this.errorf(`expected integer; found ${nodeString(n)}`);
      // falls through
      case 'uint8':
      case 'uint16':
        if (n.type === 'number' && n.isUint) return new GoNum(typ as GoType, Number(n.uint));
        this.errorf(`expected unsigned integer; found ${nodeString(n)}`);
      // falls through
      case 'interface':
      case 'reflect':
        return this.evalEmptyInterface(dot, n);
      case 'string':
        if (n.type === 'string') return n.text;
        this.errorf(`expected string; found ${nodeString(n)}`);
    }
    this.errorf(`can't handle ${nodeString(n)} for arg of type ${(typ as GoType).str}`);
  }

  evalEmptyInterface(dot: GoValue, n: Node): GoValue {
    this.at(n);
    switch (n.type) {
      case 'bool': return n.value;
      case 'dot': return dot;
      case 'number': return this.idealConstant(n);
      case 'string': return n.text;
    }
    this.errorf(`can't handle assignment of ${nodeString(n)} to empty interface argument`);
  }

  printValue(n: Node, v: GoValue): void {
    this.at(n);
    if (typeof v === 'string') {
      this.out.push(v);
      return;
    }
    if (v instanceof GoPtr && v.p !== null) v = v.p;
    if (v === undefined) {
      this.out.push('<no value>');
      return;
    }
    this.out.push(sprint([v]));
  }
}

export function intFromBig(b: bigint): number | bigint {
  return b >= -9007199254740991n && b <= 9007199254740991n ? Number(b) : b;
}

/**
 * Executes template `name` of the program with nil data, returning the output. JavaScript's
 * stack runs out long before Go's limit of 100000 nested {{template}} calls; that is reported
 * with Go's message, at the innermost call.
 */
export function execute<C>(prog: Program<C>, name: string, ctx: C, limits?: RenderLimits): string {
  const tree = prog.trees.get(name);
  const shared: Shared = { out: new Output(limits), call: null };
  const s = new ExecState(prog, ctx, name, [{ name: '$', value: undefined, iface: false }], 0, shared);
  if (tree === undefined) s.errorf(`${quote(name)} is an incomplete or empty template`);
  try {
    s.walk(undefined, false, (tree as Tree).root);
  } catch (e) {
    if (isStackOverflow(e) && shared.call !== null) {
      const at = new ExecState(prog, ctx, shared.call.name, [], 0, shared);
      at.node = shared.call.node;
      at.errorf(`exceeded maximum template depth (${MAX_EXEC_DEPTH})`);
    }
    throw e;
  }
  return shared.out.parts.join('');
}
