import { z } from "zod";
import { Alias, aliasChanges } from "./aliases.js";
import { ApiKeyRecords } from "./api-keys.js";
import { NodeCalibration } from "./calibration.js";
import { Backend } from "./engine.js";
import { NodeHealthFacts } from "./health.js";
import { InstanceId, NodeId } from "./ids.js";
import { InstanceSpec, InstanceStats } from "./instance.js";
import { InstancePlan, RpcTransport } from "./instance-plan.js";
import { InterfaceKind, maxReportedInterfaces, NetworkInterface } from "./network-interface.js";
import { ModelRoute, Upstream } from "./upstream.js";

export { InstancePlan };

/** What a node tells the others about its machine. */
export const NodeProfile = z.object({
  os: z.string(),
  platform: z.string(),
  arch: z.string(),
  cpuModel: z.string(),
  cpuCores: z.number().int().nonnegative(),
  /** Memory herd may plan with: the machine's, or less under `--memory-limit`. */
  memoryTotalBytes: z.number().nonnegative(),
  memoryAvailableBytes: z.number().nonnegative(),
  /** The machine's own total, before any limit. */
  machineMemoryBytes: z.number().nonnegative(),
  memoryLimited: z.boolean(),
  devices: z.array(z.object({ name: z.string(), description: z.string() })),
  /** `rdma`: the engine's RPC was built with the RDMA transport (librdma or libibverbs found at build time). */
  engine: z.object({ version: z.string(), backend: Backend, rpc: z.boolean(), rdma: z.boolean() }).nullable(),
  /** Addresses other machines may reach this one at (non-internal interfaces). */
  addresses: z.array(z.string()),
  /** Every network interface of the machine; absent from nodes older than this field. */
  interfaces: z.array(NetworkInterface).max(maxReportedInterfaces).optional(),
  apiPort: z.number().int().positive(),
  clusterPort: z.number().int().positive(),
  herdVersion: z.string(),
  health: NodeHealthFacts.optional(),
  /** Its measured memory bandwidth, RPC round trips and the corrections its instances taught it. */
  calibration: NodeCalibration.optional(),
});
export type NodeProfile = z.infer<typeof NodeProfile>;

/** A node as its peers first learn of it. */
export const NodeIntroduction = z.object({
  id: NodeId,
  name: z.string().max(128),
  /** When this run of the node joined the cluster (ms since epoch): the earliest live one coordinates. */
  joinedAt: z.number().int().nonnegative(),
  /** Changes each time the node starts, so peers can tell a restart from a reconnect. */
  incarnation: z.string().max(64),
  /** Where peers can dial this node's cluster channel. */
  endpoints: z.array(z.string().max(300)).max(32),
});
export type NodeIntroduction = z.infer<typeof NodeIntroduction>;

/** The pair of addresses a link was measured over: one path between two machines (`findPaths`). */
export const LinkPath = z.object({
  fromInterface: z.string().max(64),
  fromAddress: z.string().max(64),
  toInterface: z.string().max(64),
  toAddress: z.string().max(64),
  kind: InterfaceKind.catch("other"),
  /** Both ends can carry RDMA. */
  rdmaPossible: z.boolean(),
  /** A cable between exactly these two machines (`isPrivatePath`). */
  private: z.boolean(),
});
export type LinkPath = z.infer<typeof LinkPath>;

/** Round-trip time and throughput from one node to another, over one path or the cluster channel. */
export const LinkMeasurement = z.object({
  from: NodeId,
  to: NodeId,
  rttMs: z.number().nonnegative(),
  /** Bytes per second of a bulk transfer from `to` to `from`; 0 until one was made. */
  throughputBytesPerSecond: z.number().nonnegative(),
  measuredAt: z.number().int().nonnegative(),
  /** When the throughput was last probed (round trips are sampled more often). */
  throughputMeasuredAt: z.number().int().nonnegative().optional(),
  /** The path measured; absent for the cluster channel's own link (a peer without interfaces, or an older node). */
  path: LinkPath.optional(),
});
export type LinkMeasurement = z.infer<typeof LinkMeasurement>;

/** One path of a link, as `GET /herd/v1/cluster` shows it. */
export interface PathView {
  /** The addresses at each end. */
  from: string;
  to: string;
  /** The interface at the `from` end, and at the other. */
  interface: string;
  toInterface: string;
  kind: InterfaceKind;
  rttMs: number;
  /** 0 until a throughput probe was made over it. */
  bytesPerSecond: number;
  /** How the RPC of shards on it runs: `rdma (active)`, `tcp (rdma failed: ...)`, `tcp`, `tunnel`; null when none does. */
  rpc: string | null;
  private: boolean;
  rdmaPossible: boolean;
  /** The path the link's figures are from. */
  best: boolean;
  measuredAt: number;
}

