// Compiled templates, cached per file until the file changes (size, mtime or inode), with
// each engine loaded the first time a template needs it.

import { readFileSync, statSync } from 'node:fs';
import type { CompiledTemplate, EngineName, TemplateEngine } from './engine.ts';

export interface TemplateSource {
  /** The compiled template at `path` for `engine`; throws TemplateError on a syntax error. */
  compiled(path: string, engine: EngineName): Promise<CompiledTemplate>;
}

interface Entry {
  readonly stamp: string;
  readonly template: CompiledTemplate;
}

export function createTemplateSource(loadEngine: (name: EngineName) => Promise<TemplateEngine>): TemplateSource {
  const engines = new Map<EngineName, Promise<TemplateEngine>>();
  const cache = new Map<string, Entry>();
  return {
    async compiled(path, engineName) {
      const st = statSync(path);
      const stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
      const key = `${engineName}:${path}`;
      const hit = cache.get(key);
      if (hit !== undefined && hit.stamp === stamp) return hit.template;
      let engine = engines.get(engineName);
      if (engine === undefined) {
        engine = loadEngine(engineName);
        engines.set(engineName, engine);
      }
      const template = (await engine).compile(path.split('/').pop() ?? path, readFileSync(path, 'utf8'));
      cache.set(key, { stamp, template });
      return template;
    },
  };
}
