import { describe, expect, it } from "vitest";
import type { Correction, NodeCalibration } from "../protocol/calibration.js";
import type { LinkMeasurement } from "../protocol/cluster.js";
import type { NodeId } from "../protocol/ids.js";
import {
  attributeDecodeError,
  correctionBounds,
  correctionFactor,
  correctionHalfLifeMs,
  learnFromDecode,
  nextCorrection,
  withMeasurement,
} from "./calibration.js";
import { bandwidthEfficiency, layerDispatchSeconds } from "./cost-model.js";
import type { PlacementCluster, PlacementNode } from "./placement-types.js";
import { planPlacement } from "./plan-placement.js";
import { llama70B } from "./test-models.js";

const now = 1_000_000_000;
const id = (name: string) => name as NodeId;
const correction = (factor: number, samples: number, updatedAt = now): Correction => ({
  factor,
  samples,
  updatedAt,
});

describe("nextCorrection", () => {
  it.each([
    ["no data: the first observation counts fully", undefined, 1.4, 1.4, 1],
    ["the second counts half, in log space", correction(1.4, 1), 1, Math.sqrt(1.4), 2],
    ["once settled, a quarter", correction(1.2, 9), 1.6, 1.2 ** 0.75 * 1.6 ** 0.25, 10],
    ["an observation that matches the correction changes nothing", correction(1.3, 5), 1.3, 1.3, 6],
    ["bounded above at ×2", undefined, 5, correctionBounds.highest, 1],
    ["bounded below at ×0.5", undefined, 0.1, correctionBounds.lowest, 1],
    ["bounded however far one observation is", correction(1.9, 20), 100, 1.9 ** 0.75 * 2 ** 0.25, 21],
  ])("%s", (_, previous, observed, factor, samples) => {
    const next = nextCorrection(previous, observed, now)!;
    expect(next.factor).toBeCloseTo(factor, 10);
    expect(next.samples).toBe(samples);
    expect(next.updatedAt).toBe(now);
  });

  it.each([
    ["zero", 0],
    ["negative", -1],
    ["not a number", Number.NaN],
    ["infinite", Number.POSITIVE_INFINITY],
  ])("ignores a %s observation", (_, observed) => {
    expect(nextCorrection(undefined, observed, now)).toBeUndefined();
    expect(nextCorrection(correction(1.2, 3), observed, now)).toEqual(correction(1.2, 3));
  });

  it("settles on what a long-running instance keeps observing, and never runs past it", () => {
    let learnt: Correction | undefined;
    for (let step = 0; step < 200; step++) learnt = nextCorrection(learnt, 1.38, now);
    expect(learnt!.factor).toBeCloseTo(1.38, 10);
    expect(learnt!.samples).toBe(200);
  });
});

describe("correctionFactor", () => {
  it.each([
    ["a node with no data", undefined, now, 1],
    ["fresh", correction(1.5, 4), now, 1.5],
    [
      "one half-life old: half its pull, in log space",
      correction(1.5, 4),
      now + correctionHalfLifeMs,
      Math.sqrt(1.5),
    ],
    ["two half-lives old", correction(0.6, 4), now + 2 * correctionHalfLifeMs, 0.6 ** 0.25],
    ["no clock given: counts in full", correction(1.5, 4), undefined, 1.5],
    ["a file edited beyond the bounds stays within them", correction(9, 4), now, correctionBounds.highest],
  ])("%s", (_, learnt, at, factor) => {
    expect(correctionFactor(learnt, at)).toBeCloseTo(factor, 10);
  });
});

describe("attributeDecodeError", () => {
  const predicted = (head: number, uncorrectedHead: number, uncorrectedRemote: number) => ({
    headSeconds: head,
    uncorrectedHeadSeconds: uncorrectedHead,
    uncorrectedRemoteSeconds: uncorrectedRemote,
  });
  it.each([
    ["one node: all to its own part, before corrections", predicted(0.03, 0.02, 0), 0.025, { node: 1.25 }],
    ["split: what the head's part leaves to the paths", predicted(0.04, 0.04, 0.005), 0.05, { hops: 2 }],
    [
      "split, faster than the head alone: the floor",
      predicted(0.04, 0.04, 0.004),
      0.03,
      { hops: 1e-6 / 0.004 },
    ],
    ["nothing measured", predicted(0.02, 0.02, 0), 0, {}],
  ])("%s", (_, prediction, measured, observed) => {
    const found = attributeDecodeError(prediction, measured);
    expect(Object.keys(found)).toEqual(Object.keys(observed));
    for (const [key, value] of Object.entries(observed))
      expect(found[key as keyof typeof found]).toBeCloseTo(value, 10);
  });
});

