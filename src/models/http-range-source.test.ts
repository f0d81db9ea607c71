import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestHub } from "../../test/support/test-hub.js";
import { HubClient } from "./hub-client.js";

const repository = "test-org/ranges-GGUF";
const path = "model-Q4_0.gguf";
const data = randomBytes(3 * 1024 * 1024 + 5);

async function read(body: AsyncIterable<Uint8Array | Uint8Array[]>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const piece of body)
    for (const chunk of Array.isArray(piece) ? piece : [piece]) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

describe("httpRangeSource", () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await new TestHub().start();
    await hub.addRepository(repository, [{ path, data }]);
  });
  afterAll(() => hub.close());

  it("follows the hub's redirect once, then reads ranges from the CDN link it led to", async () => {
    const source = new HubClient({ endpoint: hub.endpoint }).rangeSource(repository, "main", path);
    const signal = new AbortController().signal;
    const before = hub.resolved;
    try {
      expect((await read(await source.open(0, 1000, signal))).equals(data.subarray(0, 1000))).toBe(true);
      const rest = await read(await source.open(1000, data.length, signal));
      expect(rest.equals(data.subarray(1000))).toBe(true);
      expect(hub.resolved - before).toBe(1);
    } finally {
      source.close();
    }
  });

  it("asks the hub again when the CDN link it remembered has expired", async () => {
    const source = new HubClient({ endpoint: hub.endpoint }).rangeSource(repository, "main", path);
    const signal = new AbortController().signal;
    const before = hub.resolved;
    try {
      await read(await source.open(0, 10, signal));
      hub.expireLinks();
      const range = await read(await source.open(2_000_000, 2_500_000, signal));
      expect(range.equals(data.subarray(2_000_000, 2_500_000))).toBe(true);
      expect(hub.resolved - before).toBe(2);
    } finally {
      source.close();
    }
  });
});
