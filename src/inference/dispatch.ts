import { ModelUnavailableError } from "../protocol/errors.js";
import type { RequestPolicy } from "../protocol/upstream.js";
import { abortAfter } from "../util/abort-after.js";
import { currentRequest } from "../util/request-context.js";
import { answerAsAlias } from "./answer-as-alias.js";
import { conversationKey } from "./conversation-key.js";
import { type EngineResponse, forwardToEngine } from "./forward-to-engine.js";
import { forwardToUpstream } from "./forward-to-upstream.js";
import { meterEngineResponse } from "./meter-engine-response.js";
import type { LocalRoute, RemoteRoute, Router } from "./router.js";

export interface DispatchOptions {
  router: Router;
  model: string;
  /** The API path, the same on the engine and on another node. */
  path: string;
  body: unknown;
  signal: AbortSignal;
  /** Served here or not at all (a request another node forwarded). */
  localOnly: boolean;
  /** `local-only`: the request never leaves the cluster (from its header or its API key). Default `any`. */
  policy: RequestPolicy;
  /** Refuses a local route that cannot serve this request (e.g. no embeddings); must release it. */
  check?: (route: LocalRoute) => void;
  forwardToNode: (
    route: RemoteRoute,
    path: string,
    body: unknown,
    signal: AbortSignal,
  ) => Promise<EngineResponse>;
  /** How long to keep trying while the instance recovers. */
  retryForMs: number;
}

/** The pause before a request is routed again with no change in the cluster: doubling from first to most. */
const retryPauseMs = { first: 250, most: 2000 };

/**
 * Sends a request to an instance of its model, here or on the node that heads it. An engine that
 * cannot be reached before anything was sent (it crashed, or its node is being replaced) costs the
 * client nothing yet, so the request is routed again, once the node's state shows that instance down
 * or another one up, until an instance answers or the recovery window closes.
 */
export async function dispatch(options: DispatchOptions): Promise<EngineResponse> {
  const deadline = Date.now() + options.retryForMs;
  const startedAt = performance.now();
  const affinityKey = conversationKey(options.body);
  let attempt = 0;
  for (;;) {
    const route = await options.router.routeOrWait(options.model, {
      localOnly: options.localOnly,
      policy: options.policy,
      affinityKey,
      signal: options.signal,
    });
    // The model exists and is served: from here on it labels the request's metrics and logs.
    const request = currentRequest();
    if (request) request.model = options.model;
    // A request for an alias: the entry's node serves the entry, and the client hears of the alias.
    const served = route.servedModel;
    const answer = (response: EngineResponse) =>
      served ? answerAsAlias(response, options.model, served) : response;
    try {
      if (route.kind === "upstream") {
        return answer(
          await forwardToUpstream({
            route,
            model: options.model,
            path: options.path,
            body: options.body,
            signal: options.signal,
          }),
        );
      }
      if (route.kind === "remote") {
        const body = served ? { ...(options.body as object), model: served } : options.body;
        const upstream = await options
          .forwardToNode(route, options.path, body, options.signal)
          .catch((error) => {
            route.release();
            throw error;
          });
        upstream.body.once("close", route.release);
        if (upstream.status === 503) {
          // The head's instance stopped between its last heartbeat and now (a crash, an unload):
          // nothing reached the client yet, so the request is routed again.
          upstream.body.resume();
          throw new ModelUnavailableError(options.model, "UNAVAILABLE", "its head answered 503");
        }
        return answer(upstream);
      }
      options.check?.(route);
      const upstream = await forwardToEngine({
        route,
        model: options.model,
        path: options.path,
        body: options.body,
        signal: options.signal,
      });
      meterEngineResponse(upstream, options.model, startedAt);
      return answer(upstream);
    } catch (error) {
      const retry =
        error instanceof ModelUnavailableError &&
        route.kind !== "upstream" &&
        !options.signal.aborted &&
        Date.now() < deadline;
      if (!retry) throw error;
      // Tried again once the node's state shows the instance down or another one up; and at the
      // latest after a pause that grows with each try, since an instance can fail a request and stay
      // READY (an engine that dropped the connection), and then no change may come in the window.
      const pause = Math.min(retryPauseMs.first * 2 ** attempt++, retryPauseMs.most);
      const changed = await options.router
        .instancesChanged(options.model, route.instanceId, {
          localOnly: options.localOnly,
          signal: abortAfter(Math.min(pause, deadline - Date.now()), options.signal),
        })
        .then(
          () => true,
          (reason: unknown) => {
            // The client left: its reason.
            if (options.signal.aborted) throw reason;
            return false;
          },
        );
      // The window closed: what the last try met.
      if (!changed && Date.now() >= deadline) throw error;
    }
  }
}
