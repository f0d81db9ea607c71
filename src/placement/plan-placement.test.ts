import { describe, expect, it } from "vitest";
import type { LinkMeasurement } from "../protocol/cluster.js";
import type { NodeId } from "../protocol/ids.js";
import type {
  PlacementInput,
  PlacementModel,
  PlacementNode,
  PlacementRequest,
  Plan,
} from "./placement-types.js";
import { planPlacement } from "./plan-placement.js";
import { llama8B, llama70B, stories260K } from "./test-models.js";

const GB = 1e9;
const id = (name: string) => name as NodeId;

const cpu = (name: string, gigabytes: number): PlacementNode => ({
  id: id(name),
  name,
  memoryAvailableBytes: gigabytes * GB,
  cpuModel: "Intel(R) Xeon(R) CPU",
  cpuCores: 8,
});
const mac = (name: string, chip: string, gigabytes: number): PlacementNode => ({
  id: id(name),
  name,
  memoryAvailableBytes: gigabytes * GB,
  cpuModel: chip,
  devices: [
    { name: "CPU", description: `${chip}, 24 cores` },
    { name: "MTL0", description: chip },
  ],
  backend: "metal",
});
/** Links between every pair, both ways; `slow` overrides pairs as "a-b". */
function mesh(
  nodes: PlacementNode[],
  rttMs: number,
  throughput: number,
  slow: Record<string, [number, number]> = {},
): LinkMeasurement[] {
  return nodes.flatMap((from) =>
    nodes
      .filter((to) => to.id !== from.id)
      .map((to) => {
        const [rtt, bytes] = slow[`${from.id}-${to.id}`] ??
          slow[`${to.id}-${from.id}`] ?? [rttMs, throughput];
        return { from: from.id, to: to.id, rttMs: rtt, throughputBytesPerSecond: bytes, measuredAt: 1 };
      }),
  );
}
const lan = (nodes: PlacementNode[], slow: Record<string, [number, number]> = {}) =>
  mesh(nodes, 0.3, 110e6, slow);
const request = (extra: Partial<PlacementRequest> = {}): PlacementRequest => ({
  contextSize: 4096,
  parallel: 1,
  split: "auto",
  ...extra,
});

const cluster = (nodes: PlacementNode[], links: LinkMeasurement[] = lan(nodes)) => ({ nodes, links });
const threeCpus = [cpu("a", 32), cpu("b", 32), cpu("c", 32)];
const cpusOnLan = cluster(threeCpus);
const twoMaxes = [mac("m1", "Apple M2 Max", 32), mac("m2", "Apple M2 Max", 32)];
const twoUltras = [mac("u1", "Apple M2 Ultra", 64), mac("u2", "Apple M2 Ultra", 64)];
const rdma = (nodes: PlacementNode[]) => cluster(nodes, mesh(nodes, 0.01, 10e9));
const rtx4090: PlacementNode = {
  ...cpu("gpu", 64),
  devices: [{ name: "CUDA0", description: "NVIDIA GeForce RTX 4090 (24564 MiB, 24000 MiB free)" }],
  backend: "cuda",
};
const withSlowB = cluster(threeCpus, lan(threeCpus, { "a-b": [40, 5e6], "b-c": [40, 5e6] }));
const withTiny = cluster([cpu("a", 32), cpu("b", 32), cpu("tiny", 0.5)]);

