import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testNodeStore } from "../cluster/test-node-state.js";
import { ModelStore } from "../models/model-store.js";
import type { DesiredState, PlacedInstance } from "../protocol/cluster.js";
import { ModelUnavailableError } from "../protocol/errors.js";
import { readyInstances } from "./choose-instance.js";
import { clusterAliases } from "./cluster-aliases.js";
import { clusterGateway } from "./cluster-gateway.js";
import { Router } from "./router.js";

let directory: string;
let models: ModelStore;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "herd-aliases-"));
  models = new ModelStore(directory);
});
afterAll(() => rm(directory, { recursive: true, force: true }));

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
  // READY instances of `ready` here, one slot each.
  const store = testNodeStore(ready.map((model) => ({ id: `${model}-1`, model })));
  return new Router(models, store, {
    gateway: clusterGateway(() => state, { CLOUD_KEY: "sk" }),
    aliases: clusterAliases({
      desired: () => state,
      isReady: (model) => readyInstances(store.current, model).length > 0,
    }),
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
