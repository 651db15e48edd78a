// Compiled templates, cached per file until the file changes (size, mtime or inode), with
// each engine loaded the first time a template needs it.

import { readFileSync, statSync } from 'node:fs';
import type { CompiledTemplate, EngineName, TemplateEngine } from './engine.ts';

export interface TemplateSource {
  /**
   * The compiled template at `path` for `engine`, or of `text` when the template is held in
   * memory; throws TemplateError on a syntax error.
   */
  compiled(path: string, engine: EngineName, text?: string): Promise<CompiledTemplate>;
}

interface Entry {
  readonly stamp: string;
  readonly template: CompiledTemplate;
}

export function createTemplateSource(loadEngine: (name: EngineName) => Promise<TemplateEngine>): TemplateSource {
  const engines = new Map<EngineName, Promise<TemplateEngine>>();
  const cache = new Map<string, Entry>();
  return {
    async compiled(path, engineName, text) {
      let stamp: string;
      if (text === undefined) {
        const st = statSync(path);
        stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
      } else {
        stamp = `text:${text}`;
      }
      const key = `${engineName}:${path}`;
      const hit = cache.get(key);
      if (hit !== undefined && hit.stamp === stamp) return hit.template;
      let engine = engines.get(engineName);
      if (engine === undefined) {
        engine = loadEngine(engineName);
        engines.set(engineName, engine);
      }
      // The file's bytes: the Go engine keeps them as they are, nunjucks reads them as UTF-8.
      const template = (await engine).compile(path.split('/').pop() ?? path, text ?? readFileSync(path));
      cache.set(key, { stamp, template });
      return template;
    },
  };
}
