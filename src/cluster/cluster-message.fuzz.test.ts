import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { CreateApiKeyRequest } from "../protocol/api-keys.js";
import { ClusterMessage } from "../protocol/cluster.js";
import { NodeId } from "../protocol/ids.js";
import { generateApiKey } from "./api-key-secrets.js";
import { parseClusterMessage } from "./peer-socket.js";
import { testNodeProfile } from "./test-node-profile.js";

const runs = Number(process.env.FUZZ_RUNS ?? 2000);
const timeout = Math.max(60_000, runs * 40);

const id = NodeId.parse("0b6f3c9e-3d1a-4d53-9a53-8f0f4f0a1b2c");
const introduction = { id, name: "a", joinedAt: 1, incarnation: "abc", endpoints: ["10.0.0.1:52416"] };
const profile = testNodeProfile({
  devices: [{ name: "CPU", description: "cpu" }],
  engine: { version: "1", backend: "cpu", rpc: true, rdma: false },
  addresses: ["10.0.0.1"],
});
const instance = {
  id: "m-1",
  model: "m",
  contextSize: 512,
  parallel: 1,
  embeddings: false,
  createdAt: "2024-01-01T00:00:00.000Z",
  node: id,
  plan: { head: id, splitMode: "layer", shards: [{ node: id, layerStart: 0, layerEnd: 4, fraction: 1 }] },
};

/** One valid message of every kind. */
const validMessages: ClusterMessage[] = [
  ClusterMessage.parse({ type: "hello", node: introduction, profile }),
  ClusterMessage.parse({
    type: "heartbeat",
    sequence: 3,
    members: [introduction],
    profile,
    links: [{ from: id, to: id, rttMs: 1, throughputBytesPerSecond: 1e6, measuredAt: 1 }],
    desiredEpoch: 2,
    instances: [{ id: "m-1", model: "m", node: id, state: "READY", reason: "serving", since: "now" }],
    models: ["m"],
    apiKeysDigest: "abc",
  }),
  ClusterMessage.parse({ type: "desired-state", state: { epoch: 2, writtenBy: id, instances: [instance] } }),
  ClusterMessage.parse({ type: "ping", id: 1, sentAt: 2.5 }),
  ClusterMessage.parse({ type: "pong", id: 1, sentAt: 2.5 }),
  ClusterMessage.parse({ type: "api-keys", keys: [generateApiKey(CreateApiKeyRequest.parse({})).record] }),
];

/** Every path to a value inside `value`. */
function paths(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (value === null || typeof value !== "object") return [prefix];
  const entries = Array.isArray(value)
    ? value.map((item, index) => [index, item] as const)
    : Object.entries(value);
  return [prefix, ...entries.flatMap(([key, item]) => paths(item, [...prefix, key]))];
}

/** `value` with the value at `path` replaced; unchanged when an earlier change removed that path. */
function replaceAt(value: unknown, path: Array<string | number>, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let target: unknown = copy;
  for (const key of path.slice(0, -1)) {
    if (target === null || typeof target !== "object") return value;
    target = (target as Record<string | number, unknown>)[key];
  }
  if (target === null || typeof target !== "object") return value;
  (target as Record<string | number, unknown>)[path.at(-1)!] = replacement;
  return copy;
}

const awkward = fc.oneof(
  fc.constantFrom(null, -1, 1e308, Number.MAX_SAFE_INTEGER + 2, "", "x".repeat(70_000), [], {}, true, "gone"),
  fc.jsonValue({ maxDepth: 3 }),
);

/** A valid message with one to three values anywhere inside it replaced. */
const mutatedMessage = fc
  .constantFrom(...validMessages)
  .chain((message) => {
    const all = paths(message);
    return fc
      .array(fc.tuple(fc.constantFrom(...all), awkward), { minLength: 1, maxLength: 3 })
      .map((changes) =>
        changes.reduce<unknown>((current, [path, value]) => replaceAt(current, path, value), message),
      );
  })
  .map((message) => Buffer.from(JSON.stringify(message)));

const frames = fc.oneof(
  fc.uint8Array({ maxLength: 1024 }).map((bytes) => Buffer.from(bytes)),
  fc.jsonValue({ maxDepth: 6 }).map((value) => Buffer.from(JSON.stringify(value))),
  mutatedMessage,
  mutatedMessage,
  mutatedMessage,
);

describe("parseClusterMessage", () => {
  it("accepts every valid message", () => {
    for (const message of validMessages) {
      expect(parseClusterMessage(Buffer.from(JSON.stringify(message)))).toEqual(message);
    }
  });

  it(
    "returns a valid message or throws a parse error for any frame, never anything else",
    () => {
      fc.assert(
        fc.property(frames, (frame) => {
          let parsed: ClusterMessage;
          try {
            parsed = parseClusterMessage(frame);
          } catch (error) {
            expect(error instanceof SyntaxError || error instanceof ZodError, String(error)).toBe(true);
            return;
          }
          expect(ClusterMessage.parse(parsed)).toEqual(parsed);
        }),
        { numRuns: runs * 4 },
      );
    },
    timeout,
  );

  it("refuses a frame of deeply nested JSON at the size limit quickly", () => {
    const depth = 4 * 1024 * 1024;
    const frame = Buffer.from(`${"[".repeat(depth)}${"]".repeat(depth)}`);
    const started = performance.now();
    expect(() => parseClusterMessage(frame)).toThrow();
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
