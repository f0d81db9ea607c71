import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelStore } from "../models/model-store.js";
import type { DesiredState } from "../protocol/cluster.js";
import { ModelUnavailableError } from "../protocol/errors.js";
import type { InstanceStatus } from "../protocol/instance.js";
import type { ModelRoute } from "../protocol/upstream.js";
import { clusterGateway } from "./cluster-gateway.js";
import { type InstanceDirectory, Router } from "./router.js";

let directory: string;
let models: ModelStore;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "herd-router-"));
  models = new ModelStore(directory);
});
afterAll(() => rm(directory, { recursive: true, force: true }));

/** One READY local instance of `m` with `parallel` slots. */
function oneInstance(parallel: number): InstanceDirectory {
  const status = { id: "m-1", model: "m", parallel, embeddings: false, state: "READY" } as InstanceStatus;
  return {
    list: () => [status],
    ready: (model) =>
      model === "m" ? [{ status, endpoint: { baseUrl: "http://127.0.0.1:1", apiKey: "k" } }] : [],
  };
}

function desired(route?: ModelRoute): DesiredState {
  return {
    epoch: 1,
    writtenBy: null,
    instances: [],
    upstreams: [
      {
        name: "cloud",
        url: "https://cloud.example/v1",
        keyEnv: "CLOUD_KEY",
        kind: "openai",
        models: [{ name: "m", upstreamName: "cloud-m" }],
        addedAt: "2026-01-01T00:00:00Z",
      },
    ],
    routes: route ? { m: route } : {},
  };
}

const router = (route: ModelRoute | undefined, parallel = 1) =>
  new Router(
    models,
    oneInstance(parallel),
    () => [],
    undefined,
    clusterGateway(() => desired(route), { CLOUD_KEY: "sk" }),
  );

describe("Router with an upstream", () => {
  it("overflows to the upstream only once the local instance is full (the default route)", async () => {
    const routing = router(undefined);
    expect((await routing.route("m")).kind).toBe("local");
    const overflow = await routing.route("m");
    expect(overflow).toMatchObject({ kind: "upstream", upstreamModel: "cloud-m", apiKey: "sk" });
  });

  it("queues on the local instance under a local-only policy or route", async () => {
    for (const [route, policy] of [
      [undefined, "local-only"],
      ["local-only", "any"],
    ] as const) {
      const routing = router(route);
      await routing.route("m", { policy });
      expect((await routing.route("m", { policy })).kind).toBe("local");
    }
  });

  it("never leaves from a request another node forwarded", async () => {
    const routing = router("upstream");
    expect((await routing.route("m", { localOnly: true })).kind).toBe("local");
  });

  it("sends everything to the upstream under the route upstream, and counts what is in flight", async () => {
    const routing = router("upstream", 4);
    const route = await routing.route("m");
    expect(route.kind).toBe("upstream");
    expect(routing.load("upstream:cloud")).toBe(1);
    route.release();
    route.release();
    expect(routing.load("upstream:cloud")).toBe(0);
  });

  it("refuses a local-only request for a model only an upstream serves", async () => {
    const routing = new Router(
      models,
      { list: () => [], ready: () => [] },
      () => [],
      undefined,
      clusterGateway(() => desired("upstream")),
    );
    expect((await routing.route("m")).kind).toBe("upstream");
    await expect(routing.route("m", { policy: "local-only" })).rejects.toThrow(ModelUnavailableError);
  });
});
