import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelStore } from "../models/model-store.js";
import type { DesiredState, PlacedInstance } from "../protocol/cluster.js";
import { ModelUnavailableError } from "../protocol/errors.js";
import type { InstanceStatus } from "../protocol/instance.js";
import { clusterAliases } from "./cluster-aliases.js";
import { clusterGateway } from "./cluster-gateway.js";
import { type InstanceDirectory, Router } from "./router.js";

let directory: string;
let models: ModelStore;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "herd-aliases-"));
  models = new ModelStore(directory);
});
afterAll(() => rm(directory, { recursive: true, force: true }));

/** READY local instances of `ready`, one slot each. */
function readyHere(...ready: string[]): InstanceDirectory {
  const status = (model: string) =>
    ({ id: `${model}-1`, model, parallel: 1, embeddings: false, state: "READY" }) as InstanceStatus;
  return {
    list: () => ready.map(status),
    ready: (model) =>
      ready.includes(model)
        ? [{ status: status(model), endpoint: { baseUrl: "http://127.0.0.1:1", apiKey: "k" } }]
        : [],
  };
}

const placed = (model: string, extra: Partial<PlacedInstance> = {}) =>
  ({ id: `${model}-1`, model, node: "a", ...extra }) as PlacedInstance;

function desired(instances: PlacedInstance[] = []): DesiredState {
  return {
    epoch: 1,
    writtenBy: null,
    instances,
    upstreams: [
      {
        name: "cloud",
        url: "https://cloud.example/v1",
        keyEnv: "CLOUD_KEY",
        kind: "openai",
        models: [{ name: "mini", upstreamName: "gpt-4o-mini" }],
        addedAt: "2026-01-01T00:00:00Z",
      },
    ],
    routes: {},
    aliases: [
      { name: "coder", chain: ["big", "small", "upstream:cloud/mini"], keepLoaded: true, switches: [] },
    ],
  };
}

function router(state: DesiredState, ...ready: string[]): Router {
  const instances = readyHere(...ready);
  return new Router(models, instances, {
    gateway: clusterGateway(() => state, { CLOUD_KEY: "sk" }),
    aliases: clusterAliases({ desired: () => state, isReady: (model) => instances.ready(model).length > 0 }),
  });
}

describe("Router with aliases", () => {
  it("sends a request for the alias to its first READY entry, and says which", async () => {
    expect(await router(desired(), "big", "small").route("coder")).toMatchObject({
      kind: "local",
      servedModel: "big",
    });
    expect(await router(desired(), "small").route("coder")).toMatchObject({
      kind: "local",
      instanceId: "small-1",
      servedModel: "small",
    });
  });

  it("goes to the upstream entry when no model is READY, under the upstream's name and key", async () => {
    expect(await router(desired()).route("coder")).toMatchObject({
      kind: "upstream",
      upstreamModel: "gpt-4o-mini",
      apiKey: "sk",
      servedModel: "upstream:cloud/mini",
    });
  });

  it("refuses a local-only request with a 503 when only the upstream entry could serve", async () => {
    const refusal = await router(desired())
      .route("coder", { policy: "local-only" })
      .catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ModelUnavailableError);
    expect((refusal as ModelUnavailableError).state).toBe("LOCAL-ONLY");
    // A forwarded request is served here or not at all.
    await expect(router(desired()).route("coder", { localOnly: true })).rejects.toThrow(
      /may not leave the cluster/,
    );
  });

  it("makes a request wait while an entry is loading or placed again, not while all are suspended", () => {
    const aliases = (state: DesiredState) =>
      clusterAliases({ desired: () => state, isReady: () => false }).switching("coder");
    expect(aliases(desired([placed("small")]))).toBe(true);
    expect(aliases(desired([placed("big", { suspended: "does not fit" })]))).toBe(false);
    expect(aliases(desired())).toBe(false);
    expect(clusterAliases({ desired: () => desired(), isReady: () => true }).switching("small")).toBe(false);
  });

  it("leaves any other name to the model's own routing", async () => {
    expect(await router(desired(), "small").route("small")).toMatchObject({
      kind: "local",
      instanceId: "small-1",
    });
    expect((await router(desired(), "small").route("small")).servedModel).toBeUndefined();
  });
});
