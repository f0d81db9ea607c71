import { join } from "node:path";
import { z } from "zod";
import {
  type ApiKeyRecord,
  ApiKeyRecords,
  type CreateApiKeyRequest,
  CreateApiKeyRequest as CreateApiKeySchema,
  type CreatedApiKey,
  mergeApiKeys,
  revokedRecord,
  toApiKeyView,
} from "../protocol/api-keys.js";
import { NotFoundError } from "../protocol/errors.js";
import { readJsonFile, writeJsonAtomic } from "../util/json-file.js";
import { generateApiKey, matchApiKey } from "./api-key-secrets.js";

const ApiKeysFile = z.object({ keys: ApiKeyRecords });

/**
 * The cluster's API keys as this node knows them, in `state/api-keys.json` (mode 0600, hashes only).
 * Every node holds the same set: changes made here are passed to peers (`onChange`), and sets
 * received from peers are merged (see `mergeApiKeys`), so a key works on every node and a node that
 * joins later learns every key and every revocation.
 */
export class ApiKeyStore {
  private records = new Map<string, ApiKeyRecord>();
  private readonly listeners = new Set<(records: ApiKeyRecord[]) => void>();
  private writing: Promise<void> = Promise.resolve();
  readonly path: string;

  constructor(stateDirectory: string) {
    this.path = join(stateDirectory, "api-keys.json");
  }

  async load(): Promise<this> {
    const file = await readJsonFile(this.path, ApiKeysFile);
    this.records = new Map((file?.keys ?? []).map((record) => [record.id, record]));
    return this;
  }

  list(): ApiKeyRecord[] {
    return [...this.records.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Whether any key can still be used: then every request must carry one. */
  get hasActiveKeys(): boolean {
    for (const record of this.records.values()) if (record.revokedAt === undefined) return true;
    return false;
  }

  /** The live key `secret` belongs to, if any. */
  verify(secret: string): ApiKeyRecord | undefined {
    return matchApiKey(this.records, secret);
  }

  async create(request: CreateApiKeyRequest): Promise<CreatedApiKey> {
    const { record, secret } = generateApiKey(CreateApiKeySchema.parse(request));
    await this.merge([record]);
    return { key: toApiKeyView(record), secret };
  }

  async revoke(id: string): Promise<ApiKeyRecord> {
    const record = this.records.get(id);
    if (!record) throw new NotFoundError(`no API key with id '${id}' (see 'herd keys list')`);
    const revoked = revokedRecord(record);
    await this.merge([revoked]);
    return revoked;
  }

  /** Merges records from a peer (or made here); persists and tells listeners when anything changed. */
  async merge(incoming: readonly ApiKeyRecord[]): Promise<boolean> {
    const { records, changed } = mergeApiKeys(this.list(), incoming);
    if (!changed) return false;
    this.records = new Map(records.map((record) => [record.id, record]));
    const snapshot = { keys: records };
    // Queued so that an older set never lands after a newer one.
    this.writing = this.writing.then(() => writeJsonAtomic(this.path, snapshot));
    await this.writing;
    for (const listener of this.listeners) listener(records);
    return true;
  }

  onChange(listener: (records: ApiKeyRecord[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
