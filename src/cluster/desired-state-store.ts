import { join } from "node:path";
import { DesiredState, isNewerDesiredState } from "../protocol/cluster.js";
import { readJsonFile, writeJsonAtomic } from "../util/json-file.js";

const empty: DesiredState = { epoch: 0, writtenBy: null, instances: [], upstreams: [], routes: {} };

/**
 * The cluster's desired state as this node last saw it, persisted in `state/desired.json` so that a
 * full restart brings the same instances back and a new coordinator continues where the old one
 * stopped. Only newer epochs are accepted.
 */
export class DesiredStateStore {
  private current: DesiredState = empty;
  private readonly path: string;
  private writing: Promise<void> = Promise.resolve();

  constructor(stateDirectory: string) {
    this.path = join(stateDirectory, "desired.json");
  }

  async load(): Promise<DesiredState> {
    this.current = (await readJsonFile(this.path, DesiredState)) ?? empty;
    return this.current;
  }

  get state(): DesiredState {
    return this.current;
  }

  /** Adopts `candidate` if it is newer; returns whether it was. */
  async offer(candidate: DesiredState): Promise<boolean> {
    if (!isNewerDesiredState(candidate, this.current)) return false;
    this.current = candidate;
    await this.persist();
    return true;
  }

  /** Writes a new epoch (coordinator only); `change` returns the new state's content. */
  async write(
    change: (state: DesiredState) => Omit<DesiredState, "epoch" | "writtenBy">,
    writer: DesiredState["writtenBy"],
  ): Promise<DesiredState> {
    const next: DesiredState = {
      ...change(this.current),
      epoch: this.current.epoch + 1,
      writtenBy: writer,
    };
    this.current = DesiredState.parse(next);
    await this.persist();
    return this.current;
  }

  private persist(): Promise<void> {
    const snapshot = this.current;
    // Writes are queued so that an older state never lands after a newer one.
    const write = this.writing.then(() => writeJsonAtomic(this.path, snapshot));
    // One failed write (a full disk) must not fail every later one: the next starts afresh.
    this.writing = write.catch(() => undefined);
    return write;
  }
}
