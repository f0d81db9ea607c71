import { type FSWatcher, watch } from "node:fs";
import { sep } from "node:path";
import type { ModelStore } from "./model-store.js";

/** How long the store must be quiet before it is read again: a model arrives as several writes. */
const settleMs = 150;

/**
 * The model names heartbeats announce, so the coordinator knows which nodes can head which model: a
 * corrupt copy is not announced (no head is placed on it, no peer copies it), but `herd health` says so.
 */
export class AnnouncedModels {
  /** Stored models whose copy is not known to be corrupt. */
  names: string[] = [];
  /** Stored models whose copy failed verification. */
  corrupt: string[] = [];
  private watcher: FSWatcher | undefined;
  private settle: NodeJS.Timeout | undefined;

  constructor(private readonly store: ModelStore) {}

  /** Reads the store again; the lists stay as they were until it answers. */
  async refresh(): Promise<void> {
    const list = await this.store.list();
    this.names = list.filter((model) => model.verification?.state !== "corrupt").map((model) => model.name);
    this.corrupt = list.filter((model) => model.verification?.state === "corrupt").map((model) => model.name);
  }

  /**
   * Reads the store again whenever it changes on disk: another process (`herd models import` with
   * no node to ask, a user deleting a folder) may change it under the node. Downloads in progress
   * are left out; the model appears when its profile is written.
   */
  follow(onError: (error: Error) => void): void {
    this.watcher = watch(this.store.directory, { recursive: true }, (_event, file) => {
      if (file?.startsWith(`.downloads${sep}`) || file === ".downloads") return;
      this.changed(onError);
    });
    // Node's recursive watcher lists each folder that changes (on Linux, in JavaScript): a folder
    // removed before it is listed, as `herd models remove` in another process does, surfaces as
    // ENOENT. That is a change to read, not a failure to follow the store.
    this.watcher.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") this.changed(onError);
      else onError(error);
    });
  }

  private changed(onError: (error: Error) => void): void {
    clearTimeout(this.settle);
    this.settle = setTimeout(() => void this.refresh().catch(onError), settleMs);
  }

  dispose(): void {
    this.watcher?.close();
    clearTimeout(this.settle);
  }
}