/** [name, model, cluster, request, nodes used, split mode]. */
type Row = [
  string,
  PlacementModel,
  PlacementInput["cluster"],
  Partial<PlacementRequest>,
  string,
  Plan["splitMode"],
];
const rows: Row[] = [
  ["fits on one node", llama8B, cpusOnLan, {}, "a", "none"],
  ["one node, the preferred head", llama8B, cpusOnLan, { head: id("b") }, "b", "none"],
  ["needs two nodes", llama70B, cpusOnLan, {}, "a,b", "layer"],
  [
    "needs every node",
    llama70B,
    cluster([cpu("a", 20), cpu("b", 20), cpu("c", 20)], []),
    {},
    "a,b,c",
    "layer",
  ],
  ["avoids the node behind a slow link", llama70B, withSlowB, {}, "a,c", "layer"],
  ["uses only the pinned nodes", llama70B, cpusOnLan, { nodes: [id("b"), id("c")] }, "b,c", "layer"],
  ["never uses an avoided node", llama70B, cpusOnLan, { avoid: [id("a")] }, "b,c", "layer"],
  ["leaves out a node with too little memory", llama70B, withTiny, { minNodes: 2 }, "a,b", "layer"],
  ["tensor split over a fast link when faster", llama70B, rdma(twoUltras), {}, "u1,u2", "tensor"],
  ["one node rather than a split over a slow link", llama70B, cluster(twoUltras), {}, "u1", "none"],
  ["tensor split when both are needed, fast links", llama70B, rdma(twoMaxes), {}, "m1,m2", "tensor"],
  ["layer split when both are needed, slow links", llama70B, cluster(twoMaxes), {}, "m1,m2", "layer"],
  ["layer split when asked, over fast links", llama70B, rdma(twoMaxes), { split: "layer" }, "m1,m2", "layer"],
  [
    "a memory-limited node takes fewer blocks",
    llama70B,
    cluster([cpu("a", 32), cpu("b", 14)]),
    {},
    "a,b",
    "layer",
  ],
  ["a GPU with a CPU node", llama70B, cluster([rtx4090, cpu("host", 64)]), {}, "gpu,host", "layer"],
  ["stories260K on three nodes", stories260K, cpusOnLan, { minNodes: 3 }, "a,b,c", "layer"],
];
const inputOf = ([, model, nodes, extra]: Row): PlacementInput => ({
  model,
  request: request(extra),
  cluster: nodes,
});
const scenarios = rows.map((row) => ({
  name: row[0],
  input: inputOf(row),
  nodes: row[4],
  splitMode: row[5],
}));
const scenarioInput = (name: string) => scenarios.find((entry) => entry.name === name)!.input;

/** The device llama.cpp puts each layer on (index L is the output layer), from the plan's flags alone. */
function llamaCppLayerDevices(plan: Plan, layerCount: number): Array<NodeId | "cpu"> {
  const devices = plan.shards.filter((shard) => shard.backend !== "local-cpu").map((shard) => shard.node);
  const splits: number[] = [];
  let sum = 0;
  for (const value of plan.tensorSplit) {
    sum = Math.fround(sum + value);
    splits.push(sum);
  }
  const normalized = splits.map((value) => Math.fround(value / sum));
  const gpuStart = Math.max(layerCount + 1 - plan.gpuLayers, 0);
  const active = Math.min(plan.gpuLayers, layerCount + 1);
  return Array.from({ length: layerCount + 1 }, (_, layer) => {
    if (layer < gpuStart || devices.length === 0) return "cpu";
    const point = Math.fround(Math.fround(layer - gpuStart) / active);
    const index = normalized.findIndex((value) => value > point);
    return devices[index === -1 ? devices.length - 1 : index]!;
  });
}

