import { describe, expect, it } from "vitest";
import { InstanceSummary, PlacedInstance } from "../protocol/cluster.js";
import { NodeId } from "../protocol/ids.js";
import { applyEvent, initialNodeState, type NodeStateEvent } from "./node-state.js";
import { remoteInstances } from "./remote-instances.js";
import { testNodeProfile } from "./test-node-profile.js";

const self = NodeId.parse("20000000-0000-4000-8000-000000000000");
const peer = NodeId.parse("30000000-0000-4000-8000-000000000000");
const profile = testNodeProfile();
const introduction = (id: NodeId, joinedAt: number) => ({
  id,
  name: id === self ? "self" : "peer",
  joinedAt,
  incarnation: "first",
  endpoints: [`${id === self ? "self" : "peer"}:52416`],
});
const placed = (id: string, draining?: string) =>
  PlacedInstance.parse({
    id,
    model: "m",
    contextSize: 256,
    parallel: 2,
    embeddings: false,
    createdAt: "2026-01-01T00:00:00Z",
    node: peer,
    draining,
  });
const reported = (id: string, state: InstanceSummary["state"], inFlight = 0, model = "m") =>
  InstanceSummary.parse({ id, model, node: peer, state, reason: "", since: "", parallel: 2, inFlight });

interface Situation {
  desired: PlacedInstance[];
  report: InstanceSummary[];
  /** This node's own requests on each instance when the report arrived. */
  sent?: Array<[string, number]>;
  /** Milliseconds of silence from the peer since its report. */
  silentMs?: number;
}

function choices({ desired, report, sent, silentMs }: Situation): string[] {
  const events: NodeStateEvent[] = [
    { type: "hello-received", introduction: introduction(self, 1), profile, at: 0 },
    { type: "hello-received", introduction: introduction(peer, 2), profile, at: 0 },
    {
      type: "desired-state-received",
      state: { epoch: 1, writtenBy: self, instances: desired, upstreams: [], routes: {} },
    },
    {
      type: "heartbeat-received",
      introduction: introduction(peer, 2),
      profile,
      links: [],
      instances: report,
      models: ["m"],
      sentInFlight: new Map(sent ?? []),
      at: 100,
    },
    { type: "clock-ticked", at: 100 + (silentMs ?? 0) },
  ];
  return remoteInstances(events.reduce(applyEvent, initialNodeState(self)), "m").map(
    (choice) =>
      `${choice.instanceId} at ${choice.endpoints.join(",")}: ${choice.parallel} slots, ${choice.othersInFlight} from others`,
  );
}

describe("remoteInstances", () => {
  it.each<{ situation: string; given: Situation; expected: string[] }>([
    {
      situation: "a peer heads a READY instance of the model",
      given: { desired: [placed("m-1")], report: [reported("m-1", "READY")] },
      expected: ["m-1 at peer:52416: 2 slots, 0 from others"],
    },
    {
      situation: "the peer's report counts this node's requests and two of others",
      given: { desired: [placed("m-1")], report: [reported("m-1", "READY", 3)], sent: [["m-1", 1]] },
      expected: ["m-1 at peer:52416: 2 slots, 2 from others"],
    },
    {
      situation: "the instance is still loading",
      given: { desired: [placed("m-1")], report: [reported("m-1", "LOADING")] },
      expected: [],
    },
    {
      situation: "the instance is draining",
      given: { desired: [placed("m-1", "2026-01-01T00:00:00Z")], report: [reported("m-1", "READY")] },
      expected: [],
    },
    {
      situation: "the instance was unloaded but the peer's last heartbeat still says READY",
      given: { desired: [], report: [reported("m-1", "READY")] },
      expected: [],
    },
    {
      situation: "the peer has been silent for 4 s",
      given: { desired: [placed("m-1")], report: [reported("m-1", "READY")], silentMs: 4000 },
      expected: [],
    },
    {
      situation: "the peer's READY instance serves another model",
      given: { desired: [placed("n-1")], report: [reported("n-1", "READY", 0, "n")] },
      expected: [],
    },
  ])("$situation", ({ given, expected }) => {
    expect(choices(given)).toEqual(expected);
  });
});
