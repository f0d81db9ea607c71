import { aliasesOf, findAlias, refuseAliasChange } from "../cluster/aliases.js";
import type {
  AliasChange,
  AliasListing,
  AliasResolution,
  AliasStatus,
  SetAliasRequest,
} from "../protocol/aliases.js";
import { Alias } from "../protocol/aliases.js";
import { InvalidRequestError, NotFoundError } from "../protocol/errors.js";
import type { DesiredStateSource } from "./local-instances.js";

export interface AliasRegistryOptions {
  cluster: DesiredStateSource;
  /** The models the live nodes hold now (this one's and its peers'). */
  modelNames: () => string[];
  /** The entry a request (policy `any`) for an alias goes to now. */
  resolve: (name: string) => AliasResolution | undefined;
}

/**
 * Sets and removes aliases in the cluster's desired state, so every node (and a new coordinator)
 * routes them alike, and tells which entry of each serves now. A change is checked here against
 * the models the cluster holds, which the coordinator's reducer does not know.
 */
export class AliasRegistry {
  constructor(private readonly options: AliasRegistryOptions) {}

  list(): AliasListing {
    return { aliases: aliasesOf(this.options.cluster.desiredState).map((alias) => this.status(alias)) };
  }

  get(name: string): AliasStatus {
    const alias = findAlias(this.options.cluster.desiredState, name);
    if (!alias) throw new NotFoundError(`no alias named '${name}' (see 'herd alias list')`);
    return this.status(alias);
  }

  async set(name: string, request: SetAliasRequest): Promise<AliasStatus> {
    const parsed = Alias.safeParse({ name, chain: request.chain, keepLoaded: request.keepLoaded ?? false });
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InvalidRequestError(`${issue.path.join(".")}: ${issue.message}`, String(issue.path[0] ?? ""));
    }
    await this.change({ type: "alias-set", alias: parsed.data });
    return this.get(name);
  }

  async remove(name: string): Promise<AliasListing> {
    await this.change({ type: "alias-removed", name });
    return this.list();
  }

  private async change(change: AliasChange): Promise<void> {
    const refusal = refuseAliasChange(this.options.cluster.desiredState, change, this.options.modelNames());
    if (refusal) throw refusal;
    await this.options.cluster.changeDesired(change);
  }

  private status(alias: Alias): AliasStatus {
    const resolution = this.options.resolve(alias.name);
    const last = alias.switches.at(-1);
    if (!resolution || resolution.kind === "unavailable")
      return { ...alias, serving: null, reason: resolution?.reason ?? "not an alias" };
    const serving = resolution.entry;
    return { ...alias, serving, reason: last?.to === serving ? last.reason : `${serving} is READY` };
  }
}