function checkInvariants(plan: Plan, input: PlacementInput): void {
  const layers = input.model.layerCount;
  expect(new Set(plan.shards.map((shard) => shard.node)).size).toBe(plan.shards.length);
  for (const entry of plan.memoryPerNode) {
    const node = input.cluster.nodes.find((candidate) => candidate.id === entry.node)!;
    expect(entry.neededBytes).toBeLessThanOrEqual(entry.availableBytes);
    expect(entry.availableBytes).toBeLessThanOrEqual(node.memoryAvailableBytes);
  }
  expect(plan.rpcNodes).toEqual(
    plan.shards.filter((shard) => shard.backend === "rpc").map((shard) => shard.node),
  );
  expect(plan.llamaServerArgs.slice(0, 2)).toEqual(["--split-mode", plan.splitMode]);
  if (plan.splitMode === "tensor") {
    const total = plan.tensorSplit.reduce((sum, value) => sum + value, 0);
    plan.shards.forEach((shard, index) => {
      expect([shard.layerStart, shard.layerEnd]).toEqual([0, layers]);
      expect(shard.fraction).toBeCloseTo(plan.tensorSplit[index]! / total, 12);
    });
    return;
  }
  let next = 0;
  for (const shard of plan.shards) {
    expect(shard.layerStart).toBe(next);
    expect(shard.layerEnd - shard.layerStart).toBeGreaterThanOrEqual(1);
    expect(shard.fraction).toBeCloseTo((shard.layerEnd - shard.layerStart) / layers, 12);
    next = shard.layerEnd;
  }
  expect(next).toBe(layers);
  if (plan.splitMode === "layer") {
    // What llama.cpp does with --tensor-split and --n-gpu-layers must be exactly the shards.
    const expected = plan.shards.flatMap((shard) =>
      Array.from({ length: shard.layerEnd - shard.layerStart }, () =>
        shard.backend === "local-cpu" ? "cpu" : shard.node,
      ),
    );
    const actual = llamaCppLayerDevices(plan, layers);
    expect(actual.slice(0, layers)).toEqual(expected);
    expect(actual[layers]).toBe(plan.shards.at(-1)!.node);
  }
}

