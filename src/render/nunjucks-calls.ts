// Which functions a nunjucks template may call, from nunjucks' syntax tree. A global is only
// reachable by its name (a Symbol node), so every symbol in the file counts: called, passed
// on, assigned or shadowed alike. A template that pulls in another one (include, import,
// extends) or runs an extension could call anything, so for it the answer is "cannot tell".

interface AstNode {
  readonly typename: string;
  readonly fields: readonly string[];
  readonly value?: unknown;
  readonly [field: string]: unknown;
}

const REACHES_ELSEWHERE = new Set(['Extends', 'Include', 'Import', 'FromImport', 'CallExtension', 'CallExtensionAsync']);

function isNode(x: unknown): x is AstNode {
  return typeof x === 'object' && x !== null && typeof (x as AstNode).typename === 'string' && Array.isArray((x as AstNode).fields);
}

/** The names of the symbols in `root`, or undefined when the template reaches beyond its file. */
export function symbolsUsed(root: unknown): ReadonlySet<string> | undefined {
  const names = new Set<string>();
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const x = pending.pop();
    if (Array.isArray(x)) {
      pending.push(...(x as unknown[]));
      continue;
    }
    if (!isNode(x)) continue;
    if (REACHES_ELSEWHERE.has(x.typename)) return undefined;
    if (x.typename === 'Symbol' && typeof x.value === 'string') names.add(x.value);
    for (const field of x.fields) pending.push(x[field]);
  }
  return names;
}
