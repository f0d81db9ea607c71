import { pathKey } from "../fabric/link-paths.js";
import {
  type DesiredEvent,
  type DesiredState,
  type InstanceSummary,
  isNewerDesiredState,
  type LinkMeasurement,
  type MemberState,
  type NodeIntroduction,
  type NodeProfile,
} from "../protocol/cluster.js";
import { HerdError } from "../protocol/errors.js";
import { assertNever } from "../protocol/events.js";
import type { NodeId } from "../protocol/ids.js";
import { StateStore } from "../util/state-store.js";
import { applyDesiredChange, refuseDesiredChange } from "./apply-desired-change.js";
import {
  applyLocalEvent,
  type LocalProcessEvent,
  type LocalProcesses,
  noLocalProcesses,
} from "./local-processes.js";

/** How long silence lasts before a node is suspected, and before it is removed. */
export const membershipTimings = { suspectAfterMs: 3000, removeAfterMs: 10_000 } as const;

/** A node as this one knows it. */
export interface Member {
  readonly introduction: NodeIntroduction;
  readonly profile: NodeProfile | null;
  readonly state: MemberState;
  /** Why it entered `state`, for people ("silent for 4 s", "connection lost"). */
  readonly reason: string;
  readonly lastHeardAt: number;
  /** A direct connection to this node is open now. */
  readonly connected: boolean;
}

/** What a peer last reported of itself in a heartbeat. */
export interface PeerReport {
  /** The instances it heads, as it sees them. */
  readonly instances: readonly InstanceSummary[];
  /** The models in its store. */
  readonly models: readonly string[];
  /**
   * Per instance in the report, this node's own requests on it when the report arrived: what the
   * report's count holds beyond them is other nodes' traffic.
   */
  readonly sentAtReport: ReadonlyMap<string, number>;
  /** What the connection to each of its RPC shards runs on, by shard name (absent from older peers). */
  readonly shardRpc?: ReadonlyMap<string, string>;
}

/**
 * What this node knows of the cluster, as one immutable value. It changes only through
 * `applyEvent`; the shell (`ClusterNode`) turns what happens on the wire into events.
 */
export interface NodeState {
  readonly self: NodeId;
  /** Every node heard of, this one included. */
  readonly members: ReadonlyMap<NodeId, Member>;
  /** The live node that joined first (ties: the lowest id); it alone changes the desired state. */
  readonly coordinator: NodeId | null;
  /** Link measurements by `linkKey` (one per path): this node's own, and those each peer reports of itself. */
  readonly links: ReadonlyMap<string, LinkMeasurement>;
  /** What each peer last reported; dropped when the peer is gone. */
  readonly reports: ReadonlyMap<NodeId, PeerReport>;
  /**
   * What should run across the cluster, at the highest epoch this node has seen. Only the
   * coordinator writes a new epoch; every node keeps the newest it is sent.
   */
  readonly desired: DesiredState;
  /** This node's own engines and RPC shards, as their supervisors last reported them. */
  readonly local: LocalProcesses;
}

/** Facts, in the past tense, that change a `NodeState`. */
export type NodeStateEvent =
  /** A node said who it is: a peer on a new connection, or this node itself as it starts. */
  | { type: "hello-received"; introduction: NodeIntroduction; profile: NodeProfile; at: number }
  /** A peer's heartbeat: it is alive, the links it measured from itself, its instances and models. */
  | {
      type: "heartbeat-received";
      introduction: NodeIntroduction;
      profile: NodeProfile;
      links: readonly LinkMeasurement[];
      instances: readonly InstanceSummary[];
      models: readonly string[];
      /** This node's own requests in flight on each of those instances as the heartbeat arrived. */
      sentInFlight: ReadonlyMap<string, number>;
      /** What the connection to each of its RPC shards runs on, by shard name. */
      shards?: ReadonlyArray<{ name: string; rpc: string }>;
      at: number;
    }
  | { type: "connection-lost"; nodeId: NodeId; at: number }
  /** Time passed: silent nodes become suspected, then gone. */
  | { type: "clock-ticked"; at: number }
  /** This node sampled its own machine again (free memory, devices). */
  | { type: "profile-sampled"; profile: NodeProfile }
  /** This node measured its link to a peer (over one path, or the cluster channel). */
  | { type: "link-measured"; link: LinkMeasurement }
  /** Paths of this node's that no longer exist (an interface or address went away), by `linkKey`. */
  | { type: "links-forgotten"; keys: readonly string[] }
  /** A copy of the desired state arrived (from a peer, or the coordinator's answer to a change). */
  | { type: "desired-state-received"; state: DesiredState }
  /**
   * A change to the desired state (`instance-placed`, `drain-started`, ...): applied, at the next
   * epoch, only by the coordinator and only when it fits (`refuseChange`).
   */
  | DesiredEvent
  /** Something happened to one of this node's own processes (see `applyLocalEvent`). */
  | LocalProcessEvent;