describe("planPlacement", () => {
  it.each(scenarios)("$name", ({ input, nodes, splitMode }) => {
    const plan = planPlacement(input);
    expect(plan.shards.map((shard) => shard.node).sort()).toEqual(nodes.split(","));
    expect(plan.splitMode).toBe(splitMode);
    checkInvariants(plan, input);
    expect(plan.reasons.length).toBeGreaterThan(2);
  });

  it.each(scenarios)("is deterministic whatever the input order: $name", ({ input }) => {
    const reversed = {
      ...input,
      cluster: { nodes: [...input.cluster.nodes].reverse(), links: [...input.cluster.links].reverse() },
    };
    expect(planPlacement(reversed)).toEqual(planPlacement(input));
  });

  it("fills a GPU's memory before a slower node's", () => {
    const gpu = planPlacement(scenarioInput("a GPU with a CPU node")).shards.find(
      (shard) => shard.node === "gpu",
    )!;
    expect(gpu.totalBytes).toBeLessThanOrEqual(24000 * 1024 * 1024);
    expect(gpu.totalBytes).toBeGreaterThan(24000 * 1024 * 1024 - 1.1 * llama70B.bytesPerLayer);
  });

  it("gives a node under a memory limit fewer blocks, within its limit", () => {
    const plan = planPlacement(scenarioInput("a memory-limited node takes fewer blocks"));
    const blocks = (node: string) => plan.shards.find((shard) => shard.node === node)!;
    expect(blocks("b").layerEnd - blocks("b").layerStart).toBeLessThan(
      blocks("a").layerEnd - blocks("a").layerStart,
    );
    expect(plan.memoryPerNode.find((entry) => entry.node === "b")!.neededBytes).toBeLessThanOrEqual(14 * GB);
    for (const entry of plan.memoryPerNode)
      expect(entry.freeAfterBytes).toBe(entry.availableBytes - entry.neededBytes);
  });

  it("gives each of three nodes a block of stories260K; a CPU-only head keeps its own on the CPU", () => {
    const plan = planPlacement(scenarioInput("stories260K on three nodes"));
    expect(plan.shards.map((shard) => shard.layerEnd - shard.layerStart)).toEqual([2, 2, 1]);
    expect(plan.shards[0]).toMatchObject({ node: plan.head, backend: "local-cpu", layerStart: 0 });
  });

  it("keeps the output matrix on a CPU-only head where the logits would cost more to send", () => {
    const plan = planPlacement(scenarioInput("stories260K on three nodes"));
    expect(plan.outputOnHead).toBe(true);
    expect(plan.llamaServerArgs).toEqual([
      ...["--split-mode", "layer", "--tensor-split", "2,2", "--n-gpu-layers", "4"],
      ...["--override-tensor", "^output\\.weight$=CPU"],
      ...["--ctx-size", "4096", "--parallel", "1"],
    ]);
    // The head holds the matrix; the last shard, which llama.cpp gives the output layer, does not.
    const head = plan.shards[0]!;
    const last = plan.shards.at(-1)!;
    const middle = plan.shards[1]!;
    expect(head.weightBytes).toBe(2 * 181760 + (262400 - 131072) + 131072);
    expect(last.weightBytes).toBe(181760);
    expect(middle.weightBytes).toBe(2 * 181760);
    expect(plan.reasons).toContainEqual(
      expect.stringMatching(/^a keeps the output matrix \(0\.1 MiB\).* logits \(2 KiB\) would cross from c/),
    );
  });

  describe("where a CPU-only head keeps the output matrix", () => {
    const untied8B: PlacementModel = { ...llama8B, outputWeightBytes: llama8B.nonLayerBytes / 2 };
    const onHead = (model: PlacementModel, nodes: PlacementNode[], links: LinkMeasurement[]) =>
      planPlacement({
        model,
        request: request({ split: "layer", minNodes: 2, allowedHeads: [id(nodes[0]!.id)] }),
        cluster: { nodes, links },
      });
    const host = cpu("host", 200);

    it("on the head, over Wi-Fi between CPUs: only activations cross, not 513 KB of logits per token", () => {
      const nodes = [host, cpu("b", 200)];
      const plan = onHead(untied8B, nodes, mesh(nodes, 3, 30e6));
      expect(plan.outputOnHead).toBe(true);
      const other = Number(/would cross from b.*\((\d+\.\d) tokens\/s\)/.exec(plan.reasons.join("\n"))![1]);
      expect(other).toBeLessThan(plan.predicted.decodeTokensPerSecond);
    });

    it("with a GPU shard on a fast link, which computes it faster than the head's CPU", () => {
      const nodes = [host, rtx4090];
      const plan = onHead(untied8B, nodes, mesh(nodes, 0.01, 10e9));
      expect(plan.head).toBe("host");
      expect(plan.outputOnHead).toBe(false);
      expect(plan.llamaServerArgs).not.toContain("--override-tensor");
      expect(plan.reasons).toContainEqual(expect.stringMatching(/^The output matrix stays with gpu/));
    });

    it("with the last shard when the model ties its output to the input embeddings", () => {
      const tied = { ...llama70B, outputWeightBytes: 0 };
      const plan = onHead(tied, [host, cpu("b", 200)], lan([host, cpu("b", 200)]));
      expect(plan.outputOnHead).toBe(false);
      expect(plan.reasons.join("\n")).not.toMatch(/output matrix/);
    });
  });

  it("puts an accelerated head last, with the output layer", () => {
    const plan = planPlacement(scenarioInput("layer split when both are needed, slow links"));
    expect(plan.shards.at(-1)).toMatchObject({ node: plan.head, backend: "local-accelerator", layerEnd: 80 });
    expect(plan.gpuLayers).toBe(81);
  });

  it("runs a CPU-only head's share of a tensor split on its own RPC server", () => {
    const plan = planPlacement({
      model: stories260K,
      request: request({ split: "tensor", minNodes: 2, nodes: [id("a"), id("b")], head: id("a") }),
      cluster: cpusOnLan,
    });
    expect(plan.splitMode).toBe("tensor");
    expect(plan.rpcNodes).toEqual([plan.head, ...plan.rpcNodes.slice(1)]);
    expect(plan.rpcNodes).toHaveLength(2);
    expect(plan.tensorSplit).toHaveLength(2);
  });

  it("says why a node is left out and lists alternatives with their predictions", () => {
    const plan = planPlacement(scenarioInput("avoids the node behind a slow link"));
    expect(plan.reasons).toContainEqual(expect.stringMatching(/^Left out b: .*40\.00 ms/));
    expect(plan.alternatives.filter((alternative) => alternative.fits)).toHaveLength(3);
    for (const alternative of plan.alternatives) {
      if (alternative.fits) expect(alternative.predicted!.decodeTokensPerSecond).toBeGreaterThan(0);
      else expect(alternative.why).not.toBe("");
    }
  });
});