describe("learnFromDecode", () => {
  const cable = "direct 169.254.10.1>169.254.10.2";
  const predicted = { headSeconds: 0.04, uncorrectedHeadSeconds: 0.04, uncorrectedRemoteSeconds: 0.005 };

  it("corrects each hop of a split, and leaves the node's own correction", () => {
    const start: NodeCalibration = {
      correction: correction(1.1, 3),
      hops: [{ node: id("b"), route: "tunnel", rpcRoundTripSeconds: 1e-4 }],
    };
    const shards = [
      { node: id("b"), route: "tunnel" },
      { node: id("c"), route: "tunnel" },
    ];
    const learnt = learnFromDecode(start, predicted, 0.05, shards, now);
    expect(learnt.correction).toEqual(start.correction);
    expect(learnt.hops.find((hop) => hop.node === id("b"))).toEqual({
      node: id("b"),
      route: "tunnel",
      rpcRoundTripSeconds: 1e-4,
      correction: correction(2, 1),
    });
    expect(learnt.hops.find((hop) => hop.node === id("c"))?.correction?.factor).toBe(2);
  });

  it("learns a route of its own: what the cable to a node teaches leaves the tunnel to it as it was", () => {
    const tunnel = {
      node: id("b"),
      route: "tunnel",
      rpcRoundTripSeconds: 9e-4,
      correction: correction(1.3, 4),
    };
    const start: NodeCalibration = { hops: [tunnel] };
    const learnt = learnFromDecode(start, predicted, 0.0425, [{ node: id("b"), route: cable }], now);
    expect(learnt.hops).toHaveLength(2);
    expect(learnt.hops.find((hop) => hop.route === "tunnel")).toEqual(tunnel);
    const overCable = learnt.hops.find((hop) => hop.route === cable)!;
    expect(overCable.node).toBe(id("b"));
    expect(overCable.correction?.factor).toBeCloseTo(0.5, 12);
  });
});

describe("withMeasurement", () => {
  it("starts the corrections afresh, which were learnt against the old figures, and keeps the round trips", () => {
    const measured = {
      engine: "e@2",
      bandwidthBytesPerSecond: 9e9,
      tokenOverheadSeconds: 0.001,
      measuredAt: now,
    };
    const before: NodeCalibration = {
      correction: correction(1.4, 9),
      hops: [
        {
          node: id("b"),
          route: "tunnel",
          rpcRoundTripSeconds: 2e-4,
          rpcMeasuredAt: 5,
          correction: correction(0.7, 3),
        },
      ],
    };
    expect(withMeasurement(before, measured)).toEqual({
      measured,
      hops: [{ node: id("b"), route: "tunnel", rpcRoundTripSeconds: 2e-4, rpcMeasuredAt: 5 }],
    });
  });
});

/** Two CPU nodes that need each other for a 70B model, so every plan has an RPC hop. */
const node = (name: string, calibration?: NodeCalibration): PlacementNode => ({
  id: id(name),
  name,
  memoryAvailableBytes: 26e9,
  cpuModel: "Intel(R) Xeon(R) CPU",
  cpuCores: 8,
  ...(calibration && { calibration }),
});
const links: LinkMeasurement[] = [
  { from: id("a"), to: id("b"), rttMs: 0.3, throughputBytesPerSecond: 110e6, measuredAt: 1 },
  { from: id("b"), to: id("a"), rttMs: 0.3, throughputBytesPerSecond: 110e6, measuredAt: 1 },
];
const plan = (a?: NodeCalibration, b?: NodeCalibration, routeOf?: PlacementCluster["routeOf"]) =>
  planPlacement({
    model: llama70B,
    request: { contextSize: 4096, parallel: 1, split: "layer", head: id("a"), allowedHeads: [id("a")] },
    cluster: { nodes: [node("a", a), node("b", b)], links, now, ...(routeOf && { routeOf }) },
  });

