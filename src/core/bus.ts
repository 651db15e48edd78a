// The typed event bus the parts talk through. Handlers run synchronously in subscription order;
// a handler that throws is reported, not allowed to stop the others.

import type { EventName, Events } from './events.ts';

export type Handler<K extends EventName> = (payload: Events[K]) => void;

export interface Bus {
  on<K extends EventName>(name: K, handler: Handler<K>): () => void;
  emit<K extends EventName>(name: K, payload: Events[K]): void;
  /** Resolves with the next payload of `name` (for start-up ordering and tests). */
  next<K extends EventName>(name: K): Promise<Events[K]>;
}

export function createBus(onHandlerError: (name: EventName, error: unknown) => void): Bus {
  const handlers = new Map<EventName, Set<(payload: unknown) => void>>();

  function on<K extends EventName>(name: K, handler: Handler<K>): () => void {
    let set = handlers.get(name);
    if (set === undefined) {
      set = new Set();
      handlers.set(name, set);
    }
    const h = handler as (payload: unknown) => void;
    set.add(h);
    return () => set.delete(h);
  }

  return {
    on,
    emit(name, payload) {
      for (const h of [...(handlers.get(name) ?? [])]) {
        try {
          h(payload);
        } catch (error) {
          onHandlerError(name, error);
        }
      }
    },
    next(name) {
      return new Promise((resolve) => {
        const off = on(name, (payload) => {
          off();
          resolve(payload);
        });
      });
    },
  };
}