describe("engines of different llama.cpp versions", () => {
  const a = { ...cpu("a", 16), engineVersion: "0.5.0 (de3ff81)" };
  const b = { ...cpu("b", 16), engineVersion: "0.5.0 (de3ff81)" };
  const c = { ...cpu("c", 64), engineVersion: "0.6.0 (abc1234)" };
  const cluster = { nodes: [a, b, c], links: lan([a, b, c]) };

  it("never share a split, though the odd one has the most memory", () => {
    const plan = planPlacement({
      model: llama8B,
      request: request({ minNodes: 2, split: "layer" }),
      cluster,
    });
    expect(plan.shards.map((shard) => shard.node).sort()).toEqual(["a", "b"]);
    expect(plan.reasons).toContainEqual(
      "Left out c: its llama.cpp engine is 0.6.0 (abc1234), a's is 0.5.0 (de3ff81); llama.cpp's RPC wire format changes between versions, so they never share a split (it can still run an instance or replica of its own).",
    );
  });

  it("still run a model alone", () => {
    const plan = planPlacement({ model: llama8B, request: request({ nodes: [id("c")] }), cluster });
    expect(plan.head).toBe("c");
  });

  it("say so when only a mixed split would do", () => {
    expect(() =>
      planPlacement({
        model: llama8B,
        request: request({ minNodes: 2, nodes: [id("a"), id("c")] }),
        cluster,
      }),
    ).toThrow(/their llama\.cpp engines differ \(a 0\.5\.0 \(de3ff81\); c 0\.6\.0 \(abc1234\)\)/);
  });
});

describe("planPlacement refuses requests that cannot be meant", () => {
  it.each([
    { name: "an unknown pinned node", extra: { nodes: [id("zz")] }, param: "nodes" },
    { name: "maxNodes below minNodes", extra: { minNodes: 3, maxNodes: 2 }, param: "maxNodes" },
    { name: "a zero context", extra: { contextSize: 0 }, param: "contextSize" },
    { name: "no slots", extra: { parallel: 0 }, param: "parallel" },
  ])("$name", ({ extra, param }) => {
    expect(() => planPlacement({ model: llama8B, request: request(extra), cluster: cpusOnLan })).toThrow(
      expect.objectContaining({ name: "InvalidRequestError", param }),
    );
  });
});

describe("a draft model (speculative decoding)", () => {
  const input = (extra: Partial<PlacementRequest>) => ({
    model: llama8B,
    request: request(extra),
    cluster: cluster([cpu("a", 32), cpu("b", 32)]),
  });

  it("is counted in the head's memory, and nowhere else", () => {
    const without = planPlacement(input({}));
    const withDraft = planPlacement(input({ draft: stories260K }));
    const head = (plan: Plan) => plan.memoryPerNode.find((entry) => entry.node === plan.head)!.neededBytes;
    expect(withDraft.head).toBe(without.head);
    expect(head(withDraft)).toBeGreaterThan(head(without) + stories260K.sizeBytes);
  });

  it("can push the model onto a second node when the head has no room left for it", () => {
    const tight = { ...input({ draft: llama8B }), cluster: cluster([cpu("a", 12), cpu("b", 12)]) };
    expect(planPlacement({ ...tight, request: request({}) }).shards).toHaveLength(1);
    expect(planPlacement(tight).shards.length).toBeGreaterThan(1);
  });
});
