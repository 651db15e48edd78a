// No error or log line contains a value read from the store: it names the key instead. Each case
// puts a recognisable "secret" in the store, makes the template fail on it, and looks for it in
// everything steward wrote.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { makeConfdir } from '../support/confdir.ts';
import { APP, NODE, runSteward, stopAllStewards } from '../support/steward.ts';

afterEach(stopAllStewards);

async function failingStart(values: string, template: string, templateName = 'app.tmpl'): Promise<{ code: number | null; output: string }> {
  const c = makeConfdir({ 'app.toml': `[template]\nsrc = "${templateName}"\ndest = "$OUT/app.conf"\nkeys = ["/app"]\n` }, { [templateName]: template });
  const r = await runSteward([NODE, APP], {
    env: { CONFD_CONFDIR: c.dir, CONFD_BACKEND: 'file', CONFD_FILE: c.file('values.yaml', values), STEWARD_CONFIG_TIMEOUT: '1s' },
  });
  return { code: r.code, output: `${r.stdout.join('\n')}\n${r.stderr}` };
}

describe('values in errors', () => {
  it('a JSON error names the key, not the value\'s first character', async () => {
    const r = await failingStart('app:\n  config: "Sup3rSecret"\n', '{{ $c := json (getv "/app/config") }}{{ $c.x }}\n');
    assert.equal(r.code, 78, r.output);
    assert.match(r.output, /the value of \/app\/config is not valid JSON \(looking for beginning of value\)/);
    assert.doesNotMatch(r.output, /invalid character/);
    assert.doesNotMatch(r.output, /Sup3rSecret/);
  });

  it('a JSON number out of range is not quoted', async () => {
    const r = await failingStart('app:\n  list: "[1e999271]"\n', '{{ range jsonArray (getv "/app/list") }}{{ . }}{{ end }}\n');
    assert.equal(r.code, 78, r.output);
    assert.match(r.output, /cannot unmarshal number into Go value/);
    assert.doesNotMatch(r.output, /1e999271/);
  });

  it('a missing key computed from a value is described, not printed', async () => {
    const r = await failingStart('app:\n  pointer: "/Sup3rSecretPath"\n', 'x={{ getv (getv "/app/pointer") }}\n');
    assert.equal(r.code, 78, r.output);
    assert.match(r.output, /keys still missing after 1s \(STEWARD_CONFIG_TIMEOUT\): a key computed by the template \(app\.tmpl:1\)/);
    assert.doesNotMatch(r.output, /Sup3rSecretPath/);
  });

  it('a missing key the template names, or one under keys, is still printed', async () => {
    const r = await failingStart('app:\n  host: "h"\n', 'x={{ getv "/other/named" }}\n');
    assert.equal(r.code, 78, r.output);
    assert.match(r.output, /keys still missing after 1s \(STEWARD_CONFIG_TIMEOUT\): \/other\/named/);
    const under = await failingStart('app:\n  name: "port"\n', 'x={{ getv (printf "/app/%s" (getv "/app/name")) }}\n');
    assert.match(under.output, /keys still missing after 1s \(STEWARD_CONFIG_TIMEOUT\): \/app\/port/);
  });

  it('a nunjucks include of a value does not print the value', async () => {
    const r = await failingStart('app:\n  name: "Sup3rSecretName"\n', '{% include getv("/app/name") %}\n', 'app.conf.njk');
    assert.equal(r.code, 78, r.output);
    assert.match(r.output, /app\.conf\.njk:1(:\d+)?: .*template not found: a name computed by the template/);
    assert.doesNotMatch(r.output, /Sup3rSecretName/);
  });
});
