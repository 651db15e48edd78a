// Values read from the store may be passwords, so no error or log line steward writes about a
// render may contain one: it names the key instead. The engines keep the texts Go and nunjucks
// give (golden tests hold them to it); these rewrites are applied where steward turns a render
// error into an outcome, before anything is logged.

import { readFileSync } from 'node:fs';
import type { TemplateResource } from './resource.ts';

/** What a rewrite may name: the resource's values, by absolute key. */
export type NamedValues = ReadonlyMap<string, string>;

// Go's JSON syntax errors quote the offending character of the value: "invalid character 'S'
// looking for beginning of value". The context after it comes from the grammar, not the value.
const JSON_SYNTAX = /invalid character '((?:[^'\\]|\\.)*)' ([^\n]*)/;
// "json: cannot unmarshal number 1e999 into ...": the number is the value's.
const JSON_NUMBER = /(cannot unmarshal number) \S+/g;

/** `message` without any part of a value: quotes blanked, JSON errors naming the key decoded. */
export function withoutValues(message: string, values: NamedValues): string {
  return message
    .replace(JSON_SYNTAX, (_m, quoted: string, context: string) => `${jsonSubject(quoted, values)} is not valid JSON (${context})`)
    .replace(JSON_NUMBER, '$1')
    .replace(/(error calling \w+: |strconv\.\w+: parsing |json: |base64)(.*)$/s, (_m, head: string, tail: string) =>
      head + tail.replace(/"(?:[^"\\]|\\.)*"/g, '"…"'),
    );
}

/**
 * Which value failed to decode: the keys whose value is not JSON and holds the character Go
 * reported (the text Go decoded is not in the error, and a value is not tagged with its key).
 */
function jsonSubject(quoted: string, values: NamedValues): string {
  const character = unquoteChar(quoted);
  const keys: string[] = [];
  for (const [key, value] of values) {
    if ((character === ' ' || value.includes(character)) && !isJson(value)) keys.push(key);
  }
  if (keys.length === 0) return 'a value computed by the template';
  const named = keys.slice(0, 5).join(', ') + (keys.length > 5 ? ', …' : '');
  return keys.length === 1 ? `the value of ${named}` : `the value of one of ${named}`;
}

function unquoteChar(quoted: string): string {
  if (quoted.startsWith('\\x')) return String.fromCharCode(Number.parseInt(quoted.slice(2), 16));
  if (quoted.startsWith('\\u') || quoted.startsWith('\\U')) return String.fromCodePoint(Number.parseInt(quoted.slice(2), 16));
  if (quoted === '\\t') return '\t';
  if (quoted === '\\n') return '\n';
  if (quoted === '\\r') return '\r';
  return quoted.replace(/^\\/, '');
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * The name of a missing key as steward may print it. A key the template names literally, or one
 * under the resource's `keys`, is printed; any other was computed by the template, perhaps from a
 * value (`getv (getv "/a")`), and is described by where the template asked for it.
 */
export function printableMissingKey(
  resource: TemplateResource,
  asked: string,
  absolute: string,
  underKeys: (key: string) => boolean,
  where: { readonly template: string; readonly line: number | undefined },
): string {
  if (underKeys(absolute) || namedLiterally(resource, asked)) return absolute;
  return `a key computed by the template (${where.line === undefined ? where.template : `${where.template}:${where.line}`})`;
}

function namedLiterally(resource: TemplateResource, key: string): boolean {
  let text: string;
  try {
    text = resource.templateText ?? readFileSync(resource.src, 'utf8');
  } catch {
    return false;
  }
  return ['"', "'", '`'].some((q) => text.includes(`${q}${key}${q}`));
}
