/**
 * Calls `tick` every `intervalMs` until `work` settles, and returns what `work` returns (or throws
 * what it throws): a stream's keep-alive while it waits for a model to load or an instance to
 * continue on.
 */
export async function everyWhile<T>(work: Promise<T>, intervalMs: number, tick: () => void): Promise<T> {
  const timer = setInterval(tick, intervalMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
