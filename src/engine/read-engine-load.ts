import type { EngineEndpoint } from "./llama-server-supervisor.js";

/** How busy an engine is right now, from its own metrics. */
export interface EngineLoad {
  /** Slots generating or reading a prompt. */
  slotsInUse: number;
  /** Requests the engine has accepted but no slot is free for yet. */
  queued: number;
}

/** Reads an engine's load from its `/metrics` (herd starts every llama-server with `--metrics`). */
export async function readEngineLoad(
  endpoint: EngineEndpoint,
  timeoutMs = 1000,
): Promise<EngineLoad | undefined> {
  try {
    const response = await fetch(`${endpoint.baseUrl}/metrics`, {
      headers: { authorization: `Bearer ${endpoint.apiKey}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) {
      await response.body?.cancel();
      return undefined;
    }
    const text = await response.text();
    const value = (name: string) => Number(new RegExp(`^llamacpp:${name} (\\S+)$`, "m").exec(text)?.[1]);
    const slotsInUse = value("requests_processing");
    const queued = value("requests_deferred");
    return Number.isFinite(slotsInUse) && Number.isFinite(queued) ? { slotsInUse, queued } : undefined;
  } catch {
    // A busy or restarting engine: its gauges are left out of this scrape rather than made up.
    return undefined;
  }
}
