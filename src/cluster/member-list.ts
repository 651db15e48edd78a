// The members of an election as the store shows them: every replica's record under members/,
// sorted by id. members.changed tells when one joins, leaves or changes role.

import type { Bus } from '../core/bus.ts';
import type { MemberRecord } from '../core/events.ts';

export interface MemberList {
  all(): readonly MemberRecord[];
  /** Takes the keys under members/ and their values, as the session's watch reports them. */
  update(entries: ReadonlyMap<string, string>): void;
}

export function createMemberList(bus: Bus): MemberList {
  let members: MemberRecord[] = [];
  return {
    all: () => members,
    update(entries) {
      const next: MemberRecord[] = [];
      for (const value of entries.values()) {
        try {
          next.push(JSON.parse(value) as MemberRecord);
        } catch {
          // Not ours (someone wrote there by hand): not a member.
        }
      }
      next.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const before = new Set(members.map((m) => m.id));
      const after = new Set(next.map((m) => m.id));
      const joined = [...after].filter((id) => !before.has(id));
      const left = [...before].filter((id) => !after.has(id));
      // A member's role or health changed: templates and the members hook see both.
      const changes = next.some((m) => {
        const was = members.find((x) => x.id === m.id);
        return was?.role !== m.role || (was.health ?? 'none') !== (m.health ?? 'none');
      });
      members = next;
      if (joined.length > 0 || left.length > 0 || changes) bus.emit('members.changed', { members: next, joined, left });
    },
  };
}
