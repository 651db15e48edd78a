// Which functions a template can call: every identifier in every template the file defines,
// whether or not that template is ever executed, so the answer errs on the side of "calls".

import type { Node, PipeNode, Tree } from './nodes.ts';

function visitPipe(p: PipeNode | null, into: Set<string>): void {
  if (p === null) return;
  for (const cmd of p.cmds) for (const arg of cmd.args) visit(arg, into);
}

function visit(n: Node, into: Set<string>): void {
  switch (n.type) {
    case 'identifier':
      into.add(n.ident);
      return;
    case 'list':
      for (const c of n.nodes) visit(c, into);
      return;
    case 'action':
    case 'pipe':
      visitPipe(n.type === 'action' ? n.pipe : n, into);
      return;
    case 'command':
      for (const arg of n.args) visit(arg, into);
      return;
    case 'chain':
      visit(n.node, into);
      return;
    case 'if':
    case 'range':
    case 'with':
      visitPipe(n.pipe, into);
      visit(n.list, into);
      if (n.elseList !== null) visit(n.elseList, into);
      return;
    case 'template':
      visitPipe(n.pipe, into);
      return;
    default:
      return;
  }
}

/** The names of the functions called anywhere in `trees`. */
export function functionsCalled(trees: Iterable<Tree>): Set<string> {
  const into = new Set<string>();
  for (const t of trees) visit(t.root, into);
  return into;
}
