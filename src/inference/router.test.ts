import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ModelStore } from "../models/model-store.js";
import { QueueFullError } from "../protocol/errors.js";
import { InstanceId, ModelName, NodeId } from "../protocol/ids.js";
import type { InstanceStatus } from "../protocol/instance.js";
import { type InstanceDirectory, Router } from "./router.js";

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "herd-router-"));
});
afterEach(async () => rm(directory, { recursive: true, force: true }));

/** READY instances of model `m`, as the instance manager would list them. */
function readyInstances(ids: string[]): InstanceDirectory {
  const statuses: InstanceStatus[] = ids.map((id) => ({
    id: InstanceId.parse(id),
    model: ModelName.parse("m"),
    contextSize: 512,
    parallel: 1,
    embeddings: false,
    createdAt: new Date(0).toISOString(),
    state: "READY",
    reason: "serving",
    since: new Date(0).toISOString(),
    restarts: 0,
    workarounds: [],
  }));
  return {
    list: () => statuses,
    ready: () =>
      statuses.map((status) => ({ status, endpoint: { baseUrl: "http://127.0.0.1:1", apiKey: "k" } })),
  };
}

describe("Router queue limit", () => {
  it("spreads requests until every instance holds --max-queue, then refuses with QueueFullError", async () => {
    const router = new Router(new ModelStore(directory), readyInstances(["a", "b"]), undefined, undefined, 3);
    const routes = [];
    for (let index = 0; index < 6; index++) routes.push(await router.route("m"));
    expect(routes.filter((route) => route.instanceId === "a")).toHaveLength(3);
    await expect(router.route("m")).rejects.toBeInstanceOf(QueueFullError);
    routes[0]!.release();
    expect((await router.route("m")).instanceId).toBe(routes[0]!.instanceId);
  });

  it("counts requests sent to other nodes against the remote instance", async () => {
    const remote = [{ node: NodeId.parse("n2"), endpoints: ["10.0.0.2:52416"], instanceId: "r" }];
    const router = new Router(new ModelStore(directory), readyInstances([]), () => remote, undefined, 2);
    await router.route("m");
    await router.route("m");
    await expect(router.route("m")).rejects.toThrow(/busy: each of its instances has 2 requests/);
  });
});
