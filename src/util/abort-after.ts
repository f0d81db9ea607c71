/**
 * A signal that aborts after `ms` (with a `TimeoutError`, as `AbortSignal.timeout`'s does) or as
 * soon as one of `signals` aborts (with its reason), whichever comes first.
 *
 * Not `AbortSignal.any([signal, AbortSignal.timeout(ms)])`: Node holds a timeout signal only weakly
 * (its timer must not keep it alive), and a signal made by `AbortSignal.any` does not keep its
 * sources alive either, so once the garbage collector has run, the timeout is gone and the wait it
 * bounds never ends (nodejs/node#57736, so still in Node 20.20). Here the timer holds the controller
 * until it fires or the signal aborts; either clears the other, and the listeners on `signals` go
 * with the abort.
 *
 * @example
 * await store.waitFor(isReady, abortAfter(15_000, request.signal));
 */
export function abortAfter(ms: number, ...signals: Array<AbortSignal | undefined>): AbortSignal {
  return timeLimit(ms, ...signals).signal;
}

/**
 * `abortAfter`, with a way to take the time limit back: `disarm()` stops the timer, and the signal
 * then aborts only with one of `signals`. For a request whose opening the limit bounds but not what
 * follows (a stream that may run for minutes once it has answered).
 */
export function timeLimit(
  ms: number,
  ...signals: Array<AbortSignal | undefined>
): { signal: AbortSignal; disarm(): void } {
  const already = signals.find((signal) => signal?.aborted);
  if (already) return { signal: AbortSignal.abort(already.reason), disarm: () => {} };
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError")),
    Math.max(0, ms),
  );
  // Like AbortSignal.timeout's, the timer does not keep the process running by itself.
  timer.unref();
  controller.signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
  for (const signal of signals) {
    signal?.addEventListener("abort", () => controller.abort(signal.reason), {
      once: true,
      signal: controller.signal,
    });
  }
  return { signal: controller.signal, disarm: () => clearTimeout(timer) };
}
