// Where the control socket lives: STEWARD_CONTROL_SOCKET, else /run/steward.sock when /run is
// writable, else $XDG_RUNTIME_DIR/steward.sock; `off` (or nowhere writable) means none.

import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

export type SocketPlace = { readonly path: string } | { readonly path: undefined; readonly why: string };

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function controlSocketPath(setting: string, env: Readonly<Record<string, string | undefined>>): SocketPlace {
  if (setting === 'off') return { path: undefined, why: 'STEWARD_CONTROL_SOCKET=off' };
  if (setting !== 'auto') return { path: setting };
  if (writable('/run')) return { path: '/run/steward.sock' };
  const runtime = env['XDG_RUNTIME_DIR'];
  if (runtime !== undefined && runtime !== '' && writable(runtime)) return { path: join(runtime, 'steward.sock') };
  return { path: undefined, why: '/run is not writable and XDG_RUNTIME_DIR is unset or not writable (set STEWARD_CONTROL_SOCKET)' };
}
