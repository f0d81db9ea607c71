import { describe, expect, it } from "vitest";
import { type TestInstance, testNodeStore } from "../cluster/test-node-state.js";
import { bestCandidate, type Candidate, chooseInstance, type InstanceRequest } from "./choose-instance.js";

const instance = (instanceId: string, load: number, parallel = 4, local = true): Candidate => ({
  instanceId,
  load,
  parallel,
  local,
});

describe("bestCandidate", () => {
  it.each([
    { name: "the most free slots", candidates: [instance("a", 3), instance("b", 1)], expected: "b" },
    {
      name: "free slots over fewer requests (a larger instance)",
      candidates: [instance("a", 2, 2), instance("b", 3, 8)],
      expected: "b",
    },
    {
      name: "the fewest queued when all are full",
      candidates: [instance("a", 9), instance("b", 6)],
      expected: "b",
    },
    {
      name: "one headed here when otherwise equal",
      candidates: [instance("a", 1, 4, false), instance("b", 1, 4, true)],
      expected: "b",
    },
    { name: "the lowest id on a full tie", candidates: [instance("b", 0), instance("a", 0)], expected: "a" },
  ])("prefers $name", ({ candidates, expected }) => {
    expect(bestCandidate(candidates).instanceId).toBe(expected);
  });

  it("keeps a conversation on its instance while that has a free slot", () => {
    expect(bestCandidate([instance("a", 0), instance("b", 3)], "b").instanceId).toBe("b");
  });

  it("moves a conversation whose instance is full", () => {
    expect(bestCandidate([instance("a", 0), instance("b", 4)], "b").instanceId).toBe("a");
  });
});

describe("chooseInstance", () => {
  it.each<{
    situation: string;
    instances: TestInstance[];
    suspected?: string[];
    request?: Partial<InstanceRequest>;
    /** This node's own requests in flight, by instance. */
    sent?: Record<string, number>;
    expected: string;
  }>([
    { situation: "nothing is loaded", instances: [], expected: "none" },
    {
      situation: "the only instance is still loading",
      instances: [{ id: "m-1", state: "LOADING" }],
      expected: "none",
    },
    {
      situation: "a peer's instance is loading, as it last reported",
      instances: [{ id: "m-1", peer: "b", state: "LOADING" }],
      expected: "none",
    },
    { situation: "one instance headed here", instances: [{ id: "m-1" }], expected: "m-1 here" },
    {
      situation: "two replicas, one here and one on a peer, both idle: the one here",
      instances: [{ id: "m-2" }, { id: "m-1", peer: "b" }],
      expected: "m-2 here",
    },
    {
      situation: "two replicas, the one here busy: the peer's",
      instances: [{ id: "m-2" }, { id: "m-1", peer: "b" }],
      sent: { "m-2": 1 },
      expected: "m-1 on b",
    },
    {
      situation: "two replicas, the peer's busy with other nodes' requests: the one here",
      instances: [
        { id: "m-2", parallel: 2 },
        { id: "m-1", peer: "b", parallel: 2, inFlight: 2 },
      ],
      sent: { "m-2": 1 },
      expected: "m-2 here",
    },
    {
      situation: "a draining instance is skipped",
      instances: [
        { id: "m-1", draining: true },
        { id: "m-2", peer: "b" },
      ],
      expected: "m-2 on b",
    },
    {
      situation: "a draining instance is all there is",
      instances: [{ id: "m-1", draining: true }],
      expected: "none",
    },
    {
      situation: "a suspected node's instance is skipped",
      instances: [
        { id: "m-1", peer: "b" },
        { id: "m-2", peer: "c" },
      ],
      suspected: ["b"],
      expected: "m-2 on c",
    },
    {
      situation: "a request forwarded by another node stays here",
      instances: [{ id: "m-1", peer: "b" }, { id: "m-2" }],
      sent: { "m-2": 5 },
      request: { localOnly: true },
      expected: "m-2 here",
    },
    {
      situation: "a request forwarded by another node, with no instance here",
      instances: [{ id: "m-1", peer: "b" }],
      request: { localOnly: true },
      expected: "none",
    },
    {
      situation: "the conversation stays on the replica that caches its prompt",
      instances: [{ id: "m-1" }, { id: "m-2", peer: "b" }],
      request: { preferred: "m-2" },
      expected: "m-2 on b",
    },
    {
      situation: "every queue is full",
      instances: [{ id: "m-1" }, { id: "m-2", peer: "b", inFlight: 2 }],
      sent: { "m-1": 2 },
      request: { maxQueuePerInstance: 2 },
      expected: "full",
    },
    {
      situation: "one queue is full: the other takes the request, though it queues too",
      instances: [{ id: "m-1" }, { id: "m-2", peer: "b", inFlight: 1 }],
      sent: { "m-1": 2 },
      request: { maxQueuePerInstance: 2 },
      expected: "m-2 on b",
    },
    {
      situation: "another model's instance does not serve this one",
      instances: [{ id: "other-1", model: "other" }],
      expected: "none",
    },
  ])("$situation", ({ instances, suspected, request, sent, expected }) => {
    const choice = chooseInstance(testNodeStore(instances, { suspected }).current, {
      model: "m",
      sentBy: (instanceId) => sent?.[instanceId] ?? 0,
      ...request,
    });
    const told =
      choice.outcome === "chosen"
        ? `${choice.instance.instanceId} ${choice.instance.local ? "here" : `on ${choice.instance.endpoints[0]?.split(":")[0]}`}`
        : choice.outcome;
    expect(told).toBe(expected);
  });
});
