import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";

/** What herd knows about the request being served, wherever in the code it is being served. */
export interface RequestContext {
  /** Follows the request across nodes (`x-request-id`) and into every log line written for it. */
  readonly requestId: string;
  /** The model the request was routed to, once it was (a label for metrics and logs). */
  model?: string;
  /** The answer had started and was cut by the engine going away (it ended with an error event). */
  interrupted?: boolean;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `work` with `context` as the current request's. */
export function runWithRequestContext<T>(context: RequestContext, work: () => T): T {
  return storage.run(context, work);
}

/**
 * Runs `work` outside any request: for processes and loops that a request starts but that outlive
 * it (an engine's supervisor), so their log lines do not carry that request's id forever.
 */
export function outsideRequest<T>(work: () => T): T {
  return storage.exit(work);
}

/** The request being served, if any (undefined in background work such as heartbeats). */
export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}

/** Header values accepted as a request id: short, printable, no spaces (they end up in logs). */
const acceptable = /^[A-Za-z0-9._:/+=-]{1,128}$/;

/** The caller's `x-request-id` when it is a sensible one, otherwise a fresh id. */
export function requestIdFrom(header: string | undefined): string {
  return header !== undefined && acceptable.test(header) ? header : randomUUID();
}
