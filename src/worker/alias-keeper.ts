import { aliasesOf } from "../cluster/aliases.js";
import { membershipTimings } from "../cluster/node-state.js";
import { parseAliasEntry } from "../protocol/aliases.js";
import type { ClusterView, DesiredEvent, DesiredState } from "../protocol/cluster.js";
import { HerdError, NoPlacementError } from "../protocol/errors.js";
import type { NodeEvent } from "../protocol/events.js";
import type { ModelProfile } from "../protocol/model-profile.js";
import { formatBytes } from "../util/format.js";
import type { Logger } from "../util/logger.js";
import {
  type AliasPlacementAction,
  aliasEntryStates,
  decideAliasPlacement,
  type FitVerdict,
} from "./decide-alias-placement.js";

export interface AliasKeeperOptions {
  cluster: {
    readonly isCoordinator: boolean;
    readonly desiredState: DesiredState;
    view(): ClusterView;
    changeDesired(change: DesiredEvent): Promise<DesiredState>;
  };
  /** Calls `listener` at each change of the node's state; returns the function that stops it. */
  onChange: (listener: () => void) => () => void;
  /** A model's profile from this node's store (the coordinator loads what it holds). */
  profile: (model: string) => Promise<ModelProfile | undefined>;
  /** Plans the model over the live nodes as a load would; throws NoPlacementError when it does not fit. */
  plan: (profile: ModelProfile) => void;
  load: (model: string) => Promise<unknown>;
  drain: (instanceId: string) => Promise<unknown>;
  publish: (event: NodeEvent) => void;
  logger: Logger;
  /**
   * How long after `start` the keeper leaves things as they are: a node that has just started
   * coordinates alone until it meets its peers, and would load for an alias what they already
   * serve. Default: the time after which a silent peer counts as gone.
   */
  settleMs?: number;
}

/** How soon a load is tried again: a load adds the instance at once, so only a failed one repeats. */
const retryLoadMs = 5000;

/**
 * The coordinator's shell around `decideAliasPlacement`: at each change of the node's state it
 * decides every alias and carries the actions out as loads, drains and switch records. One check
 * runs at a time; a change during a check runs one more after it.
 */
export class AliasKeeper {
  private unsubscribe: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private disposed = false;
  private startedAt = Number.POSITIVE_INFINITY;
  /** When each model was last loaded for an alias: a load that failed is tried again only after a while. */
  private readonly lastLoaded = new Map<string, number>();

  constructor(private readonly options: AliasKeeperOptions) {}

  start(): void {
    this.startedAt = Date.now();
    this.unsubscribe = this.options.onChange(() => this.schedule());
  }

  dispose(): Promise<void> | undefined {
    this.disposed = true;
    this.unsubscribe?.();
    return this.running;
  }

  private schedule(): void {
    if (this.disposed || !this.options.cluster.isCoordinator) return;
    if (Date.now() - this.startedAt < (this.options.settleMs ?? membershipTimings.removeAfterMs)) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.check()
      .catch((error: unknown) => this.options.logger.warn({ err: error }, "alias check failed"))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.schedule();
        }
      });
  }

  private async check(): Promise<void> {
    const aliases = aliasesOf(this.options.cluster.desiredState);
    if (aliases.length === 0) return;
    const view = this.options.cluster.view();
    const models = new Set(
      aliases.flatMap((alias) =>
        alias.chain.map(parseAliasEntry).flatMap((entry) => (entry.kind === "model" ? [entry.model] : [])),
      ),
    );
    const profiles = new Map<string, ModelProfile | undefined>();
    for (const model of models) profiles.set(model, await this.options.profile(model));
    const fit = (model: string): FitVerdict => {
      const profile = profiles.get(model);
      if (!profile) return { fits: false, reason: "the coordinator does not hold its file" };
      try {
        this.options.plan(profile);
        return { fits: true };
      } catch (error) {
        if (error instanceof NoPlacementError)
          return {
            fits: false,
            reason: `needs ${formatBytes(error.requiredBytes)}, ${formatBytes(error.availableBytes)} present`,
          };
        // The planner's other refusals (no node holds the file) say why in their message.
        if (error instanceof HerdError) return { fits: false, reason: error.message };
        throw error;
      }
    };
    for (const alias of aliases) {
      const actions = decideAliasPlacement({
        alias,
        entries: aliasEntryStates(view, alias),
        fit,
        now: Date.now(),
      });
      for (const action of actions) await this.carryOut(alias.name, action);
    }
  }

  private async carryOut(alias: string, action: AliasPlacementAction): Promise<void> {
    const { logger, cluster } = this.options;
    switch (action.type) {
      case "load":
        if (Date.now() - (this.lastLoaded.get(action.model) ?? 0) < retryLoadMs) return;
        this.lastLoaded.set(action.model, Date.now());
        logger.info({ alias, model: action.model }, action.reason);
        await this.options.load(action.model);
        return;
      case "drain":
        logger.info({ alias, instance: action.instanceId }, action.reason);
        await this.options.drain(action.instanceId);
        return;
      case "record-switch":
        await cluster.changeDesired({ type: "alias-switch-recorded", name: alias, switch: action.switch });
        this.options.publish({ type: "alias-switched", alias, ...action.switch });
        return;
    }
  }
}
