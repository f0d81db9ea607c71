/**
 * The one request type and the one stream-part type every protocol adapter works with. A request is
 * an OpenAI chat-completions body, which is what the engine (llama-server) serves and what another
 * node's API forwards unchanged; the engine's answer becomes a sequence of stream parts that each
 * adapter turns into its own protocol.
 */

/** An OpenAI chat-completions (or, for raw prompts, completions) request as the engine takes it. */
export type EngineRequest = { model: string; [field: string]: unknown };

/**
 * The engine path a request goes to: chat, a plain completion of a raw prompt, or llama-server's
 * fill-in-the-middle (`/infill`, whose answer is in llama-server's own shape, not OpenAI's).
 */
export type EnginePath = "/v1/chat/completions" | "/v1/completions" | "/infill";

export type FinishReason = "stop" | "length" | "tool-calls";

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** Of the prompt's tokens, those the engine found in its cache, where it says. */
  cachedPromptTokens?: number;
}

/** herd's own measures of one request; durations in milliseconds. */
export interface Timing {
  /** From the request's arrival to the first generated token. */
  timeToFirstTokenMs: number;
  /** Decode speed as the engine measured it (0 when nothing was generated). */
  tokensPerSecond: number;
  /** The engine's time to read the prompt, and to generate. */
  promptMs: number;
  generationMs: number;
  /** From the request's arrival to the end of the answer. */
  totalMs: number;
  /** Of which spent waiting for the model to load (`--autoload`). */
  loadMs: number;
}

export type StreamPart =
  | { type: "text-delta"; text: string }
  | { type: "reasoning-delta"; text: string }
  | { type: "tool-call-start"; index: number; id: string; name: string }
  | { type: "tool-call-delta"; index: number; argumentsDelta: string }
  /**
   * The engine began reading the prompt, whose length in tokens it now knows; before any text.
   * Only an engine asked for it (llama-server's `return_progress`) says so.
   */
  | { type: "prompt-start"; promptTokens: number }
  | {
      type: "finish";
      reason: FinishReason;
      usage: Usage;
      timing: Timing;
      /** The stop string that ended the answer (reason `stop`), when the engine was asked to name it. */
      stopSequence?: string;
    }
  /** Nothing yet (a model is loading); protocols that can, tell the client the stream is alive. */
  | { type: "keep-alive" };
