import type { Timing } from "./chat/stream-part.js";

/**
 * herd's per-request timings as HTTP fields: response headers for answers that are not streamed,
 * trailers for streamed ones (whose headers leave before the first token).
 */
export const timingFieldNames = ["x-herd-time-to-first-token-ms", "x-herd-tokens-per-second"];

export function timingFields(timing: Timing): Record<string, string> {
  return {
    "x-herd-time-to-first-token-ms": timing.timeToFirstTokenMs.toFixed(1),
    "x-herd-tokens-per-second": timing.tokensPerSecond.toFixed(2),
  };
}

/** How many times a reply was continued on another instance after its own failed (see docs/stream-continuation.md). */
export const failoversFieldName = "x-herd-failovers";

/** The field for a reply that continuation followed, or none. */
export function failoverFields(failovers: (() => number) | undefined): Record<string, string> {
  return failovers ? { [failoversFieldName]: String(failovers()) } : {};
}