describe("a plan with calibrated nodes", () => {
  const measured = (gigabytes: number) => ({
    engine: "llama-server@b1",
    bandwidthBytesPerSecond: gigabytes * 1e9,
    tokenOverheadSeconds: 0.002,
    measuredAt: now,
  });

  it("without calibration predicts what the chip table gives, and says nothing of corrections", () => {
    const prior = plan();
    expect(prior.reasons.join("\n")).not.toMatch(/correction|measured/);
    expect(plan({ hops: [] }, { hops: [] }).predicted).toEqual(prior.predicted);
  });

  it("uses each node's measured bandwidth and the head's per-token overhead instead of the chip's guess", () => {
    const prior = plan();
    const calibrated = plan({ measured: measured(13), hops: [] }, { measured: measured(13), hops: [] });
    // The chip table's unknown CPU: 40 GB/s peak at η, and 80 blocks' dispatch; measured: 13 GB/s as
    // llama.cpp reads weights, and 2 ms per token besides.
    const dispatch = 80 * layerDispatchSeconds;
    const weightBytes = (prior.predicted.computeSeconds! - dispatch) * 40e9 * bandwidthEfficiency;
    expect(calibrated.predicted.computeSeconds).toBeCloseTo(weightBytes / 13e9 + dispatch + 0.002, 9);
    expect(calibrated.reasons.join("\n")).toContain(
      "a's decode speed is its own measurement with its engine",
    );
  });

  it("puts the RPC round trip and the path's correction into the shard's part, and says so", () => {
    const prior = plan();
    const hops = [
      { node: id("b"), route: "tunnel", rpcRoundTripSeconds: 0.3e-3, correction: correction(1.5, 7) },
    ];
    const calibrated = plan({ hops }, undefined);
    const { headSeconds, computeSeconds, networkSeconds } = prior.predicted;
    expect(calibrated.predicted.networkSeconds).toBeCloseTo(networkSeconds! * 1.5, 9);
    expect(calibrated.predicted.computeSeconds).toBeCloseTo(
      headSeconds! + (computeSeconds! - headSeconds!) * 1.5,
      9,
    );
    // What a measured decode is compared with: the shard's part before the correction.
    expect(calibrated.predicted.uncorrectedRemoteSeconds).toBeCloseTo(
      computeSeconds! - headSeconds! + networkSeconds!,
      12,
    );
    expect(calibrated.reasons).toContain(
      "Applied a correction of ×1.50 to the a → b RPC path (b's blocks and the hop), learnt from 7 measured decodes against the plan.",
    );
    expect(calibrated.reasons).toContain(
      "The a → b RPC round trip is 0.30 ms, measured in llama.cpp's own RPC protocol (herd's ping: 0.30 ms).",
    );
  });

  it("multiplies the head's own part by its correction; a shard's own correction is its own business", () => {
    const prior = plan();
    const calibrated = plan(
      { correction: correction(1.25, 4), hops: [] },
      { correction: correction(1.8, 4), hops: [] },
    );
    const { headSeconds, computeSeconds } = prior.predicted;
    expect(calibrated.predicted.headSeconds).toBeCloseTo(headSeconds! * 1.25, 12);
    expect(calibrated.predicted.computeSeconds).toBeCloseTo(computeSeconds! + headSeconds! * 0.25, 12);
    expect(calibrated.predicted.uncorrectedHeadSeconds).toBeCloseTo(headSeconds!, 12);
    expect(calibrated.reasons).toContain(
      "Applied a correction of ×1.25 to a's compute time, learnt from 4 measured decodes of its instances against their plans.",
    );
  });

  describe("over the route the head would take", () => {
    const cable = "direct 169.254.10.1>169.254.10.2";
    const overCable = () => ({
      key: cable,
      description: "directly over 169.254.10.1 -> 169.254.10.2 (thunderbolt)",
      figures: { rttSeconds: 0.05e-3, throughputBytesPerSecond: 2e9 },
    });
    const learnt: NodeCalibration = {
      hops: [
        { node: id("b"), route: "tunnel", rpcRoundTripSeconds: 0.9e-3, correction: correction(1.8, 9) },
        { node: id("b"), route: cable, rpcRoundTripSeconds: 0.06e-3, correction: correction(0.8, 3) },
      ],
    };

    it("takes the path's own figures, not the pair's best", () => {
      const overPath = plan(undefined, undefined, overCable);
      // The same as a plan whose pair had the cable's figures for its best.
      const cableLinks = links.map((link) => ({ ...link, rttMs: 0.05, throughputBytesPerSecond: 2e9 }));
      const asBest = planPlacement({
        model: llama70B,
        request: { contextSize: 4096, parallel: 1, split: "layer", head: id("a"), allowedHeads: [id("a")] },
        cluster: { nodes: [node("a"), node("b")], links: cableLinks, now },
      });
      expect(overPath.predicted).toEqual(asBest.predicted);
      expect(overPath.predicted.networkSeconds).toBeLessThan(plan().predicted.networkSeconds!);
      expect(overPath.reasons).toContain(
        "a reaches b directly over 169.254.10.1 -> 169.254.10.2 (thunderbolt).",
      );
    });

    it("applies what the head learnt of that route alone", () => {
      const overPath = plan(learnt, undefined, overCable);
      expect(overPath.reasons).toContain(
        "The a → b RPC round trip is 0.06 ms, measured in llama.cpp's own RPC protocol (herd's ping: 0.05 ms).",
      );
      expect(overPath.reasons.join("\n")).toContain("a correction of ×0.80 to the a → b RPC path");
      const throughTunnel = plan(learnt, undefined, () => ({
        key: "tunnel",
        description: "through the tunnel",
      }));
      expect(throughTunnel.reasons.join("\n")).toContain("a correction of ×1.80 to the a → b RPC path");
      expect(throughTunnel.reasons).toContain("a reaches b through the tunnel.");
      expect(throughTunnel.predicted.decodeTokensPerSecond).toBeLessThan(
        overPath.predicted.decodeTokensPerSecond,
      );
    });

    it("takes the tunnel's RPC round trip for a direct route to the same address that nothing ran over yet", () => {
      // herd's ping (0.3 ms) crosses both nodes' event loops; the tunnel's round trip over the same
      // path, measured in the engine's protocol, is less, and a direct route skips its two relays.
      const tunnelMeasured: NodeCalibration = {
        hops: [
          { node: id("b"), route: "tunnel", rpcRoundTripSeconds: 0.1e-3, correction: correction(1.8, 9) },
        ],
      };
      const direct = (tunnelPath: boolean) => () => ({
        key: "direct",
        description: "directly to its advertised address (its interfaces are not known)",
        ...(tunnelPath && { tunnelPath }),
      });
      const bounded = plan(tunnelMeasured, undefined, direct(true));
      const asMeasured = plan(
        { hops: [{ node: id("b"), route: "direct", rpcRoundTripSeconds: 0.1e-3 }] },
        undefined,
        direct(true),
      );
      expect(bounded.predicted).toEqual(asMeasured.predicted);
      expect(bounded.predicted.networkSeconds).toBeLessThan(
        plan(undefined, undefined, direct(true)).predicted.networkSeconds!,
      );
      expect(bounded.reasons).toContain(
        "The a → b RPC round trip is taken as 0.10 ms, the tunnel's to b over the same path in llama.cpp's own RPC protocol: nothing has run over this route yet, and it crosses the same path without the tunnel's two relays (herd's ping: 0.30 ms).",
      );
      // Not the tunnel's correction: what slows the tunnel (its relays) is not on the direct route.
      expect(bounded.reasons.join("\n")).not.toContain("×1.80");
      // Another path (a cable to another address), or a tunnel slower than herd's ping: the ping stands.
      expect(plan(tunnelMeasured, undefined, direct(false)).predicted).toEqual(
        plan(undefined, undefined, direct(false)).predicted,
      );
      const slowTunnel: NodeCalibration = {
        hops: [{ node: id("b"), route: "tunnel", rpcRoundTripSeconds: 0.9e-3 }],
      };
      expect(plan(slowTunnel, undefined, direct(true)).predicted).toEqual(
        plan(undefined, undefined, direct(true)).predicted,
      );
    });

    it("uses no record of a route it was not told of, nor one kept before routes were told apart", () => {
      const older: NodeCalibration = {
        hops: [{ node: id("b"), rpcRoundTripSeconds: 5e-3, correction: correction(2, 9) }],
      };
      expect(plan(older).predicted).toEqual(plan().predicted);
      const otherCable = () => ({ ...overCable(), key: "direct 169.254.20.1>169.254.20.2" });
      expect(plan(learnt, undefined, otherCable).predicted).toEqual(
        plan(undefined, undefined, otherCable).predicted,
      );
    });
  });
});
