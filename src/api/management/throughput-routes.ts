import { Hono } from "hono";
import { InvalidRequestError, NotFoundError } from "../../protocol/errors.js";
import type { NodeId } from "../../protocol/ids.js";
import { AddUpstreamRequest, SetRouteRequest } from "../../protocol/management.js";
import type { ApiDependencies } from "../api-dependencies.js";
import { readJsonBody } from "../read-json-body.js";

/**
 * Draining instances and nodes, external upstreams and model routes. A drain answers once the
 * instances are unloaded, unless `?wait=false` asks for an answer as soon as they stop taking requests.
 */
export function throughputRoutes(dependencies: ApiDependencies): Hono {
  const app = new Hono();
  const { instances } = dependencies;

  const drain = async (
    match: { instance?: string; node?: NodeId },
    wait: boolean,
    signal: AbortSignal,
  ): Promise<{ draining: string[]; drained: boolean }> => {
    const targets = (await instances.drain(match)).map((instance) => instance.id as string);
    if (wait) await instances.waitUntilRemoved(targets, signal);
    return { draining: targets, drained: wait };
  };
  const waitOf = (value: string | undefined) => value !== "false";

  app.post("/herd/v1/instances/:id/drain", async (context) =>
    context.json(
      await drain(
        { instance: context.req.param("id") },
        waitOf(context.req.query("wait")),
        context.req.raw.signal,
      ),
    ),
  );

  app.post("/herd/v1/nodes/:node/drain", async (context) => {
    const name = context.req.param("node");
    const node = dependencies.cluster
      .view()
      .nodes.find((member) => member.id === name || member.name === name);
    if (!node) throw new NotFoundError(`no node named '${name}' in the cluster (see 'herd nodes')`);
    return context.json(
      await drain({ node: node.id }, waitOf(context.req.query("wait")), context.req.raw.signal),
    );
  });

  const upstreams = () => {
    if (!dependencies.upstreams) throw new InvalidRequestError("this node does not manage upstreams");
    return dependencies.upstreams;
  };

  app.get("/herd/v1/upstreams", (context) => context.json(upstreams().list()));

  app.post("/herd/v1/upstreams", async (context) => {
    const body = await readJsonBody(context, AddUpstreamRequest);
    return context.json(await upstreams().add(body), 201);
  });

  app.delete("/herd/v1/upstreams/:name", async (context) =>
    context.json(await upstreams().remove(context.req.param("name"))),
  );

  app.put("/herd/v1/routes/:model", async (context) => {
    const body = await readJsonBody(context, SetRouteRequest);
    return context.json(await upstreams().setRoutes([context.req.param("model")], body.route));
  });

  return app;
}
