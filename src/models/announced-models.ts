import type { ModelStore } from "./model-store.js";

/**
 * The model names heartbeats announce, so the coordinator knows which nodes can head which model: a
 * corrupt copy is not announced (no head is placed on it, no peer copies it), but `herd health` says so.
 */
export class AnnouncedModels {
  /** Stored models whose copy is not known to be corrupt. */
  names: string[] = [];
  /** Stored models whose copy failed verification. */
  corrupt: string[] = [];

  constructor(private readonly store: ModelStore) {}

  /** Reads the store again; the lists stay as they were until it answers. */
  async refresh(): Promise<void> {
    const list = await this.store.list();
    this.names = list.filter((model) => model.verification?.state !== "corrupt").map((model) => model.name);
    this.corrupt = list.filter((model) => model.verification?.state === "corrupt").map((model) => model.name);
  }
}
