import { InvalidRequestError } from "../protocol/errors.js";
import type { AddUpstreamRequest, UpstreamListing } from "../protocol/management.js";
import { type ModelRoute, Upstream } from "../protocol/upstream.js";
import type { DesiredStateSource } from "./local-instances.js";

/**
 * Registers external services and model routes in the cluster's desired state, so that every node
 * (and a new coordinator) routes alike. Keys stay in each node's environment.
 */
export class UpstreamRegistry {
  constructor(
    private readonly cluster: DesiredStateSource,
    private readonly environment: NodeJS.ProcessEnv = process.env,
  ) {}

  list(): UpstreamListing {
    const { upstreams, routes } = this.cluster.desiredState;
    return {
      upstreams: upstreams.map((upstream) => ({
        ...upstream,
        // Whether this node can authenticate to it (other nodes may differ).
        keyPresent: upstream.keyEnv === undefined || this.environment[upstream.keyEnv] !== undefined,
      })),
      routes,
    };
  }

  async add(request: AddUpstreamRequest): Promise<UpstreamListing> {
    const { route, ...fields } = request;
    const parsed = Upstream.safeParse({ ...fields, addedAt: new Date().toISOString() });
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InvalidRequestError(`${issue.path.join(".")}: ${issue.message}`, String(issue.path[0] ?? ""));
    }
    if (parsed.data.kind === "anthropic") {
      // The router forwards OpenAI-shaped engine requests; translating them to Anthropic's Messages
      // API (and its stream back) is not built yet, so such an upstream would fail every request.
      throw new InvalidRequestError(
        "Anthropic-kind upstreams are not supported yet; use the service's OpenAI-compatible endpoint with --kind openai",
        "kind",
      );
    }
    await this.cluster.changeDesired({ type: "upstream-registered", upstream: parsed.data });
    if (route)
      await this.setRoutes(
        parsed.data.models.map((entry) => entry.name),
        route,
      );
    return this.list();
  }

  async remove(name: string): Promise<UpstreamListing> {
    await this.cluster.changeDesired({ type: "upstream-removed", name });
    return this.list();
  }

  /** Sets the route of `models` (null: back to the default). */
  async setRoutes(models: string[], route: ModelRoute | null): Promise<UpstreamListing> {
    await this.cluster.changeDesired({
      type: "routes-set",
      routes: Object.fromEntries(models.map((model) => [model, route])),
    });
    return this.list();
  }
}
