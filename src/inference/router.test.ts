import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NodeStore } from "../cluster/node-state.js";
import { testNodeStore } from "../cluster/test-node-state.js";
import { ModelStore } from "../models/model-store.js";
import type { DesiredState } from "../protocol/cluster.js";
import { ModelUnavailableError, QueueFullError } from "../protocol/errors.js";
import type { ModelRoute } from "../protocol/upstream.js";
import { clusterGateway } from "./cluster-gateway.js";
import { type Route, Router } from "./router.js";

let directory: string;
let models: ModelStore;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "herd-router-"));
  models = new ModelStore(directory);
});
afterAll(() => rm(directory, { recursive: true, force: true }));

/** One READY local instance of `m` with `parallel` slots. */
function oneInstance(parallel: number): NodeStore {
  return testNodeStore([{ id: "m-1", parallel }]);
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
  new Router(models, oneInstance(parallel), {
    gateway: clusterGateway(() => desired(route), { CLOUD_KEY: "sk" }),
  });

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
    const routing = new Router(models, testNodeStore([]), {
      gateway: clusterGateway(() => desired("upstream")),
    });
    expect((await routing.route("m")).kind).toBe("upstream");
    await expect(routing.route("m", { policy: "local-only" })).rejects.toThrow(ModelUnavailableError);
  });
});

/** READY instances of model `m` headed here, with one slot each. */
function readyInstances(ids: string[]): NodeStore {
  return testNodeStore(ids.map((id) => ({ id })));
}

describe("Router queue limit", () => {
  it("spreads requests until every instance holds --max-queue, then refuses with QueueFullError", async () => {
    const router = new Router(models, readyInstances(["a", "b"]), { maxQueuePerInstance: 3 });
    const instanceOf = (route: Route) => (route.kind === "upstream" ? undefined : route.instanceId);
    const routes: Route[] = [];
    for (let index = 0; index < 6; index++) routes.push(await router.route("m"));
    expect(routes.filter((route) => instanceOf(route) === "a")).toHaveLength(3);
    await expect(router.route("m")).rejects.toBeInstanceOf(QueueFullError);
    routes[0]!.release();
    expect(instanceOf(await router.route("m"))).toBe(instanceOf(routes[0]!));
  });

  it("counts requests sent to other nodes against the remote instance", async () => {
    const router = new Router(models, testNodeStore([{ id: "r", peer: "n2" }]), { maxQueuePerInstance: 2 });
    await router.route("m");
    await router.route("m");
    await expect(router.route("m")).rejects.toThrow(/busy: each of its instances has 2 requests/);
  });

  it("weighs a remote replica by this node's own requests plus what other nodes have on it", async () => {
    const router = new Router(models, testNodeStore([{ id: "a" }, { id: "r", peer: "n2", inFlight: 0 }]));
    const instanceOf = (route: Route) => (route.kind === "upstream" ? undefined : route.instanceId);
    // One slot each: the first request goes here, the second to the free remote slot.
    const first = await router.route("m");
    const second = await router.route("m");
    expect([instanceOf(first), instanceOf(second)]).toEqual(["a", "r"]);
    // Both finish: both are free again at once, whatever the head reported while they ran.
    first.release();
    second.release();
    expect(instanceOf(await router.route("m"))).toBe("a");
    expect(instanceOf(await router.route("m"))).toBe("r");
    // Another node's request on the remote replica: the local one is the freer now.
    const router2 = new Router(models, testNodeStore([{ id: "a" }, { id: "r", peer: "n2", inFlight: 1 }]));
    expect(instanceOf(await router2.route("m"))).toBe("a");
    expect(instanceOf(await router2.route("m"))).toBe("a");
  });

  it("sends what the full queues cannot take to an upstream the route allows, never under local-only", async () => {
    const router = new Router(models, oneInstance(1), {
      gateway: clusterGateway(() => desired(), { CLOUD_KEY: "sk" }),
      maxQueuePerInstance: 2,
    });
    // One slot: the second request already overflows (the default route), so the queue never fills.
    expect((await router.route("m")).kind).toBe("local");
    expect((await router.route("m")).kind).toBe("upstream");
    // A local-only request queues behind the first, then finds the queue full.
    expect((await router.route("m", { policy: "local-only" })).kind).toBe("local");
    await expect(router.route("m", { policy: "local-only" })).rejects.toBeInstanceOf(QueueFullError);
    expect((await router.route("m")).kind).toBe("upstream");
  });
});
