import { type ClusterMessage, type DesiredEvent, DesiredState } from "../protocol/cluster.js";
import { ConflictError, HerdError, NotFoundError } from "../protocol/errors.js";
import type { NodeEvent } from "../protocol/events.js";
import type { NodeId } from "../protocol/ids.js";
import { parseJsonWithDepthLimit } from "../util/json-depth.js";
import { channelRequest } from "./channel-request.js";
import { describeDesiredChange } from "./describe-desired-change.js";
import type { DesiredStateStore } from "./desired-state-store.js";
import { type NodeStore, refuseChange } from "./node-state.js";

export interface DesiredStateSyncOptions {
  self: NodeId;
  /** The cluster key, to reach the coordinator's channel. */
  key: Buffer;
  store: NodeStore;
  /** Where the desired state is saved. */
  saved: DesiredStateStore;
  /** Sends a message to every peer connected now. */
  broadcast: (message: ClusterMessage) => void;
  publish: (event: NodeEvent) => void;
}

/**
 * The cluster's desired state as this node keeps it. A change is applied here when this node
 * coordinates (the next epoch: saved, sent to every peer, published), and is sent to the
 * coordinator otherwise; a copy from a peer is adopted when it is newer. Each adopted epoch is
 * saved, published with the change that made it when known, and handed to the listeners.
 */
export class DesiredStateSync {
  private readonly listeners = new Set<(state: DesiredState) => void>();

  constructor(private readonly options: DesiredStateSyncOptions) {}

  get desiredState(): DesiredState {
    return this.options.store.current.desired;
  }

  onDesiredState(listener: (state: DesiredState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Applies a change: here if this node coordinates, else at the coordinator. */
  async changeDesired(change: DesiredEvent): Promise<DesiredState> {
    const state = this.options.store.current;
    if (state.coordinator === state.self) return this.applyHere(change);
    const coordinator = state.coordinator ? state.members.get(state.coordinator) : undefined;
    if (!coordinator)
      throw new HerdError("the cluster has no coordinator right now; try again in a few seconds");
    const response = await channelRequest({
      endpoints: coordinator.introduction.endpoints,
      method: "POST",
      path: "/cluster/v1/desired-changes",
      body: change,
      key: this.options.key,
      selfId: this.options.self,
    }).catch((error: Error) => {
      throw new HerdError(`cannot reach the coordinator: ${error.message}`, { cause: error });
    });
    if (response.status === 404) throw new NotFoundError(response.message);
    if (response.status === 409) throw new ConflictError(response.message);
    if (response.status !== 200)
      throw new HerdError(`the coordinator refused the change: ${response.message}`);
    const desired = DesiredState.parse(parseJsonWithDepthLimit(response.body));
    await this.adopt(desired, change);
    return desired;
  }

  /**
   * Applies a change as the coordinator (a peer's request arrives here): refused with the reason
   * when this node does not coordinate or the change does not fit.
   */
  async applyHere(change: DesiredEvent): Promise<DesiredState> {
    const refusal = refuseChange(this.options.store.current, change);
    if (refusal) throw refusal;
    const { before, after } = this.options.store.apply(change);
    // A change that changes nothing (a drain of instances already draining) is no news.
    if (before.desired === after.desired) return after.desired;
    await this.adopted(before.desired, after.desired, change);
    this.options.broadcast({ type: "desired-state", state: after.desired, change });
    return after.desired;
  }

  /** Keeps a copy of the desired state from a peer (or the coordinator's answer) if it is newer. */
  async adopt(state: DesiredState, change?: DesiredEvent): Promise<void> {
    const { before, after } = this.options.store.apply({ type: "desired-state-received", state });
    if (before.desired === after.desired) return;
    await this.adopted(before.desired, after.desired, change);
  }

  private async adopted(
    before: DesiredState,
    after: DesiredState,
    change: DesiredEvent | undefined,
  ): Promise<void> {
    await this.options.saved.save(after);
    const described = change && describeDesiredChange(change, before, after);
    if (described) this.options.publish(described);
    this.options.publish({ type: "desired-state-changed", epoch: after.epoch, writtenBy: after.writtenBy });
    for (const listener of this.listeners) listener(after);
  }
}
