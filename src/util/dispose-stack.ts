/**
 * Collects cleanup steps and runs them once, in reverse order, even when some fail. Every
 * long-lived object owns one so that `dispose()` is safe to call twice and leaves no child behind.
 */
export class DisposeStack {
  private readonly steps: Array<() => unknown> = [];
  private disposing: Promise<void> | null = null;

  /** Adds a cleanup step; runs immediately if the stack is already disposed. */
  defer(step: () => unknown): void {
    if (this.disposing) {
      void Promise.resolve().then(step);
      return;
    }
    this.steps.push(step);
  }

  get disposed(): boolean {
    return this.disposing !== null;
  }

  dispose(): Promise<void> {
    this.disposing ??= (async () => {
      const errors: unknown[] = [];
      for (const step of this.steps.reverse()) {
        try {
          await step();
        } catch (error) {
          errors.push(error);
        }
      }
      this.steps.length = 0;
      if (errors.length === 1) throw errors[0];
      if (errors.length > 1) throw new AggregateError(errors, "several cleanup steps failed");
    })();
    return this.disposing;
  }
}
