import type { MemberState, NodeIntroduction, NodeProfile } from "../protocol/cluster.js";
import type { ClusterEvent } from "../protocol/cluster-events.js";
import { assertNever } from "../protocol/events.js";
import type { NodeId } from "../protocol/ids.js";

/** How long silence lasts before a node is suspected, and before it is removed. */
export const membershipTimings = { suspectAfterMs: 3000, removeAfterMs: 10_000 } as const;

export interface Member {
  introduction: NodeIntroduction;
  profile: NodeProfile | null;
  state: MemberState;
  lastHeardAt: number;
  /** A direct connection to this node is open now. */
  connected: boolean;
}

/** Every node this one has heard of, itself included. */
export interface Membership {
  self: NodeId;
  members: ReadonlyMap<NodeId, Member>;
}

export type MembershipEvent =
  | { type: "heard-from"; introduction: NodeIntroduction; profile: NodeProfile | null; at: number }
  | { type: "connection-lost"; nodeId: NodeId; at: number }
  | { type: "clock-ticked"; at: number };

/**
 * The membership reducer: a node is alive while it is heard from, suspected after about 3 s of
 * silence (or at once when its connection drops), and gone after about 10 s. A node that is heard
 * from again is alive again under its old id. Returns the new state and what changed, as events.
 */
export function applyMembershipEvent(
  membership: Membership,
  event: MembershipEvent,
): { membership: Membership; changes: ClusterEvent[] } {
  const members = new Map(membership.members);
  const changes: ClusterEvent[] = [];
  const setState = (id: NodeId, member: Member, state: MemberState, reason: string): Member => {
    if (member.state === state) return member;
    changes.push({ type: "node-state-changed", nodeId: id, name: member.introduction.name, state, reason });
    return { ...member, state };
  };
  switch (event.type) {
    case "heard-from": {
      const id = event.introduction.id;
      const existing = members.get(id);
      if (!existing) {
        changes.push({ type: "node-joined", nodeId: id, name: event.introduction.name });
        members.set(id, {
          introduction: event.introduction,
          profile: event.profile,
          state: "alive",
          lastHeardAt: event.at,
          connected: id !== membership.self,
        });
        break;
      }
      const restarted = existing.introduction.incarnation !== event.introduction.incarnation;
      const updated = setState(
        id,
        existing,
        "alive",
        restarted ? "restarted and rejoined" : "heard from again",
      );
      members.set(id, {
        ...updated,
        introduction: event.introduction,
        profile: event.profile ?? existing.profile,
        lastHeardAt: Math.max(existing.lastHeardAt, event.at),
        connected: id !== membership.self,
      });
      break;
    }
    case "connection-lost": {
      const existing = members.get(event.nodeId);
      if (!existing || event.nodeId === membership.self) break;
      const updated =
        existing.state === "alive"
          ? setState(event.nodeId, existing, "suspected", "connection lost")
          : existing;
      members.set(event.nodeId, { ...updated, connected: false });
      break;
    }
    case "clock-ticked": {
      for (const [id, member] of members) {
        if (id === membership.self) {
          members.set(id, { ...member, lastHeardAt: event.at });
          continue;
        }
        const silentFor = event.at - member.lastHeardAt;
        if (member.state !== "gone" && silentFor >= membershipTimings.removeAfterMs) {
          members.set(id, setState(id, member, "gone", `silent for ${(silentFor / 1000).toFixed(0)} s`));
        } else if (member.state === "alive" && silentFor >= membershipTimings.suspectAfterMs) {
          members.set(id, setState(id, member, "suspected", `silent for ${(silentFor / 1000).toFixed(0)} s`));
        }
      }
      break;
    }
    default:
      assertNever(event);
  }
  return { membership: { self: membership.self, members }, changes };
}

/** The coordinator: the live node that joined first (ties: the lowest id). */
export function electCoordinator(membership: Membership): NodeId | null {
  let best: Member | undefined;
  for (const member of membership.members.values()) {
    if (member.state !== "alive") continue;
    const a = member.introduction;
    const b = best?.introduction;
    if (!b || a.joinedAt < b.joinedAt || (a.joinedAt === b.joinedAt && a.id < b.id)) best = member;
  }
  return best?.introduction.id ?? null;
}
