// Synchronous DNS for lookupIP/lookupSRV. Template rendering is synchronous (confd resolves
// inline while executing the template), while Node only resolves asynchronously. A private
// worker thread does the asynchronous lookup and the rendering thread blocks on
// Atomics.wait until it answers; the result travels back through a MessageChannel read with
// receiveMessageOnPort. Unlike spawning `getent` per lookup this needs no external binary
// (busybox images lack `getent ahosts`), costs one thread start per resolver rather than a
// process per lookup, and also answers SRV queries, which getent cannot.

import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';

/** net.SRV's fields. */
export interface SrvRecord {
  readonly Target: string;
  readonly Port: number;
  readonly Priority: number;
  readonly Weight: number;
}

export interface SyncResolver {
  /** Addresses for host as Go prints them, or null when the lookup fails. */
  lookupIP(host: string): string[] | null;
  /** SRV records of `_service._proto.name` (or of `name` when both are empty), or null. */
  lookupSRV(service: string, proto: string, name: string): SrvRecord[] | null;
  close(): void;
}

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const dns = require('node:dns');
const flag = new Int32Array(workerData.flag);
const port = workerData.port;
parentPort.on('message', async (req) => {
  let result = null;
  try {
    if (req.op === 'ip') {
      const addrs = await dns.promises.lookup(req.host, { all: true, verbatim: true });
      result = addrs.map((a) => a.address);
    } else {
      const recs = await dns.promises.resolveSrv(req.host);
      result = recs.map((r) => ({ name: r.name, port: r.port, priority: r.priority, weight: r.weight }));
    }
  } catch {
    result = null;
  }
  port.postMessage({ id: req.id, result });
  Atomics.store(flag, 0, req.id);
  Atomics.notify(flag, 0);
});
`;

// Go prints IPv4-mapped IPv6 addresses in dotted form and never prints a zone.
function goIPString(addr: string): string {
  const zone = addr.indexOf('%');
  if (zone >= 0) addr = addr.slice(0, zone);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  return mapped !== null ? (mapped[1] as string) : addr.toLowerCase();
}

/**
 * A resolver backed by a lazily started worker thread (unref'd, so it never keeps the process
 * alive). Each lookup blocks for at most `timeoutMs`; a timed-out lookup counts as failed.
 */
export function createSyncResolver(options: { timeoutMs?: number } = {}): SyncResolver {
  const timeoutMs = options.timeoutMs ?? 10_000;
  let worker: Worker | undefined;
  let port: MessagePort | undefined;
  let flag: Int32Array | undefined;
  let nextId = 1;

  const ask = (req: { op: 'ip' | 'srv'; host: string }): unknown => {
    if (worker === undefined) {
      const sab = new SharedArrayBuffer(4);
      flag = new Int32Array(sab);
      const channel = new MessageChannel();
      port = channel.port1;
      worker = new Worker(workerSource, {
        eval: true,
        workerData: { flag: sab, port: channel.port2 },
        transferList: [channel.port2],
      });
      worker.unref();
      port.unref();
    }
    const id = nextId++;
    worker.postMessage({ ...req, id });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Answers to earlier, timed-out questions may still arrive; skip them.
      let msg = receiveMessageOnPort(port as MessagePort);
      while (msg !== undefined) {
        const m = msg.message as { id: number; result: unknown };
        if (m.id === id) return m.result;
        msg = receiveMessageOnPort(port as MessagePort);
      }
      const left = deadline - Date.now();
      if (left <= 0) return null;
      const seen = Atomics.load(flag as Int32Array, 0);
      if (seen !== id) Atomics.wait(flag as Int32Array, 0, seen, Math.min(left, 50));
    }
  };

  return {
    lookupIP(host) {
      const r = ask({ op: 'ip', host }) as string[] | null;
      return r === null ? null : r.map(goIPString);
    },
    lookupSRV(service, proto, name) {
      const host = service === '' && proto === '' ? name : `_${service}._${proto}.${name}`;
      const r = ask({ op: 'srv', host }) as { name: string; port: number; priority: number; weight: number }[] | null;
      if (r === null) return null;
      // Go returns targets as absolute names, with the trailing dot.
      return r.map((x) => ({
        Target: x.name.endsWith('.') ? x.name : x.name + '.',
        Port: x.port,
        Priority: x.priority,
        Weight: x.weight,
      }));
    },
    close() {
      void worker?.terminate();
      port?.close();
      worker = undefined;
      port = undefined;
    },
  };
}
