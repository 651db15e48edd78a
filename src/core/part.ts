// A part of steward (templates, cluster, jobs, http) as the run loop sees it. Parts start in
// order and stop in reverse; each talks to the others only through the bus.

export interface StopContext {
  /** Monotonic deadline of the whole stop budget. */
  readonly deadline: number;
  readonly reason: string;
}

export interface Part {
  readonly name: string;
  /** Before the app starts; resolves when the app may start. Aborted when steward stops first. */
  prepare?(abort: AbortSignal): Promise<void>;
  /** Variables this part gives the app (a NOTIFY_SOCKET), asked once every part has prepared. */
  appEnv?(): Readonly<Record<string, string>>;
  /** After the app is running (watches, schedules, endpoints). */
  run?(): Promise<void> | void;
  /** Before the app is stopped: a leader hands over here, so the app never acts as primary beside a new one. */
  beforeAppStop?(stop: StopContext): Promise<void>;
  /** After the app has stopped. */
  stop?(stop: StopContext): Promise<void>;
}
