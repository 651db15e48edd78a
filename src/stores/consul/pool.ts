// The agents from CONFD_NODE, in order: requests go to the one that last answered (the first at
// the start); when it cannot be reached, the next ones are tried at once, and the first that
// answers becomes the current one. Consul's indexes are raft indexes shared by every agent of a
// datacenter, so a blocking query can move to another agent with the same index.
//
// Only connection failures (refused, reset, no answer before the deadline, TLS handshake) move
// on: an HTTP error comes from the cluster and another agent would give the same answer.

import { ConsulConnectionError, createKvClient, type KvClient, type TlsMaterial } from './kv-client.ts';
import type { ConsulNode } from './nodes.ts';

export class NodePool {
  readonly #nodes: readonly ConsulNode[];
  readonly #tls: TlsMaterial;
  readonly #token: string | undefined;
  readonly #clients = new Map<ConsulNode, Promise<KvClient>>();
  #current = 0;

  constructor(nodes: readonly ConsulNode[], tls: TlsMaterial, token: string | undefined) {
    this.#nodes = nodes;
    this.#tls = tls;
    this.#token = token;
  }

  /** Runs `use` against the current agent, failing over on connection errors. */
  async request<T>(use: (client: KvClient) => Promise<T>, signal: AbortSignal): Promise<T> {
    const start = this.#current;
    const failures: string[] = [];
    for (let i = 0; i < this.#nodes.length; i++) {
      const at = (start + i) % this.#nodes.length;
      const client = await this.#client(at);
      try {
        const result = await use(client);
        this.#current = at;
        return result;
      } catch (error) {
        if (signal.aborted || !(error instanceof ConsulConnectionError)) throw error;
        failures.push(error.message);
      }
    }
    throw new ConsulConnectionError(
      failures.length === 1 ? (failures[0] ?? '') : `no Consul agent answered: ${failures.join('; ')}`,
    );
  }

  async destroy(): Promise<void> {
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    for (const pending of clients) {
      const client = await pending.catch(() => undefined);
      client?.destroy();
    }
  }

  #client(at: number): Promise<KvClient> {
    const node = this.#nodes[at] as ConsulNode;
    let client = this.#clients.get(node);
    if (client === undefined) {
      client = createKvClient(node, this.#tls, this.#token);
      // A failed import must not stick: the next request tries again.
      client.catch(() => this.#clients.delete(node));
      this.#clients.set(node, client);
    }
    return client;
  }
}