/** The desired state of a cluster that was never asked to run anything. */
export const emptyDesiredState: DesiredState = {
  epoch: 0,
  writtenBy: null,
  instances: [],
  upstreams: [],
  routes: {},
};

/** The state of a node that has heard of no one yet, not even itself; `desired` as it was saved. */
export function initialNodeState(self: NodeId, desired: DesiredState = emptyDesiredState): NodeState {
  return {
    self,
    members: new Map(),
    coordinator: null,
    links: new Map(),
    reports: new Map(),
    desired,
    local: noLocalProcesses,
  };
}

/** The store that holds a node's state; every part of the node reads and waits on this one. */
export type NodeStore = StateStore<NodeState, NodeStateEvent>;

/** A node's store, starting from the desired state as it was saved. */
export function createNodeStore(self: NodeId, desired?: DesiredState): NodeStore {
  return new StateStore(initialNodeState(self, desired), applyEvent);
}

/**
 * The one reducer of a node's state. Membership: a node is alive while it is heard from, suspected
 * after about 3 s of silence (or at once when its connection drops), and gone after about 10 s; a
 * node heard from again is alive again under its old id. The coordinator follows membership.
 */
export function applyEvent(state: NodeState, event: NodeStateEvent): NodeState {
  switch (event.type) {
    case "hello-received": {
      const existing = state.members.get(event.introduction.id);
      const members = heardFrom(state, event.introduction, event.profile, event.at);
      // A peer that restarted runs none of what it reported before (a READY instance would draw
      // requests, and let a keep-loaded alias drain its fallback); its next heartbeat says what it runs.
      if (!existing || existing.introduction.incarnation === event.introduction.incarnation)
        return withMembers(state, members);
      const reports = new Map(state.reports);
      reports.delete(event.introduction.id);
      return withMembers({ ...state, reports }, members);
    }
    case "heartbeat-received": {
      // A peer speaks only for its own links, and all of them: a path it no longer has is gone.
      const links = new Map([...state.links].filter(([, link]) => link.from !== event.introduction.id));
      for (const link of event.links) {
        if (link.from === event.introduction.id) links.set(linkKey(link), link);
      }
      const from = event.introduction.id;
      // A peer speaks only for the instances it heads.
      const instances = event.instances.filter((instance) => instance.node === from);
      const sentAtReport = new Map(
        instances.map((instance) => [instance.id, event.sentInFlight.get(instance.id) ?? 0]),
      );
      const shardRpc = new Map((event.shards ?? []).map((shard) => [shard.name, shard.rpc]));
      const reports = new Map(state.reports).set(from, {
        instances,
        models: event.models,
        sentAtReport,
        shardRpc,
      });
      return withMembers(
        { ...state, links, reports },
        heardFrom(state, event.introduction, event.profile, event.at),
      );
    }
    case "connection-lost": {
      const member = state.members.get(event.nodeId);
      if (!member || event.nodeId === state.self) return state;
      const members = new Map(state.members);
      const lost = member.state === "alive" ? changeState(member, "suspected", "connection lost") : member;
      members.set(event.nodeId, { ...lost, connected: false });
      return withMembers(state, members);
    }
    case "clock-ticked": {
      const members = silenceAt(state, event.at);
      // A gone node runs nothing this node could use; its report would only mislead.
      const gone = [...state.reports.keys()].filter((id) => members.get(id)?.state === "gone");
      if (gone.length === 0) return withMembers(state, members);
      const reports = new Map(state.reports);
      for (const id of gone) reports.delete(id);
      return withMembers({ ...state, reports }, members);
    }
    case "profile-sampled": {
      const member = state.members.get(state.self);
      if (!member) return state;
      return {
        ...state,
        members: new Map(state.members).set(state.self, { ...member, profile: event.profile }),
      };
    }
    case "link-measured":
      return { ...state, links: new Map(state.links).set(linkKey(event.link), event.link) };
    case "links-forgotten": {
      const own = event.keys.filter((key) => state.links.get(key)?.from === state.self);
      if (own.length === 0) return state;
      const links = new Map(state.links);
      for (const key of own) links.delete(key);
      return { ...state, links };
    }
    case "desired-state-received":
      return isNewerDesiredState(event.state, state.desired) ? { ...state, desired: event.state } : state;
    case "instance-placed":
    case "instance-replanned":
    case "instance-suspended":
    case "drain-started":
    case "instances-removed":
    case "upstream-registered":
    case "upstream-removed":
    case "routes-set":
    case "alias-set":
    case "alias-removed":
    case "alias-switch-recorded":
      return withDesiredChange(state, event);
    case "engine-started":
    case "engine-status-changed":
    case "engine-stats-sampled":
    case "engine-stopped":
    case "shard-started":
    case "shard-ready":
    case "shard-failed":
    case "shard-stopped":
    case "shard-rpc-observed":
    case "shard-connection-opened":
    case "shard-connection-closed": {
      const local = applyLocalEvent(state.local, event);
      return local === state.local ? state : { ...state, local };
    }
    default:
      return assertNever(event);
  }
}