/** A link between two nodes: the best path's figures, and every path. */
export type LinkView = LinkMeasurement & { paths?: PathView[] };

const PlacementModel = z.object({
  name: z.string(),
  sizeBytes: z.number(),
  architecture: z.string(),
  layerCount: z.number(),
  bytesPerLayer: z.number(),
  nonLayerBytes: z.number(),
  outputWeightBytes: z.number().optional(),
  feedForwardLength: z.number().optional(),
  vocabularySize: z.number().optional(),
  kvBytesPerToken: z.number(),
  embeddingLength: z.number(),
  expertCount: z.number().default(0),
  expertUsedCount: z.number().default(0),
  expertBytesPerLayer: z.number().default(0),
});

/** What the planner needs to place an instance again, kept with it so any coordinator can. */
export const PlacementBasis = z.object({
  model: PlacementModel,
  /** The draft model the head also holds (speculative decoding). */
  draft: PlacementModel.optional(),
  split: z.enum(["auto", "layer", "tensor"]).default("auto"),
  rpcTransport: RpcTransport.default("auto"),
  nodes: z.array(NodeId).optional(),
  avoid: z.array(NodeId).optional(),
  minNodes: z.number().int().positive().optional(),
  maxNodes: z.number().int().positive().optional(),
});
export type PlacementBasis = z.infer<typeof PlacementBasis>;

/** An instance in the cluster's desired state: what runs, and on which node heads it. */
export const PlacedInstance = InstanceSpec.extend({
  node: NodeId,
  plan: InstancePlan.optional(),
  basis: PlacementBasis.optional(),
  /** Why the instance is not running now (it does not fit on the nodes left); it is placed again when it fits. */
  suspended: z.string().max(2000).optional(),
  /** Since when no new request goes to it; it is unloaded once its requests in flight are done. */
  draining: z.string().max(40).optional(),
});
export type PlacedInstance = z.infer<typeof PlacedInstance>;

/** What should run across the cluster. Only the coordinator changes it; each change raises `epoch`. */
export const DesiredState = z.object({
  epoch: z.number().int().nonnegative(),
  /** The coordinator that wrote this epoch (a tie-break if two ever write the same epoch). */
  writtenBy: NodeId.nullable(),
  instances: z.array(PlacedInstance),
  /** External services that may serve some models (never more than a model's route allows). */
  upstreams: z.array(Upstream).default([]),
  /** Each model's route; a model an upstream lists and that has none here is `local-then-upstream`. */
  routes: z.record(z.string(), ModelRoute).default({}),
  /** Names that stand for a chain of models (absent in states saved before aliases existed). */
  aliases: z.array(Alias).optional(),
});
export type DesiredState = z.infer<typeof DesiredState>;

/** Orders desired states: higher epoch wins, then the writer's id. */
export function isNewerDesiredState(candidate: DesiredState, current: DesiredState): boolean {
  if (candidate.epoch !== current.epoch) return candidate.epoch > current.epoch;
  return (candidate.writtenBy ?? "") > (current.writtenBy ?? "");
}

/** An instance's state as the node running it reports it, carried in heartbeats. */
export const InstanceSummary = z.object({
  id: z.string().max(64),
  model: z.string().max(128),
  node: NodeId,
  state: z.enum(["PLANNED", "STARTING", "LOADING", "READY", "FAILED", "STOPPING"]),
  reason: z.string().max(1000),
  since: z.string().max(40),
  stats: InstanceStats.optional(),
  /** Slots (llama-server `-np`): requests it serves at once. */
  parallel: z.number().int().nonnegative().default(0),
  /** Requests in flight on it now, from whichever node they came (the head counts them all). */
  inFlight: z.number().int().nonnegative().default(0),
  /** Requests it has been sent since its node started. */
  served: z.number().int().nonnegative().default(0),
  /** Times its engine exited unasked and was started again in the last hour. */
  restartsLastHour: z.number().int().nonnegative().default(0),
  /** Why its engine last exited unasked. */
  lastExit: z.string().max(1000).optional(),
});
export type InstanceSummary = z.infer<typeof InstanceSummary>;

/**
 * A change to the desired state, as a past-tense fact: a node asks the coordinator to apply it
 * (`/cluster/v1/desired-changes`), the coordinator's reducer checks and applies it, and every node
 * publishes it as it adopts the state it made. Each carries only what it changes.
 */
