// Registration with the local Consul agent: PUT /v1/agent/service/register with a TTL check
// (DeregisterCriticalServiceAfter removes it once steward is gone), then the check passed or
// failed with the health check's output every half TTL, and the agent's own maintenance mode.
// An agent that no longer knows the check (restarted, or it reaped the service) gets the
// registration again.

import { ConsulResponseError } from '../stores/consul/kv-client.ts';
import type { ConsulAgentHttp } from '../stores/consul/agent-http.ts';
import type { Registrar } from './registrar.ts';
import { checkId, type ServiceSpec, type ServiceState } from './service-spec.ts';

const REQUEST_TIMEOUT_MS = 5000;

function goDuration(ms: number): string {
  return `${Math.max(1, Math.round(ms))}ms`;
}

export function consulRegistrar(spec: ServiceSpec, http: ConsulAgentHttp): Registrar {
  let registered = false;
  let maintenance: string | undefined;
  const call = (method: 'PUT', path: string, signal: AbortSignal, body?: unknown) =>
    http.call({ method, path, body, timeoutMs: REQUEST_TIMEOUT_MS, signal });

  async function register(state: ServiceState, signal: AbortSignal): Promise<void> {
    await call('PUT', '/agent/service/register', signal, {
      ID: spec.id,
      Name: spec.name,
      Tags: spec.tags,
      Address: spec.address,
      Port: spec.port,
      Meta: spec.meta,
      Check: {
        CheckID: checkId(spec),
        Name: `Service '${spec.name}' check (steward)`,
        TTL: goDuration(spec.ttlMs),
        Status: state.status,
        Notes: 'passed or failed by steward from the app\'s health',
        DeregisterCriticalServiceAfter: goDuration(spec.deregisterAfterMs),
      },
    });
    registered = true;
    maintenance = undefined;
  }

  async function update(state: ServiceState, signal: AbortSignal): Promise<void> {
    const verb = state.status === 'passing' ? 'pass' : 'fail';
    await call('PUT', `/agent/check/${verb}/${encodeURIComponent(checkId(spec))}?note=${encodeURIComponent(state.output)}`, signal);
    if (state.maintenance !== maintenance) {
      const enable = state.maintenance !== undefined;
      const reason = enable ? `&reason=${encodeURIComponent(state.maintenance ?? '')}` : '';
      await call('PUT', `/agent/service/maintenance/${encodeURIComponent(spec.id)}?enable=${enable}${reason}`, signal);
      maintenance = state.maintenance;
    }
  }

  return {
    where: `Consul agent ${http.url}`,
    async put(state, signal) {
      if (!registered) await register(state, signal);
      try {
        await update(state, signal);
      } catch (error) {
        // 404 or 500 "does not have associated TTL"/"Unknown check": the agent lost the registration.
        if (!(error instanceof ConsulResponseError) || error.status === 403) throw error;
        await register(state, signal);
        await update(state, signal);
      }
    },
    async deregister(signal) {
      if (!registered) return;
      registered = false;
      await call('PUT', `/agent/service/deregister/${encodeURIComponent(spec.id)}`, signal);
    },
    async close() {
      http.close();
    },
  };
}