/**
 * Why this node may not make `change` now, if it may not: only the coordinator writes the desired
 * state, and a change must fit the state it is made to (no second instance of one id, no removing
 * what is not there). The reducer ignores a refused change; the shell tells the asker why.
 */
export function refuseChange(state: NodeState, change: DesiredEvent): HerdError | undefined {
  if (state.coordinator !== state.self) return new HerdError("this node is not the coordinator");
  return refuseDesiredChange(state.desired, change);
}

/** The state after a change to the desired state: the next epoch, written by this node; or as it was. */
function withDesiredChange(state: NodeState, change: DesiredEvent): NodeState {
  if (refuseChange(state, change)) return state;
  const content = applyDesiredChange(state.desired, change);
  const previous = state.desired;
  // A change that changes nothing (a drain of instances already draining) takes no epoch.
  const unchanged =
    content.instances === previous.instances &&
    content.upstreams === previous.upstreams &&
    content.routes === previous.routes &&
    (content.aliases ?? previous.aliases) === previous.aliases;
  if (unchanged) return state;
  // Parts a change does not touch (the aliases) stay as they were.
  return { ...state, desired: { ...previous, ...content, epoch: previous.epoch + 1, writtenBy: state.self } };
}

/** The key of a link in `NodeState.links`: `from>to`, and for one path of it `from>to@fromAddress>toAddress`. */
export function linkKey(link: Pick<LinkMeasurement, "from" | "to" | "path">): string {
  return link.path ? `${link.from}>${link.to}@${pathKey(link.path)}` : `${link.from}>${link.to}`;
}

function heardFrom(
  state: NodeState,
  introduction: NodeIntroduction,
  profile: NodeProfile,
  at: number,
): Map<NodeId, Member> {
  const members = new Map(state.members);
  const id = introduction.id;
  const connected = id !== state.self;
  const existing = members.get(id);
  if (!existing) {
    members.set(id, { introduction, profile, state: "alive", reason: "joined", lastHeardAt: at, connected });
    return members;
  }
  const restarted = existing.introduction.incarnation !== introduction.incarnation;
  const alive = changeState(existing, "alive", restarted ? "restarted and rejoined" : "heard from again");
  members.set(id, {
    ...alive,
    introduction,
    profile,
    lastHeardAt: Math.max(existing.lastHeardAt, at),
    connected,
  });
  return members;
}

function silenceAt(state: NodeState, at: number): Map<NodeId, Member> {
  const members = new Map(state.members);
  for (const [id, member] of members) {
    if (id === state.self) {
      members.set(id, { ...member, lastHeardAt: at });
      continue;
    }
    const silentFor = at - member.lastHeardAt;
    const reason = `silent for ${(silentFor / 1000).toFixed(0)} s`;
    if (member.state !== "gone" && silentFor >= membershipTimings.removeAfterMs) {
      members.set(id, changeState(member, "gone", reason));
    } else if (member.state === "alive" && silentFor >= membershipTimings.suspectAfterMs) {
      members.set(id, changeState(member, "suspected", reason));
    }
  }
  return members;
}

function changeState(member: Member, state: MemberState, reason: string): Member {
  return member.state === state ? member : { ...member, state, reason };
}

/** The state with new members, and the coordinator they elect. */
function withMembers(state: NodeState, members: ReadonlyMap<NodeId, Member>): NodeState {
  return { ...state, members, coordinator: electCoordinator(members) };
}

/** The coordinator: the live node that joined first (ties: the lowest id). */
export function electCoordinator(members: ReadonlyMap<NodeId, Member>): NodeId | null {
  let best: Member | undefined;
  for (const member of members.values()) {
    if (member.state !== "alive") continue;
    const a = member.introduction;
    const b = best?.introduction;
    if (!b || a.joinedAt < b.joinedAt || (a.joinedAt === b.joinedAt && a.id < b.id)) best = member;
  }
  return best?.introduction.id ?? null;
}
