// confd's etcdv3 GetValues: every requested key read with a prefix range, in transactions of at
// most 128 operations (etcd's default --max-txn-ops), the first at the latest revision and the
// others pinned to it, so that all keys come from one snapshot; keys the prefix matched but the
// key rule excludes (`/app/dbx` for `/app/db`) are dropped.

import type { EtcdClient } from './client.ts';
import { covers } from './keys.ts';

export const MAX_TXN_OPS = 128;
/** Reads restarted because the pinned revision was compacted between two batches. */
const COMPACTED_RETRIES = 3;

export interface ReadResult {
  readonly values: Map<string, string>;
  readonly revision: number;
}

/** 'text': values decoded as UTF-8; 'bytes': their exact bytes, one char per byte ('latin1'). */
export type ValueForm = 'text' | 'bytes';

export async function readAtOneRevision(client: EtcdClient, keys: readonly string[], deadline: number, form: ValueForm = 'text'): Promise<ReadResult> {
  const unique = [...new Set(keys)];
  for (let attempt = 1; ; attempt++) {
    try {
      return await readOnce(client, unique, deadline, form);
    } catch (error) {
      if (attempt > COMPACTED_RETRIES || !isCompacted(error)) throw error;
    }
  }
}

async function readOnce(client: EtcdClient, keys: readonly string[], deadline: number, form: ValueForm): Promise<ReadResult> {
  const values = new Map<string, string>();
  let revision = 0;
  // Even no keys take one (empty) transaction: the caller needs the revision to watch from.
  for (let i = 0; i === 0 || i < keys.length; i += MAX_TXN_OPS) {
    const batch = keys.slice(i, i + MAX_TXN_OPS);
    const res = await client.txn({ compare: [], success: batch.map((k) => ({ range: { key: k, prefix: true, revision } })), failure: [] }, deadline);
    if (revision === 0) revision = res.revision;
    res.responses.forEach((op, j) => {
      const requested = batch[j]!;
      for (const item of op.kvs) if (covers(requested, item.key)) values.set(item.key, form === 'bytes' ? item.bytes : item.value);
    });
  }
  return { values, revision };
}

function isCompacted(error: unknown): boolean {
  return error instanceof Error && error.message.includes('required revision has been compacted');
}
