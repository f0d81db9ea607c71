import { z } from "zod";
import { RequestPolicy } from "./upstream.js";

/** `inference`: the model APIs only; `admin`: also herd's management API (load, unload, keys...). */
export const ApiKeyScope = z.enum(["inference", "admin"]);
export type ApiKeyScope = z.infer<typeof ApiKeyScope>;

/** Requests a minute a new key may make unless `--rpm` says otherwise. */
export const defaultRequestsPerMinute = 600;
/** Tokens (prompt and generated) a minute a new key may use unless `--tpm` says otherwise. */
export const defaultTokensPerMinute = 1_000_000;

/**
 * One API key as every node keeps it: never the secret, only its SHA-256. A revoked key keeps its
 * record (without the hash) so that a node that still has the old record learns of the revocation.
 */
export const ApiKeyRecord = z.object({
  id: z.string().regex(/^[0-9a-f]{12}$/),
  name: z.string().max(128),
  scope: ApiKeyScope,
  /** hex SHA-256 of the whole secret; empty once revoked. */
  hash: z.string().regex(/^([0-9a-f]{64})?$/),
  createdAt: z.string().max(40),
  requestsPerMinute: z.number().int().nonnegative(),
  tokensPerMinute: z.number().int().nonnegative(),
  /** `local-only`: no request made with this key leaves the cluster (no upstream), whatever a route says. */
  policy: RequestPolicy.default("any"),
  revokedAt: z.string().max(40).optional(),
});
export type ApiKeyRecord = z.infer<typeof ApiKeyRecord>;

export const ApiKeyRecords = z.array(ApiKeyRecord).max(10_000);

/** A key as the API and CLI show it: everything but the hash. */
export type ApiKeyView = Omit<ApiKeyRecord, "hash">;

/** `POST /herd/v1/keys`. A limit of 0 means unlimited. */
export const CreateApiKeyRequest = z.object({
  name: z.string().min(1).max(128).optional(),
  scope: ApiKeyScope.default("inference"),
  requestsPerMinute: z.number().int().nonnegative().max(1e9).default(defaultRequestsPerMinute),
  tokensPerMinute: z.number().int().nonnegative().max(1e12).default(defaultTokensPerMinute),
  policy: RequestPolicy.default("any"),
});
export type CreateApiKeyRequest = z.input<typeof CreateApiKeyRequest>;

/** What creating a key returns: the secret, shown this once. */
export interface CreatedApiKey {
  key: ApiKeyView;
  secret: string;
}

/**
 * Merges two sets of keys. Keys are only ever added or revoked, so the union with "revoked wins"
 * gives every node the same set whatever order the changes reach it in, and a node that was
 * offline (or created keys before it joined) converges without a coordinator.
 */
export function mergeApiKeys(current: readonly ApiKeyRecord[], incoming: readonly ApiKeyRecord[]) {
  const merged = new Map(current.map((record) => [record.id, record]));
  let changed = false;
  for (const record of incoming) {
    const known = merged.get(record.id);
    if (!known || (known.revokedAt === undefined && record.revokedAt !== undefined)) {
      merged.set(record.id, record);
      changed = true;
    }
  }
  return { records: [...merged.values()].sort((a, b) => a.id.localeCompare(b.id)), changed };
}

/** A record without its hash. */
export function toApiKeyView({ hash: _hash, ...view }: ApiKeyRecord): ApiKeyView {
  return view;
}

/** Revokes a record: it keeps its id (so the revocation travels) and loses its hash. */
export function revokedRecord(record: ApiKeyRecord, at = new Date()): ApiKeyRecord {
  return { ...record, hash: "", revokedAt: record.revokedAt ?? at.toISOString() };
}
