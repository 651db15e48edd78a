// What a job needs to know about leadership, filesystem locks and the app's health before it
// starts and while it runs. The cluster part (election), the locks part and the health part
// provide these; the jobs part only asks.

export interface Guard {
  /**
   * Whether the job may start now; for a leader job this checks the fence deadline, so a
   * leader that may already have been replaced never starts one. Returns a fencing token to
   * hand to the job (STEWARD_FENCING_TOKEN), or undefined when it may not start.
   */
  permit(): { readonly fencingToken: string | undefined } | undefined;
  /** Calls `onLost` when the permission ends (leadership or the lock lost); returns an unsubscribe. */
  onLost(onLost: (reason: string) => void): () => void;
}

export interface Guards {
  /** `when = leader`; undefined when no election is configured (a leader job then never runs, with a clear error at start-up). */
  readonly leader: Guard | undefined;
  /** `when = lock:<path>`; undefined when `path` is not one of STEWARD_FS_LOCKS. */
  lock(path: string): Guard | undefined;
  /** `when = healthy`; undefined when no health check is configured. */
  readonly healthy?: Guard | undefined;
}

export const ALWAYS: Guard = {
  permit: () => ({ fencingToken: undefined }),
  onLost: () => () => {},
};
