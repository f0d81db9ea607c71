import { HerdError } from "../protocol/errors.js";
import type { NodeEvent } from "../protocol/events.js";
import type { InstanceStatus } from "../protocol/instance.js";
import type { LoadModelRequest } from "../protocol/management.js";
import type { HerdClient } from "./herd-client.js";

/** The node's answer to a load: its first instance, with every replica's status. */
export type LoadAnswer = InstanceStatus & { replicas?: InstanceStatus[] };

/** What following a load reports, in order: where it was placed, then each new state of its instances. */
export type LoadProgress =
  | { type: "load-placed"; answer: LoadAnswer }
  | { type: "instance-state-observed"; instanceId: string; model: string; state: string; reason: string };

export interface FollowLoadOptions {
  onProgress?: (progress: LoadProgress) => void;
  /** Stops following (the load itself goes on); the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** How long the instances may take to be READY. Default 15 minutes. */
  timeoutMs?: number;
}

/** Failures of one instance after which it is taken to keep failing (the node restarts a failed engine). */
const failuresBeforeGivingUp = 4;
/**
 * How often the cluster view is read for instances headed on other nodes: their states reach this
 * node only in their heads' heartbeats (every second), with no event on this node's stream.
 */
const remoteStateIntervalMs = 500;

/**
 * Loads a model and follows its instances until all are READY; rejects when one keeps failing, is
 * unloaded meanwhile, or the time is up. Instances headed on the node the client talks to are
 * followed through its event stream, subscribed before loading so that no transition (a quick
 * FAILED and restart) goes unseen; only instances headed elsewhere are read from the cluster view.
 * The CLI (`herd load`, `herd run`) and the dashboard's load page both follow loads with it.
 *
 * @example
 * await followLoad(client, { model: "stories260K" }, {
 *   onProgress: (progress) => progress.type === "instance-state-observed" && console.log(progress.state),
 * });
 */
export async function followLoad(
  client: HerdClient,
  request: LoadModelRequest,
  options: FollowLoadOptions = {},
): Promise<LoadAnswer> {
  const stop = new AbortController();
  const timeoutMs = options.timeoutMs ?? 15 * 60_000;
  const timeout = setTimeout(
    () => stop.abort(new HerdError(`${request.model} was not READY after ${formatMinutes(timeoutMs)}`)),
    timeoutMs,
  );
  const onAbort = () => stop.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    options.signal?.throwIfAborted();
    const events = await client.subscribe(stop.signal);
    const answer = await client.load(request);
    options.onProgress?.({ type: "load-placed", answer });
    const tracker = new LoadTracker(answer, options.onProgress);
    if (tracker.allReady()) return answer;
    const aborted = new Promise<never>((_, reject) => {
      stop.signal.addEventListener("abort", () => reject(stop.signal.reason), { once: true });
    });
    await Promise.race([followInstances(client, events, tracker, stop.signal), aborted]);
    return answer;
  } finally {
    clearTimeout(timeout);
    options.signal?.removeEventListener("abort", onAbort);
    stop.abort();
  }
}

/** The states seen so far of a load's instances, and the rules for when following it ends. */
class LoadTracker {
  private readonly last = new Map<string, string>();
  private readonly failures = new Map<string, number>();
  readonly waiting: Set<string>;

  constructor(
    answer: LoadAnswer,
    private readonly onProgress: FollowLoadOptions["onProgress"],
  ) {
    const replicas = answer.replicas ?? [answer];
    this.waiting = new Set(replicas.map((replica) => replica.id as string));
    for (const replica of replicas) this.observe(replica.id, replica.model, replica.state, replica.reason);
  }

  allReady(): boolean {
    return this.waiting.size === 0;
  }

  /** Records one observed state of an instance (those of other loads are ignored). */
  observe(id: string, model: string, state: string, reason: string): void {
    if (!this.last.has(id) && !this.waiting.has(id)) return;
    const key = `${state}\n${reason}`;
    if (key === this.last.get(id)) return;
    this.last.set(id, key);
    this.onProgress?.({ type: "instance-state-observed", instanceId: id, model, state, reason });
    if (state === "READY") this.waiting.delete(id);
    if (state !== "FAILED") return;
    const failed = (this.failures.get(id) ?? 0) + 1;
    this.failures.set(id, failed);
    if (failed >= failuresBeforeGivingUp)
      throw new HerdError(`${model} keeps failing: ${reason}\nThe engine's log is HERD_HOME/logs/${id}.log`);
  }
}

/**
 * Reads the node's events until every instance is READY. The cluster view is read whenever one of
 * the instances waited for is not (or no longer) headed on this node, and again each time the
 * desired state changes (an instance placed again elsewhere).
 */
function followInstances(
  client: HerdClient,
  events: AsyncIterable<NodeEvent>,
  tracker: LoadTracker,
  signal: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const resolveIfReady = () => {
      if (tracker.allReady()) resolve();
    };
    /** Whether the cluster view is being read already (one reader at a time). */
    let followingRemote = false;
    const followRemote = () => {
      if (followingRemote) return;
      followingRemote = true;
      followRemoteInstances(client, tracker, signal)
        .then(resolveIfReady, reject)
        .finally(() => {
          followingRemote = false;
        });
    };
    followRemote();
    void (async () => {
      for await (const event of events) {
        if (event.type === "instance-removed" && tracker.waiting.has(event.instanceId))
          throw new HerdError(`instance ${event.instanceId} was unloaded while loading`);
        if (event.type === "desired-state-changed") followRemote();
        if (event.type !== "instance-state-changed") continue;
        tracker.observe(event.instanceId, event.model, event.state, event.reason);
        if (tracker.allReady()) return;
      }
      if (!signal.aborted) throw new HerdError("the node closed the event stream");
    })().then(resolveIfReady, reject);
  });
}

/** Reads the cluster view while an instance waited for is headed on another node (or not placed yet). */
async function followRemoteInstances(client: HerdClient, tracker: LoadTracker, signal: AbortSignal) {
  for (;;) {
    const view = await client.cluster();
    if (signal.aborted) return;
    // Instances headed here are followed through the events, which never lag behind the view.
    const headedHere = (id: string) =>
      view.desired.instances.some((instance) => instance.id === id && instance.node === view.self);
    for (const summary of view.instances) {
      if (!headedHere(summary.id)) tracker.observe(summary.id, summary.model, summary.state, summary.reason);
    }
    if (tracker.allReady() || [...tracker.waiting].every(headedHere)) return;
    await new Promise((resolve) => setTimeout(resolve, remoteStateIntervalMs));
  }
}

function formatMinutes(ms: number): string {
  return `${Math.round(ms / 60_000)} minutes`;
}
