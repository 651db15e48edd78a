// A compiled template says which functions it calls, so that a change of role, lock or
// membership re-renders only the templates that can see it, without reading their files again.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { loadGoEngine, loadNunjucksEngine } from '../../src/render/index.ts';

const extraFunctionNames = ['role', 'isLeader', 'leader', 'members', 'hasLock'];
const go = await loadGoEngine({ extraFunctionNames });
const nunjucks = await loadNunjucksEngine();
after(() => go.close());

function goCalls(text: string): string[] {
  const calls = go.compile('t.tmpl', text).calls;
  assert.ok(calls !== undefined, 'the Go engine always knows');
  return [...calls].sort();
}

function nunjucksCalls(text: string): string[] | undefined {
  const calls = nunjucks.compile('t.njk', text).calls;
  return calls === undefined ? undefined : [...calls].sort();
}

describe('the go engine', () => {
  test('names every function of every action, nested calls and builtins included', () => {
    assert.deepEqual(goCalls('{{ role }}'), ['role']);
    assert.deepEqual(goCalls('{{ printf "%d" (len (members)) | print }}'), ['len', 'members', 'print', 'printf']);
    assert.deepEqual(goCalls('{{ printf "%v" leader }}'), ['leader', 'printf']);
    assert.deepEqual(goCalls('{{ $m := members }}{{ (datetime).Year }}'), ['datetime', 'members']);
    assert.deepEqual(goCalls('plain text'), []);
  });

  test('looks into every branch, taken or not', () => {
    assert.deepEqual(
      goCalls('{{ if isLeader }}a{{ else if hasLock "x" }}b{{ else }}{{ leader }}{{ end }}'),
      ['hasLock', 'isLeader', 'leader'],
    );
    assert.deepEqual(goCalls('{{ range getvs "/x/*" }}{{ . }}{{ else }}{{ role }}{{ end }}'), ['getvs', 'role']);
    assert.deepEqual(goCalls('{{ with getv "/a" "" }}{{ . }}{{ else with members }}{{ . }}{{ end }}'), ['getv', 'members']);
  });

  test('includes the templates the file defines, called or not, and the arguments given to them', () => {
    assert.deepEqual(goCalls('{{ define "unused" }}{{ hasLock "/l" }}{{ end }}text'), ['hasLock']);
    assert.deepEqual(goCalls('{{ template "peer" members }}{{ define "peer" }}{{ . }}{{ end }}'), ['members']);
    assert.deepEqual(goCalls('{{ block "b" . }}{{ role }}{{ end }}'), ['role']);
  });

  test('does not count variables, fields, strings or comments that happen to share a name', () => {
    assert.deepEqual(goCalls('{{ $role := "role" }}{{ $role }}{{ .members }}{{/* leader */}} isLeader'), []);
  });

  test('knows the names a template calls before they are known to exist, when they are checked late', async () => {
    const late = await loadGoEngine();
    try {
      assert.deepEqual([...(late.compile('t', '{{ someday }}').calls ?? [])], ['someday']);
    } finally {
      late.close();
    }
  });
});

describe('the nunjucks engine', () => {
  test('names the functions called, in expressions, tests, loops and macros', () => {
    assert.deepEqual(nunjucksCalls('{{ role() }}'), ['role']);
    assert.deepEqual(nunjucksCalls('{% if "x" == leader() %}{{ getv("/a") }}{% endif %}'), ['getv', 'leader']);
    assert.deepEqual(nunjucksCalls('{% for m in members() %}{% else %}{{ hasLock("/l") }}{% endfor %}'), ['hasLock', 'm', 'members']);
    assert.deepEqual(nunjucksCalls('{% macro peer() %}{{ isLeader() }}{% endmacro %}'), ['isLeader', 'peer']);
  });

  test('counts a function that is only passed on or assigned, since it may be called under another name', () => {
    assert.deepEqual(nunjucksCalls('{% set f = role %}{{ f() }}'), ['f', 'role']);
  });

  test('does not count strings or comments', () => {
    assert.deepEqual(nunjucksCalls('{# role() #}{{ "members()" }} leader()'), []);
  });

  test('cannot tell for a template that pulls in another one', () => {
    assert.equal(nunjucksCalls('{% include "other.njk" %}'), undefined);
    assert.equal(nunjucksCalls('{% import "macros.njk" as m %}'), undefined);
    assert.equal(nunjucksCalls('{% extends "base.njk" %}'), undefined);
  });
});
