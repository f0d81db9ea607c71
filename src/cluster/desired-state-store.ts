import { join } from "node:path";
import { DesiredState } from "../protocol/cluster.js";
import { readJsonFile, writeJsonAtomic } from "../util/json-file.js";
import { emptyDesiredState } from "./node-state.js";

/**
 * The cluster's desired state on disk, `state/desired.json`, so that a full restart brings the same
 * instances back and a new coordinator continues where the old one stopped. The state itself lives
 * in `NodeState`; this only reads and writes it.
 */
export class DesiredStateStore {
  private readonly path: string;
  private writing: Promise<void> = Promise.resolve();

  constructor(stateDirectory: string) {
    this.path = join(stateDirectory, "desired.json");
  }

  /** The state last saved, or the empty one. */
  async load(): Promise<DesiredState> {
    return (await readJsonFile(this.path, DesiredState)) ?? emptyDesiredState;
  }

  save(state: DesiredState): Promise<void> {
    // Writes are queued so that an older state never lands after a newer one.
    const write = this.writing.then(() => writeJsonAtomic(this.path, state));
    // One failed write (a full disk) must not fail every later one: the next starts afresh.
    this.writing = write.catch(() => undefined);
    return write;
  }
}