export const DesiredEvent = z.discriminatedUnion("type", [
  /**
   * A new instance. `load`: the model must not be loaded yet; `replica`: another instance of the
   * same load; `move`: a replacement placed before the instance it replaces is drained.
   */
  z.object({
    type: z.literal("instance-placed"),
    instance: PlacedInstance,
    cause: z.enum(["load", "replica", "move"]),
  }),
  /** Placed again (a node it used left, or it fits again): a new head and plan; no longer suspended. */
  z.object({
    type: z.literal("instance-replanned"),
    instanceId: InstanceId,
    node: NodeId,
    plan: InstancePlan,
    /** Why, when it is not a node lost (a path a shard was reached over went away). */
    reason: z.string().max(1000).optional(),
  }),
  /** It does not fit on the nodes left: it stops until it does, with the planner's reason. */
  z.object({ type: z.literal("instance-suspended"), instanceId: InstanceId, reason: z.string().max(2000) }),
  /** No new request goes to these instances; the coordinator removes each once its requests are done. */
  z.object({
    type: z.literal("drain-started"),
    instanceIds: z.array(InstanceId).min(1).max(4096),
    since: z.string().max(40),
  }),
  /** The instances whose id or model is `match` are gone from the desired state. */
  z.object({
    type: z.literal("instances-removed"),
    match: z.string().min(1).max(128),
    /** For people: "unloaded", "drained", ... */
    reason: z.string().max(200),
  }),
  /** An upstream was added, or the one of that name replaced. */
  z.object({ type: z.literal("upstream-registered"), upstream: Upstream }),
  z.object({ type: z.literal("upstream-removed"), name: z.string().min(1).max(64) }),
  /** Some models' routes were set (null: back to the default). */
  z.object({
    type: z.literal("routes-set"),
    routes: z.record(z.string().min(1).max(128), ModelRoute.nullable()),
  }),
  ...aliasChanges,
]);
export type DesiredEvent = z.infer<typeof DesiredEvent>;

/** Where a shard's RPC server listens, for a head that reaches it directly (no tunnel). */
export const RpcServerAddress = z.object({ host: z.string().max(300), port: z.number().int().positive() });
export type RpcServerAddress = z.infer<typeof RpcServerAddress>;

export const MemberState = z.enum(["alive", "suspected", "gone"]);
export type MemberState = z.infer<typeof MemberState>;

/** Messages on the cluster channel (WebSocket over TLS with the cluster key). */
export const ClusterMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("hello"), node: NodeIntroduction, profile: NodeProfile }),
  z.object({
    type: z.literal("heartbeat"),
    sequence: z.number().int().nonnegative(),
    /** Nodes the sender hears from, so that a node that joined through one peer meets the rest. */
    members: z.array(NodeIntroduction).max(1024),
    profile: NodeProfile,
    links: z.array(LinkMeasurement).max(1024),
    desiredEpoch: z.number().int().nonnegative(),
    instances: z.array(InstanceSummary).max(4096),
    /** Names of the models in the sender's store (a head must hold its model's file). */
    models: z.array(z.string().max(128)).max(4096).default([]),
    /** Fingerprint of the sender's API keys: a peer whose own differs sends its set. */
    apiKeysDigest: z.string().max(64).default(""),
    /** What the connection to each of the sender's RPC shards runs on, as its log says (`rdma (active)`, `tcp`). */
    shards: z
      .array(z.object({ name: z.string().max(128), rpc: z.string().max(300) }))
      .max(256)
      .optional(),
  }),
  /** The sender's API keys (hashes only), merged by the receiver. */
  z.object({ type: z.literal("api-keys"), keys: ApiKeyRecords }),
  z.object({
    type: z.literal("desired-state"),
    state: DesiredState,
    /** The change that made this state, when the coordinator sends it as it applies one. */
    change: DesiredEvent.optional(),
  }),
  z.object({ type: z.literal("ping"), id: z.number().int(), sentAt: z.number() }),
  z.object({ type: z.literal("pong"), id: z.number().int(), sentAt: z.number() }),
]);
export type ClusterMessage = z.infer<typeof ClusterMessage>;

/** `GET /herd/v1/cluster`: every node's view, which every node should agree on. */
export interface ClusterView {
  self: NodeId;
  coordinator: NodeId | null;
  epoch: number;
  nodes: Array<{
    id: NodeId;
    name: string;
    state: MemberState;
    role: "coordinator" | "member";
    joinedAt: number;
    lastSeenMsAgo: number;
    endpoints: string[];
    profile: NodeProfile | null;
  }>;
  /** One per ordered pair: the best path's figures (what the planner uses), with every path. */
  links: LinkView[];
  desired: DesiredState;
  instances: InstanceSummary[];
}
