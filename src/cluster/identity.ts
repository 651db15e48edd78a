// Who this replica is to the others: its id (the hostname, which Docker sets to the container
// id) and the address they can reach it at.

import { hostname, networkInterfaces } from 'node:os';

export function defaultInstanceId(): string {
  return hostname();
}

export function defaultAdvertiseAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
