import { finished, Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { setTimeout as sleep } from "node:timers/promises";
import { ModelNotLoadedError, ModelUnavailableError } from "../protocol/errors.js";
import type { NodeId } from "../protocol/ids.js";
import { abortAfter, timeLimit } from "../util/abort-after.js";
import { everyWhile } from "../util/every-while.js";
import { currentRequest } from "../util/request-context.js";
import {
  type ContinuationChunk,
  type ContinuationPlan,
  continuationBody,
  continuationEvents,
  continuationPlan,
} from "./continuation-request.js";
import { type DispatchOptions, dispatch } from "./dispatch.js";
import type { EngineResponse } from "./forward-to-engine.js";
import { ReplySoFar } from "./reply-so-far.js";
import { wholeReply } from "./whole-reply.js";

/** How a node carries a reply over the loss of the instance that was generating it. */
export interface FailoverSettings {
  /** How long to wait for an instance of the model to be READY again (`--failover-timeout`). */
  timeoutMs: number;
  /** Written into the stream while it waits, so that clients and proxies keep it open. */
  keepAlive: string;
  /** Told of each continuation (metrics, the event stream). */
  onFailover?: (report: FailoverReport) => void;
}

export interface FailoverReport {
  outcome: "continued" | "failed";
  model: string;
  /** The request's id (its `x-request-id`), as the node's log names it. */
  requestId: string | undefined;
  /** The instance that was lost, and the nodes of it that are gone (none: only its engine stopped). */
  instanceId: string | undefined;
  lostNodes: string[];
  /** From the failure to the continuation's first answer (or to giving up). */
  pauseMs: number;
  reason?: string;
}

/** The engine's answer, with how many times it was continued on another instance so far. */
export interface ContinuedResponse extends EngineResponse {
  failovers?: () => number;
}

/** A reply is continued after at most this many failures: past that, the cluster fails faster than it answers. */
const maxContinuations = 2;

/** How often a stream waiting for its instance says it is alive (as `--autoload` does while loading). */
const keepAliveMs = 5_000;
/** How long the node's state may take to show an instance failed: a heartbeat, and some. */
const stateLagMs = 3_000;
/** A pause between tries while no instance can take the continuation: the state may not have moved yet. */
const retryPauseMs = 250;

/**
 * Like `dispatch`, but a streamed chat or text completion whose instance fails after the reply
 * started (the engine's connection reset, its stream cut short, its head gone) continues on an
 * instance that is READY again, token for token: see docs/stream-continuation.md. The client sees
 * one reply, with a pause. Requests that cannot be continued (another path, a constrained
 * generation, a request another node forwarded, whose sender continues it, a model or alias that
 * an upstream may answer) are dispatched as they are.
 */
export async function dispatchContinuing(
  options: DispatchOptions,
  failover: FailoverSettings | undefined,
): Promise<ContinuedResponse> {
  // Only herd's own engines are asked for token ids: an upstream would refuse the fields.
  const continuable =
    failover && !options.localOnly && !options.router.mayLeaveCluster(options.model, options.policy);
  const plan = continuable ? continuationPlan(options.path, options.body) : undefined;
  if (!failover || !plan) return dispatch(options);
  const first = await dispatch({ ...options, body: plan.engineBody });
  if (first.status !== 200) return first;
  // The request's id is taken now: the stream is read later, outside the request's async context.
  const state = { failovers: 0, requestId: currentRequest()?.requestId };
  const reply = continuedReply(options, failover, plan, first, state);
  if (plan.whole) {
    let text = "";
    for await (const chunk of reply) text += chunk;
    const body = Buffer.from(JSON.stringify(wholeReply(plan.path, text.split("\n\n"))));
    const headers = { ...first.headers, "content-type": "application/json; charset=utf-8" };
    return { status: 200, headers, body: Readable.from([body]), failovers: () => state.failovers };
  }
  return { ...first, body: reply, failovers: () => state.failovers };
}

/**
 * The reply as the client reads it, continued across failures. Each engine chunk is handled where
 * it arrives, in the engine stream's own `data` event, and pushed on at once: this runs for every
 * token, on a node whose cores the engine keeps busy, so no promise, generator or stream stage is
 * added per chunk (the steady state is one listener, as a pipe would be). Only a failure goes
 * through the asynchronous part (`continueReply`): waiting for an instance and opening the
 * continuation. The client going away (the reply destroyed) stops it and the engine stream it reads.
 * Exported for its tests; `dispatchContinuing` is the way in.
 */
export function continuedReply(
  options: DispatchOptions,
  failover: FailoverSettings,
  plan: ContinuationPlan,
  first: EngineResponse,
  state: { failovers: number; requestId: string | undefined },
): Readable {
  const reading: ReadingState = { body: first.body, paused: false, stopped: false, drain: undefined };
  const output = new Readable({
    read() {
      if (!reading.paused) return;
      reading.paused = false;
      reading.drain?.();
    },
    destroy(error, callback) {
      reading.stopped = true;
      reading.body.destroy();
      callback(error);
    },
  });
  const send = (bytes: Buffer) => {
    if (output.push(bytes) || reading.stopped) return;
    // The engine stream is read no further until the reply's reader asks (what arrives meanwhile
    // waits in its buffer, and past that in the kernel).
    reading.paused = true;
  };
  // The engine connection the reply reads now, for a writer that paces its reading (GatheringWriter).
  Object.defineProperty(output, "socket", { get: () => (reading.body as { socket?: unknown }).socket });
  continueReply(options, failover, plan, first, state, reading, send).then(
    () => output.push(null),
    (error: unknown) => output.destroy(error as Error),
  );
  return output;
}

/** The engine stream a reply reads now, and whether the client's side asked it to wait. */
interface ReadingState {
  body: Readable;
  /** The reply's reader is full: `body` is not read until it reads again. */
  paused: boolean;
  /** Reads what `body` holds now (see eachChunk): how a reader that asks again starts it. */
  drain: (() => void) | undefined;
  /** The reply was destroyed (the client went away). */
  stopped: boolean;
}

async function continueReply(
  options: DispatchOptions,
  failover: FailoverSettings,
  plan: ContinuationPlan,
  first: EngineResponse,
  state: { failovers: number; requestId: string | undefined },
  reading: ReadingState,
  send: (bytes: Buffer) => void,
): Promise<void> {
  const reply = new ReplySoFar({
    stopStrings: plan.stopStrings,
    textCompletion: plan.path === "/v1/completions",
  });
  let upstream = first;
  let instanceId = first.headers["x-herd-instance"];
  let continuation: { skip: string | undefined; carried: number } | undefined;
  /**
   * The failure being recovered from, with its deadline and the nodes it ran on. A continuation cut
   * again within the failover timeout of it is the same failure: the recovery may restart the
   * engine several times (a new plan when the node is suspected, again when it is gone) before the
   * instance stays READY. Each cut gets the whole timeout to find an instance.
   */
  let episode:
    | { startedAt: number; deadline: number; instanceId: string | undefined; nodes: NodeId[] }
    | undefined;
  let episodes = 0;
  /** When the reply last stopped sending. */
  let stoppedAt = 0;
  const report = (outcome: FailoverReport["outcome"], reason?: string) =>
    episode &&
    failover.onFailover?.({
      outcome,
      model: options.model,
      requestId: state.requestId,
      instanceId: episode.instanceId,
      lostNodes: options.router.nodesDown(episode.nodes),
      pauseMs: performance.now() - stoppedAt,
      ...(reason ? { reason } : {}),
    });
  for (;;) {
    let sent = false;
    reading.body = upstream.body;
    reading.paused = false;
    if (reading.stopped) upstream.body.destroy();
    // A continuation that answers but sends nothing until the deadline is as lost as its instance.
    const stall =
      continuation && episode
        ? setTimeout(() => upstream.body.destroy(), episode.deadline - Date.now())
        : undefined;
    const splitter = new SseSplitter();
    const outcome = await eachChunk(upstream.body, reading, (chunk) => {
      const events = splitter.push(chunk);
      if (events.length === 0) return;
      let out = "";
      for (const event of events) {
        const text = continuation ? continued(event, reply, plan, continuation) : reply.observe(event);
        if (text !== "") out += `${text}\n\n`;
      }
      if (continuation && continuation.skip === undefined) throw new DivergedError();
      if (out === "") return;
      if (!sent && continuation) {
        clearTimeout(stall);
        state.failovers += 1;
        report("continued");
      }
      sent = true;
      send(Buffer.from(out));
    });
    clearTimeout(stall);
    if (outcome instanceof DivergedError) {
      report("failed", "the continuation diverged");
      send(errorEvent("the continued reply differs from what was already sent", "failover_diverged"));
      return;
    }
    // Otherwise the stream ended, or the engine's connection broke: a failure, continued below.
    if (reply.complete || reply.failed || options.signal.aborted || reading.stopped) return;
    if (sent || !continuation) stoppedAt = performance.now();
    if (episode === undefined || Date.now() - episode.startedAt > failover.timeoutMs) {
      episodes += 1;
      // The nodes it ran on, before the recovery places it elsewhere: those gone are the ones lost.
      const nodes = options.router.instanceNodes(instanceId);
      episode = { startedAt: Date.now(), deadline: 0, instanceId, nodes };
    }
    episode.deadline = Date.now() + failover.timeoutMs;
    const current = episode as NonNullable<typeof episode>;
    const refusal =
      reply.unsupported || reply.shape === undefined
        ? "it had started a part that cannot be continued"
        : episodes > maxContinuations
          ? `it was continued ${maxContinuations} times already`
          : undefined;
    if (refusal) {
      report("failed", refusal);
      send(errorEvent(`the instance serving this reply stopped; ${refusal}`, "engine_interrupted"));
      return;
    }
    const resume = reply.resumePoint();
    let next: EngineResponse;
    try {
      const opening = openContinuation(options, plan, resume.tokens, current.deadline, instanceId);
      next = await everyWhile(opening, keepAliveMs, () => send(Buffer.from(failover.keepAlive)));
    } catch (error) {
      if (options.signal.aborted || reading.stopped) return;
      const lost = options.router.nodesDown(current.nodes);
      const gone = lost.length > 0 ? ` (node ${lost.join(", ")} is gone)` : "";
      const seconds = Math.round(failover.timeoutMs / 1000);
      report("failed", (error as Error).message);
      send(
        errorEvent(
          `the instance serving this reply stopped${gone} and no instance of '${options.model}' could continue it within ${seconds} s: ${(error as Error).message}`,
          "failover_timeout",
        ),
      );
      return;
    }
    reply.rewind();
    upstream = next;
    instanceId = next.headers["x-herd-instance"];
    continuation = { skip: resume.textAfter, carried: resume.tokens.length };
  }
}

/**
 * Hands what `body` has read to `take`, until the stream ends (resolves undefined), breaks (its
 * error), or `take` throws (that error; the stream is destroyed); not while `reading` is paused.
 *
 * The body is read as a whole, not chunk by chunk: llama-server sends each token as a chunk of its
 * own, so one read from the engine's connection (many tokens, where the reply's writer gathers them
 * and holds the connection meanwhile) would otherwise be handed on one token at a time, each through
 * every stage of the reply (its events split and observed, pushed, gathered), at a cost per token.
 * Read in paused mode, what one read of the connection brought is one buffer, handed on once.
 */
function eachChunk(
  body: Readable,
  reading: ReadingState,
  take: (chunk: Buffer | string) => void,
): Promise<unknown> {
  return new Promise((resolve) => {
    const done = (outcome: unknown) => {
      body.off("readable", drain);
      if (reading.drain === drain) reading.drain = undefined;
      stopWatching();
      resolve(outcome);
    };
    const drain = () => {
      try {
        while (!reading.paused) {
          const chunk = body.read() as Buffer | string | null;
          if (chunk === null) return;
          take(chunk);
        }
      } catch (error) {
        done(error);
        body.destroy();
      }
    };
    const stopWatching = finished(body, { writable: false }, (error) => done(error ?? undefined));
    reading.drain = drain;
    body.on("readable", drain);
  });
}

/** One continuation chunk: noted, its already-sent start skipped, reshaped as the reply's protocol. */
function continued(
  event: string,
  reply: ReplySoFar,
  plan: ContinuationPlan,
  continuation: { skip: string | undefined; carried: number },
): string {
  if (!event.startsWith("data: ")) return event;
  if (event === "data: [DONE]") {
    reply.complete = true;
    return event;
  }
  const chunk = JSON.parse(event.slice(6)) as ContinuationChunk & {
    error?: unknown;
    choices?: Array<{ logprobs?: { content?: [] } | null }>;
  };
  if (chunk.error) {
    if (event.includes('"engine_interrupted"')) return "";
    reply.failed = true;
    return event;
  }
  const choice = chunk.choices?.[0];
  let text = choice?.text ?? "";
  reply.noteText(text, choice?.logprobs?.content ?? []);
  const skip = continuation.skip ?? "";
  if (skip !== "") {
    const common = Math.min(skip.length, text.length);
    if (skip.slice(0, common) !== text.slice(0, common)) {
      continuation.skip = undefined;
      return "";
    }
    continuation.skip = skip.slice(common);
    text = text.slice(common);
  }
  if (!reply.shape) return "";
  return continuationEvents(plan, reply.shape, chunk, text, continuation.carried).join("\n\n");
}

/**
 * Asks an instance of the model to continue the reply, waiting (within the failover timeout) for
 * one to be READY: the router's own recovery wait, then the model's instances changing.
 */
async function openContinuation(
  options: DispatchOptions,
  plan: ContinuationPlan,
  tokens: number[],
  deadline: number,
  failed: string | undefined,
): Promise<EngineResponse> {
  // The deadline bounds finding an instance and its answer, not the continued stream after it.
  const opening = timeLimit(deadline - Date.now(), options.signal);
  const signal = opening.signal;
  if (failed) {
    // Until the node's state shows the failed instance down (its head's next heartbeat), it would
    // be routed there again; a failure the state never shows (a connection cut on its own) waits less.
    const shown = abortAfter(stateLagMs, signal);
    await options.router
      .instancesChanged(options.model, failed, { localOnly: false, signal: shown })
      .catch(() => {});
  }
  for (;;) {
    const retryForMs = Math.max(0, deadline - Date.now());
    const send = (path: string, body: unknown) =>
      dispatch({ ...options, path, body, signal, retryForMs, check: undefined });
    try {
      let templated: string | undefined;
      if (plan.path === "/v1/chat/completions") {
        const { stream: _stream, stream_options: _options, ...chat } = plan.engineBody;
        const answer = await send("/apply-template", chat);
        const text = await readAll(answer);
        if (answer.status !== 200) throw new Error(`the engine did not apply the chat template: ${text}`);
        templated = (JSON.parse(text) as { prompt: string }).prompt;
      }
      const response = await send("/v1/completions", continuationBody(plan, templated, tokens));
      if (response.status === 200) {
        opening.disarm();
        return response;
      }
      const text = await readAll(response);
      // A refusal (a prompt now over the context) would be refused again; anything else may pass.
      if (response.status >= 400 && response.status < 500) throw new RefusedError(text);
      throw new Error(`the engine answered ${response.status}: ${text}`);
    } catch (error) {
      if (error instanceof RefusedError || signal.aborted) throw error;
      // No instance now (the model is suspended, removed, or its head unreachable): until the
      // deadline, wait for one to be READY, and try again.
      const waiting = error instanceof ModelUnavailableError || error instanceof ModelNotLoadedError;
      if (waiting) await options.router.whenReady(options.model, signal).catch(() => {});
      if (signal.aborted) throw error;
      await sleep(retryPauseMs, undefined, { signal }).catch(() => {});
      if (signal.aborted) throw error;
    }
  }
}

async function readAll(response: EngineResponse): Promise<string> {
  let text = "";
  for await (const chunk of response.body) text += chunk;
  return text;
}

/**
 * Cuts a body's chunks into SSE events (llama-server writes `data: ...` lines, blank-line
 * separated); synchronous, as it runs for every token. What is left when the body ends is an event
 * cut off mid-way: the engine went away while writing it; it is dropped (a continuation resends its text).
 */
class SseSplitter {
  private readonly decoder = new StringDecoder("utf8");
  private pending = "";

  /** The events the chunk completes. */
  push(chunk: Buffer | string): string[] {
    this.pending += typeof chunk === "string" ? chunk : this.decoder.write(chunk);
    const events = this.pending.split("\n\n");
    this.pending = events.pop() ?? "";
    return events;
  }
}

const errorEvent = (message: string, code: string) =>
  Buffer.from(`data: ${JSON.stringify({ error: { message, type: "server_error", code } })}\n\n`);

class DivergedError extends Error {}

/** The engine refused the continuation itself: waiting would not change its answer. */
class RefusedError extends Error {
  constructor(text: string) {
    super(`the engine refused the continuation: ${text}`);
  }
}
