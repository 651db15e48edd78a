// Splits a command line into words as a POSIX shell would, without running a shell: single and
// double quotes and backslashes are honoured; nothing is expanded ($VAR, globs, ~ stay as
// written). Hooks and jobs run their words directly; `sh -c '...'` is there when a shell is wanted.

export class WordsError extends Error {}

export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i] ?? '';
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end === -1) throw new WordsError(`unterminated single quote at position ${i + 1}`);
      word += line.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new WordsError('unterminated double quote');
        const d = line[i] ?? '';
        if (d === '"') {
          i++;
          break;
        }
        // Inside double quotes a backslash only escapes these, as in sh.
        if (d === '\\' && i + 1 < line.length && '$`"\\\n'.includes(line[i + 1] ?? '')) {
          if (line[i + 1] !== '\n') word += line[i + 1];
          i += 2;
          continue;
        }
        word += d;
        i++;
      }
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new WordsError('a backslash ends the line');
      if (line[i + 1] !== '\n') word += line[i + 1];
      i += 2;
    } else {
      word += c;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}
