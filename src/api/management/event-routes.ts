import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { ApiDependencies } from "../api-dependencies.js";

/** `/herd/v1/events`: what happens on the node, as server-sent events. */
export function eventRoutes(dependencies: ApiDependencies): Hono {
  const app = new Hono();
  app.get("/herd/v1/events", (context) => {
    // Subscribe before the response starts, so a client that has the response headers has every
    // event from then on.
    const queue: string[] = [];
    let wake: (() => void) | undefined;
    const unsubscribe = dependencies.subscribe((event) => {
      queue.push(JSON.stringify(event));
      wake?.();
    });
    return streamSSE(context, async (stream) => {
      stream.onAbort(() => {
        unsubscribe();
        wake?.();
      });
      while (!stream.aborted) {
        const data = queue.shift();
        if (data !== undefined) {
          await stream.writeSSE({ event: "event", data });
          continue;
        }
        // A comment every 15 s keeps proxies from closing a quiet stream.
        let keepAlive: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          keepAlive = setTimeout(resolve, 15_000);
        });
        clearTimeout(keepAlive);
        wake = undefined;
        if (queue.length === 0 && !stream.aborted) await stream.write(": keep-alive\n\n");
      }
      unsubscribe();
    });
  });
  return app;
}
