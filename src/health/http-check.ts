// STEWARD_HEALTH_HTTP (and wait-for's healthy:URL): a GET whose answer is 2xx or 3xx, or one of
// STEWARD_HEALTH_HTTP_STATUS. Redirects are not followed (a 3xx is an answer, as in Docker's
// usual curl -f check). No connection is kept between checks: an idle keep-alive socket would be
// one more thing for steward to hold.

import type { IncomingMessage } from 'node:http';
import { ConfigError } from '../core/exit-codes.ts';
import { within } from '../core/process-control/deadline.ts';
import { failed, type Check, type CheckResult } from './check.ts';

/** Bytes of the answer's body shown with its status. */
const BODY_SHOWN = 512;

export function parseHealthUrl(text: string, source: string): URL {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new ConfigError(`${source}: invalid URL ${JSON.stringify(text)} (expected e.g. http://127.0.0.1:8080/healthz)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${source}: ${JSON.stringify(text)} is not an http or https URL`);
  }
  return url;
}

export function acceptsStatus(status: number, accepted: ReadonlySet<number>): boolean {
  return (status >= 200 && status < 400) || accepted.has(status);
}

export async function httpProbe(url: URL, accepted: ReadonlySet<number>, timeoutMs: number, signal: AbortSignal): Promise<CheckResult> {
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const stop = new AbortController();
  const answered = new Promise<CheckResult>((resolve, reject) => {
    const req = request(url, { method: 'GET', agent: false, signal: stop.signal, headers: { 'user-agent': 'steward-health' } }, (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < BODY_SHOWN) body += chunk;
      });
      res.on('error', reject);
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const shown = body.slice(0, BODY_SHOWN).trim();
        resolve({ ok: acceptsStatus(status, accepted), output: `HTTP ${status}${shown === '' ? '' : ` ${shown}`}` });
      });
    });
    req.on('error', reject);
    req.end();
  });
  try {
    return await within(answered, timeoutMs, signal, `${url.href}: no answer within ${timeoutMs}ms`);
  } catch (error) {
    answered.catch(() => {});
    return failed(error);
  } finally {
    stop.abort();
  }
}

export function httpCheck(url: URL, accepted: ReadonlySet<number>): Check {
  return {
    description: `http ${url.href}`,
    run: (_pid, timeoutMs, signal) => httpProbe(url, accepted, timeoutMs, signal),
  };
}
