import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { z } from "zod";
import type { ApiKeyRecord, CreateApiKeyRequest } from "../protocol/api-keys.js";

// The parts of API keys that need a CPU's cryptography: kept out of protocol/, which browsers import too.

const secretPattern = /^herd-([0-9a-f]{12})-[A-Za-z0-9_-]{43}$/;

/** A new key: `herd-<id>-<256 random bits>`, and the record that stores only its hash. */
export function generateApiKey(request: z.output<typeof CreateApiKeyRequest>): {
  record: ApiKeyRecord;
  secret: string;
} {
  const id = randomBytes(6).toString("hex");
  const secret = `herd-${id}-${randomBytes(32).toString("base64url")}`;
  return {
    secret,
    record: {
      id,
      name: request.name ?? id,
      scope: request.scope,
      hash: hashSecret(secret),
      createdAt: new Date().toISOString(),
      requestsPerMinute: request.requestsPerMinute,
      tokensPerMinute: request.tokensPerMinute,
      policy: request.policy,
    },
  };
}

function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** The live record `secret` belongs to, compared in constant time; undefined for anything else. */
export function matchApiKey(
  records: ReadonlyMap<string, ApiKeyRecord>,
  secret: string,
): ApiKeyRecord | undefined {
  const id = secretPattern.exec(secret)?.[1];
  const record = id === undefined ? undefined : records.get(id);
  if (!record || record.revokedAt !== undefined || record.hash === "") return undefined;
  const presented = Buffer.from(hashSecret(secret), "hex");
  return timingSafeEqual(presented, Buffer.from(record.hash, "hex")) ? record : undefined;
}

/** A short fingerprint of a key set, carried in heartbeats so peers notice when theirs differ. */
export function apiKeysDigest(records: readonly ApiKeyRecord[]): string {
  const hash = createHash("sha256");
  for (const record of [...records].sort((a, b) => a.id.localeCompare(b.id))) {
    hash.update(`${record.id}:${record.revokedAt ?? ""}\n`);
  }
  return hash.digest("base64url").slice(0, 22);
}
