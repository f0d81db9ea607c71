import { describe, expect, it } from "vitest";
import type { InstanceId } from "../protocol/ids.js";
import type { InstanceState, InstanceStatus } from "../protocol/instance.js";
import {
  applyLocalEvent,
  type LocalProcessEvent,
  type LocalProcesses,
  noLocalProcesses,
} from "./local-processes.js";

const id = "m-1" as InstanceId;
const endpoint = { baseUrl: "http://127.0.0.1:40001", apiKey: "k" };

/** The status a supervisor reports for `m-1`. */
function status(state: InstanceState, extra: Partial<InstanceStatus> = {}): InstanceStatus {
  return {
    id,
    model: "m",
    contextSize: 256,
    parallel: 1,
    embeddings: false,
    createdAt: "2026-01-01T00:00:00Z",
    state,
    reason: state.toLowerCase(),
    since: "2026-01-01T00:00:00Z",
    restarts: 0,
    workarounds: [],
    ...extra,
  } as InstanceStatus;
}

const started: LocalProcessEvent = {
  type: "engine-started",
  instanceId: id,
  processKey: "k1",
  status: status("PLANNED"),
};
const ready: LocalProcessEvent = {
  type: "engine-status-changed",
  processKey: "k1",
  status: status("READY"),
  endpoint,
};
const sampled: LocalProcessEvent = {
  type: "engine-stats-sampled",
  instanceId: id,
  processKey: "k1",
  stats: {
    slotsInUse: 1,
    slots: 1,
    queued: 0,
    tokensPerSecond: 5,
    tokensGenerated: 40,
    sampleIntervalMs: 2000,
    recentTokensPerSecond: [5],
    sampledAt: "2026-01-01T00:00:02Z",
  },
};

/** What runs here, as a person reading the dashboard would put it. */
function told(local: LocalProcesses): string[] {
  const lines: string[] = [];
  for (const [instanceId, engine] of local.engines) {
    const { state, restarts, stats } = engine.status;
    lines.push(
      `engine ${instanceId} (${engine.processKey}) ${state}` +
        `${restarts > 0 ? `, restarted ${restarts}x` : ""}` +
        `${engine.endpoint ? ` at ${engine.endpoint.baseUrl}` : ""}${stats ? ", with stats" : ""}`,
    );
  }
  for (const [name, shard] of local.shards) {
    lines.push(`shard ${name} on ${shard.host}${shard.ready ? `:${shard.port} ready` : " starting"}`);
  }
  for (const [name, open] of local.shardConnections) lines.push(`shard ${name}: ${open} connections`);
  return lines;
}

describe("applyLocalEvent", () => {
  it.each<{ situation: string; events: LocalProcessEvent[]; expected: string[] }>([
    { situation: "an engine was started", events: [started], expected: ["engine m-1 (k1) PLANNED"] },
    {
      situation: "the engine loaded and serves",
      events: [
        started,
        { type: "engine-status-changed", processKey: "k1", status: status("LOADING") },
        ready,
      ],
      expected: ["engine m-1 (k1) READY at http://127.0.0.1:40001"],
    },
    {
      situation: "a READY engine's stats were sampled",
      events: [started, ready, sampled],
      expected: ["engine m-1 (k1) READY at http://127.0.0.1:40001, with stats"],
    },
    {
      situation: "the engine exited unasked and is restarting: no endpoint, no stats",
      events: [
        started,
        ready,
        sampled,
        {
          type: "engine-status-changed",
          processKey: "k1",
          status: status("FAILED", { restarts: 1 }),
          endpoint,
        },
      ],
      expected: ["engine m-1 (k1) FAILED, restarted 1x"],
    },
    {
      situation: "an engine restarted for a new plan: the replaced one's late words change nothing",
      events: [
        started,
        ready,
        { type: "engine-stopped", instanceId: id },
        { type: "engine-started", instanceId: id, processKey: "k2", status: status("PLANNED") },
        { type: "engine-status-changed", processKey: "k2", status: status("READY"), endpoint },
        { type: "engine-status-changed", processKey: "k1", status: status("STOPPING") },
        { ...sampled, processKey: "k1" } as LocalProcessEvent,
      ],
      expected: ["engine m-1 (k2) READY at http://127.0.0.1:40001"],
    },
    {
      situation: "stats sampled as the engine failed are dropped",
      events: [
        started,
        { type: "engine-status-changed", processKey: "k1", status: status("FAILED") },
        sampled,
      ],
      expected: ["engine m-1 (k1) FAILED"],
    },
    {
      situation: "the engine was stopped, and its last status (STOPPING) came after",
      events: [
        started,
        ready,
        { type: "engine-stopped", instanceId: id },
        { type: "engine-status-changed", processKey: "k1", status: status("STOPPING") },
      ],
      expected: [],
    },
    {
      situation: "the engine was restarted with a new plan",
      events: [
        started,
        ready,
        { type: "engine-stopped", instanceId: id },
        { ...started, processKey: "k2" } as LocalProcessEvent,
      ],
      expected: ["engine m-1 (k2) PLANNED"],
    },
    {
      situation: "a shard was started",
      events: [{ type: "shard-started", name: "m-1-s0", host: "127.0.0.1" }],
      expected: ["shard m-1-s0 on 127.0.0.1 starting"],
    },
    {
      situation: "the shard listens",
      events: [
        { type: "shard-started", name: "m-1-s0", host: "127.0.0.1" },
        { type: "shard-ready", name: "m-1-s0", port: 50052 },
      ],
      expected: ["shard m-1-s0 on 127.0.0.1:50052 ready"],
    },
    {
      situation: "the shard's RPC server died and is starting again",
      events: [
        { type: "shard-started", name: "m-1-s0", host: "127.0.0.1" },
        { type: "shard-ready", name: "m-1-s0", port: 50052 },
        { type: "shard-failed", name: "m-1-s0", reason: "killed" },
      ],
      expected: ["shard m-1-s0 on 127.0.0.1 starting"],
    },
    {
      situation: "a head connected to the shard, then the shard was stopped: its connection is still counted",
      events: [
        { type: "shard-started", name: "m-1-s0", host: "127.0.0.1" },
        { type: "shard-ready", name: "m-1-s0", port: 50052 },
        { type: "shard-connection-opened", name: "m-1-s0" },
        { type: "shard-stopped", name: "m-1-s0" },
      ],
      expected: ["shard m-1-s0: 1 connections"],
    },
    {
      situation: "the head let go of the stopped shard",
      events: [
        { type: "shard-connection-opened", name: "m-1-s0" },
        { type: "shard-connection-opened", name: "m-1-s0" },
        { type: "shard-connection-closed", name: "m-1-s0" },
        { type: "shard-connection-closed", name: "m-1-s0" },
      ],
      expected: [],
    },
    {
      situation: "a shard that is not running is neither ready nor stopped",
      events: [
        { type: "shard-ready", name: "m-1-s0", port: 50052 },
        { type: "shard-stopped", name: "m-1-s0" },
      ],
      expected: [],
    },
  ])("$situation", ({ events, expected }) => {
    expect(told(events.reduce(applyLocalEvent, noLocalProcesses))).toEqual(expected);
  });
});
