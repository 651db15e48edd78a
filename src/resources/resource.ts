// A template resource: one confd TOML file under conf.d/, resolved against the settings.

import type { SignalName, Wait } from '../config/values.ts';
import type { EngineName } from '../render/index.ts';

export type ReloadAction =
  | { readonly kind: 'signal'; readonly signal: SignalName }
  /** Stop the app gracefully and start it again. */
  | { readonly kind: 'restart' }
  | { readonly kind: 'none' };

export interface TemplateResource {
  /** The TOML file's path relative to conf.d/ (what logs call the resource). */
  readonly name: string;
  readonly tomlPath: string;
  /** Absolute path of the template. */
  readonly src: string;
  /** The template's text when it is held in memory (see InMemoryFiles), not read from `src`. */
  readonly templateText?: string;
  readonly dest: string;
  /** `keys` as written. */
  readonly keys: readonly string[];
  /** The effective prefix (a global prefix replaces the resource's, as in confd), with a leading slash. */
  readonly prefix: string;
  /** `keys` with the prefix applied (confd's AppendPrefix): what is read from the backend. */
  readonly backendKeys: readonly string[];
  /** Permission bits to give the file; undefined keeps the existing file's, else 0644. */
  readonly mode: number | undefined;
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  readonly checkCmd: string | undefined;
  readonly reloadCmd: string | undefined;
  readonly reload: ReloadAction;
  /**
   * reload_process: which processes `reload` applies to (`app` is the app), when the resource
   * names any; absent, the app alone. With `reload` unset, each sidecar gets its own reload signal.
   */
  readonly reloadProcesses?: { readonly names: readonly string[]; readonly ownSignal: boolean };
  /** The resource's own quiescence, overriding --wait. */
  readonly wait: Wait | undefined;
  readonly engine: EngineName;
}

/**
 * A resource whose change restarts the app (not only a sidecar it names in reload_process): the
 * rollout (src/rollout/) takes those over.
 */
export function restartsTheApp(r: Pick<TemplateResource, 'reload' | 'reloadCmd' | 'reloadProcesses'>): boolean {
  return r.reload.kind === 'restart' && r.reloadCmd === undefined && (r.reloadProcesses?.names ?? ['app']).includes('app');
}
