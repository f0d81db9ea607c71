/**
 * Holds one immutable state that changes only through a reducer, and tells subscribers of each
 * change. Code that waits for a condition awaits it (`waitFor`) instead of polling.
 *
 * @example
 * const store = new StateStore(initialNodeState(id), applyEvent);
 * store.apply({ type: "clock-ticked", at: Date.now() });
 * await store.waitFor((state) => state.coordinator !== null, signal);
 */
export class StateStore<State, Event> {
  private readonly target = new EventTarget();

  constructor(
    private state: State,
    private readonly reduce: (state: State, event: Event) => State,
  ) {}

  get current(): State {
    return this.state;
  }

  /** Applies `event`; returns the states before and after it. */
  apply(event: Event): { before: State; after: State } {
    const before = this.state;
    this.state = this.reduce(before, event);
    if (this.state !== before) this.target.dispatchEvent(new Event("change"));
    return { before, after: this.state };
  }

  /** Calls `listener` with each new state until `signal` aborts or the returned function is called. */
  subscribe(listener: (state: State) => void, signal?: AbortSignal): () => void {
    const onChange = () => listener(this.state);
    this.target.addEventListener("change", onChange, { signal });
    return () => this.target.removeEventListener("change", onChange);
  }

  /** The first state (this one or a later one) for which `predicate` holds; rejects when `signal` aborts. */
  waitFor(predicate: (state: State) => boolean, signal?: AbortSignal): Promise<State> {
    if (predicate(this.state)) return Promise.resolve(this.state);
    return new Promise((resolve, reject) => {
      signal?.throwIfAborted();
      const done = new AbortController();
      const onAbort = () => {
        done.abort();
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true, signal: done.signal });
      this.subscribe((state) => {
        if (!predicate(state)) return;
        done.abort();
        resolve(state);
      }, done.signal);
    });
  }
}
