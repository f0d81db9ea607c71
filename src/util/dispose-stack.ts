/**
 * The clean-ups of one process, in one ordered stack: each part registers its `dispose` as it
 * starts, and `dispose()` runs them in reverse. A start that fails part-way and a normal shutdown
 * unwind the same way, and nothing that started is left running.
 *
 * @example
 * const stack = new DisposeStack((name, error) => logger.warn({ err: error }, `${name} did not stop`));
 * const cluster = stack.use("cluster", await startCluster());
 * stack.defer("refresh", () => clearInterval(timer));
 * await stack.dispose(); // refresh, then cluster
 */
export class DisposeStack {
  private readonly entries: Array<{ name: string; dispose: () => unknown }> = [];
  private disposing: Promise<void> | undefined;

  /** `onError` hears of a clean-up that failed; the ones after it still run. */
  constructor(private readonly onError: (name: string, error: unknown) => void) {}

  /** Registers a clean-up to run before every one registered earlier. */
  defer(name: string, dispose: () => unknown): void {
    if (this.disposing) throw new Error(`'${name}' started while its owner was stopping`);
    this.entries.push({ name, dispose });
  }

  /** Registers `part`'s own `dispose` and returns the part. */
  use<T extends { dispose(): unknown }>(name: string, part: T): T {
    this.defer(name, () => part.dispose());
    return part;
  }

  /** Runs every clean-up, the last registered first; safe to call twice. */
  dispose(): Promise<void> {
    this.disposing ??= (async () => {
      for (const entry of [...this.entries].reverse()) {
        try {
          await entry.dispose();
        } catch (error) {
          // One part that fails to stop must not leave the parts started before it running.
          this.onError(entry.name, error);
        }
      }
    })();
    return this.disposing;
  }
}
