import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitWords, WordsError } from '../../src/core/words.ts';

describe('splitting a command into words as sh would, without expanding', () => {
  const cases: [string, string[]][] = [
    ['pg_dump -U app db', ['pg_dump', '-U', 'app', 'db']],
    ["sh -c 'echo $HOME | wc -c'", ['sh', '-c', 'echo $HOME | wc -c']],
    ['echo "a b" c', ['echo', 'a b', 'c']],
    ['echo "say \\"hi\\" \\$x"', ['echo', 'say "hi" $x']],
    ['echo a\\ b', ['echo', 'a b']],
    ['echo $HOME *.txt ~', ['echo', '$HOME', '*.txt', '~']],
    ["a''b \"\"", ['ab', '']],
    ['  spaced   out  ', ['spaced', 'out']],
    ['', []],
  ];
  for (const [line, words] of cases) it(JSON.stringify(line), () => assert.deepEqual(splitWords(line), words));
  it('refuses unterminated quotes', () => {
    assert.throws(() => splitWords("echo 'oops"), WordsError);
    assert.throws(() => splitWords('echo "oops'), WordsError);
  });
});
