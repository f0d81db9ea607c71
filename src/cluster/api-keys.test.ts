import { describe, expect, it } from "vitest";
import { ApiKeyRecord, CreateApiKeyRequest, mergeApiKeys, revokedRecord } from "../protocol/api-keys.js";
import { apiKeysDigest, generateApiKey, matchApiKey } from "./api-key-secrets.js";

const make = (scope: "inference" | "admin" = "inference") =>
  generateApiKey(CreateApiKeyRequest.parse({ scope }));

describe("API keys", () => {
  it("store only a hash of a 256-bit secret", () => {
    const { record, secret } = make();
    expect(secret).toMatch(/^herd-[0-9a-f]{12}-[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(record)).not.toContain(secret.slice(18));
    expect(ApiKeyRecord.parse(record)).toEqual(record);
  });

  it("match the exact secret of a live key and nothing else", () => {
    const { record, secret } = make();
    const records = new Map([[record.id, record]]);
    expect(matchApiKey(records, secret)).toEqual(record);
    expect(matchApiKey(records, `${secret.slice(0, -1)}${secret.endsWith("A") ? "B" : "A"}`)).toBeUndefined();
    expect(matchApiKey(records, `${secret} `)).toBeUndefined();
    expect(matchApiKey(records, "")).toBeUndefined();
    expect(matchApiKey(new Map([[record.id, revokedRecord(record)]]), secret)).toBeUndefined();
  });

  it("merge to the same set in any order, revocation winning", () => {
    const a = make().record;
    const b = make("admin").record;
    const revokedA = revokedRecord(a);
    const orders = [
      [[a], [b], [revokedA]],
      [[revokedA], [a, b]],
      [[b, revokedA], [a]],
    ];
    const results = orders.map((steps) =>
      steps.reduce<ApiKeyRecord[]>((current, incoming) => mergeApiKeys(current, incoming).records, []),
    );
    for (const result of results) expect(result).toEqual(results[0]);
    expect(results[0]!.find((record) => record.id === a.id)?.revokedAt).toBeDefined();
    expect(apiKeysDigest(results[0]!)).toBe(apiKeysDigest([...results[0]!].reverse()));
    expect(apiKeysDigest([a, b])).not.toBe(apiKeysDigest([revokedA, b]));
    expect(mergeApiKeys([a, b], [a]).changed).toBe(false);
  });
});
