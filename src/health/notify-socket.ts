// The sd_notify socket (the protocol systemd and s6 speak): a unix datagram socket whose path
// the app gets as NOTIFY_SOCKET, and to which it sends newline-separated KEY=VALUE lines,
// READY=1 when it has started and STATUS=... whenever it likes. Node cannot wait on a unix
// datagram socket (its dgram is UDP only), so the socket is read without blocking on a timer:
// every 100 ms while a READY=1 is awaited, every second after it for STATUS= lines. Messages
// are accepted from any process that can reach the socket (systemd's NotifyAccess=all), since
// apps commonly notify through a helper such as systemd-notify.

import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { StewardError, EXIT } from '../core/exit-codes.ts';
import type { Libc } from '../init/libc.ts';

export interface NotifySocket {
  readonly path: string;
  /** Read often until the next READY=1 (the app was just started). */
  awaitReady(): void;
  close(): void;
}

export interface NotifySocketOptions {
  readonly libc: Libc;
  readonly clock: Clock;
  /** Every KEY=VALUE of one datagram, in order. */
  readonly onMessage: (fields: ReadonlyMap<string, string>) => void;
  /** Where the socket's folder is made (default: the system's temporary folder). */
  readonly parent?: string;
}

const EAGAIN = 11;
const FAST_MS = 100;
const SLOW_MS = 1000;
/** sd_notify messages are small; a longer one is cut here. */
const DATAGRAM_MAX = 4096;

export function parseNotifyMessage(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return fields;
}

export function openNotifySocket(o: NotifySocketOptions): NotifySocket {
  const dir = mkdtempSync(join(o.parent ?? tmpdir(), 'steward-notify-'));
  // The app may run as another user (STEWARD_USER): it must reach the socket, and nothing
  // else need be listed in the folder.
  chmodSync(dir, 0o711);
  const path = join(dir, 'notify.sock');
  const fd = o.libc.bindDatagramSocket(path);
  if (fd < 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new StewardError(`STEWARD_HEALTH_NOTIFY: cannot create the notify socket ${path} (errno ${-fd})`, EXIT.config);
  }
  chmodSync(path, 0o666);
  const buffer = Buffer.alloc(DATAGRAM_MAX);
  let fast = false;
  let timer: TimerHandle | undefined;
  let closed = false;

  function drain(): void {
    for (;;) {
      const n = o.libc.receiveDatagram(fd, buffer);
      if (n === -EAGAIN || n < 0) return;
      if (n === 0) continue;
      const fields = parseNotifyMessage(buffer.subarray(0, n).toString('utf8'));
      if (fields.get('READY') === '1') fast = false;
      o.onMessage(fields);
    }
  }

  function poll(): void {
    timer = undefined;
    if (closed) return;
    drain();
    if (!closed) timer = o.clock.setTimer(fast ? FAST_MS : SLOW_MS, poll);
  }
  timer = o.clock.setTimer(SLOW_MS, poll);

  return {
    path,
    awaitReady() {
      if (fast) return;
      fast = true;
      timer?.cancel();
      poll();
    },
    close() {
      if (closed) return;
      closed = true;
      timer?.cancel();
      o.libc.closeFd(fd);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
