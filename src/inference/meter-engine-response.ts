import { decodeTokensPerSecond, timeToFirstToken } from "../util/request-metrics.js";
import type { EngineResponse } from "./forward-to-engine.js";

const speedPattern = /"predicted_per_second":\s*([0-9.eE+-]+)/;

/**
 * Records time to first token and decode speed for an engine's response, whatever reads it next
 * (a byte-for-byte pipe, or a protocol adapter iterating it). The chunks are observed where the
 * stream hands them out rather than through an extra stream in between: this is the token path,
 * and one more stream stage would cost every token. The engine reports its own decode speed in the
 * last chunk (`timings.predicted_per_second`), which is what is recorded.
 */
export function meterEngineResponse(response: EngineResponse, model: string, startedAt: number): void {
  if (response.status !== 200) return;
  const streaming = response.headers["content-type"]?.startsWith("text/event-stream") === true;
  const body = response.body;
  const emit = body.emit;
  let first = true;
  body.emit = function (this: typeof body, event: string | symbol, ...args: unknown[]): boolean {
    if (event === "data") {
      const chunk = args[0] as Buffer | string;
      if (first && streaming) timeToFirstToken.observe({ model }, (performance.now() - startedAt) / 1000);
      first = false;
      // Only the final chunk carries timings; a cheap byte search skips the rest.
      if (chunk.includes("predicted_per_second")) {
        const match = speedPattern.exec(chunk.toString());
        const speed = match ? Number(match[1]) : Number.NaN;
        if (Number.isFinite(speed) && speed > 0) decodeTokensPerSecond.observe({ model }, speed);
      }
    }
    return emit.call(this, event, ...args);
  } as typeof body.emit;
}
