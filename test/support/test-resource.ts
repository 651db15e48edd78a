// A template resource as load-resources.ts would make it, without files, for unit tests of the
// render queue and the reload batcher.

import type { TemplateResource } from '../../src/resources/resource.ts';

export function testResource(name: string, extra: Partial<TemplateResource> = {}): TemplateResource {
  return {
    name,
    tomlPath: `/conf.d/${name}.toml`,
    src: `/templates/${name}.tmpl`,
    dest: `/out/${name}`,
    keys: [`/${name}`],
    prefix: '/',
    backendKeys: [`/${name}`],
    mode: undefined,
    uid: undefined,
    gid: undefined,
    checkCmd: undefined,
    reloadCmd: undefined,
    reload: { kind: 'signal', signal: 'SIGHUP' },
    wait: undefined,
    engine: 'go',
    ...extra,
  };
}
