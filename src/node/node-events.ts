import { EventEmitter } from "node:events";
import type { NodeEvent } from "../protocol/events.js";
import type { Logger } from "../util/logger.js";

/** What happens on a node, for `/herd/v1/events`, the dashboard and the parts that react to it. */
export interface NodeEvents {
  /** Logs the event and tells every subscriber. */
  publish(event: NodeEvent): void;
  /** Calls `listener` with each event from now on; returns the function that stops it. */
  subscribe(listener: (event: NodeEvent) => void): () => void;
}

export function createNodeEvents(logger: Logger): NodeEvents {
  const emitter = new EventEmitter();
  // Every SSE client of /herd/v1/events subscribes: many listeners are normal here.
  emitter.setMaxListeners(0);
  return {
    publish(event) {
      logger.info({ event }, event.type);
      emitter.emit("event", event);
    },
    subscribe(listener) {
      emitter.on("event", listener);
      return () => emitter.off("event", listener);
    },
  };
}
