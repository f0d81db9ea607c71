import { Hono } from "hono";
import { NotSupportedError } from "../../protocol/errors.js";
import { StopNodeRequest } from "../../protocol/management.js";
import type { ApiDependencies } from "../api-dependencies.js";
import { readJsonBody } from "../read-json-body.js";
import { resolveNode } from "./resolve-node.js";

/**
 * `POST /herd/v1/node/stop` (`{"drain": true, "node": "b"}`): stops this node, or asks `node` to, over
 * the cluster channel. With `drain`, the node first moves its instances to the others (each replacement
 * READY before the original drains), and answers once they are moved; it stops right after answering.
 */
export function nodeStopRoutes(dependencies: ApiDependencies): Hono {
  const app = new Hono();

  app.post("/herd/v1/node/stop", async (context) => {
    const body = await readJsonBody(context, StopNodeRequest);
    const stop = dependencies.stop;
    if (!stop)
      throw new NotSupportedError("this node was not started by 'herd start'; stop its process instead");
    const drain = body.drain ?? false;
    const node = body.node === undefined ? undefined : resolveNode(dependencies, body.node);
    if (node !== undefined && node !== dependencies.cluster.view().self) {
      const answer = await stop.onNode(node, { drain });
      return new Response(answer.body, {
        status: answer.status,
        headers: { "content-type": "application/json" },
      });
    }
    return context.json(await stop.here({ drain }, context.req.raw.signal));
  });

  return app;
}
