import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import {
  ImportModelRequest,
  LoadModelRequest,
  type ProgressLine,
  SynthModelRequest,
} from "../../protocol/management.js";
import type { ApiDependencies } from "../api-dependencies.js";
import { mapError } from "../error-mapping.js";
import { readJsonBody } from "../read-json-body.js";
import { throughputRoutes } from "./throughput-routes.js";

/** herd's own API under `/herd/v1`: models, instances, engine, events. */
export function managementRoutes(dependencies: ApiDependencies): Hono {
  const app = new Hono();
  const { models, instances } = dependencies;
  app.route("/", throughputRoutes(dependencies));

  app.get("/herd/v1/node", (context) =>
    context.json({
      version: dependencies.version,
      startedAt: dependencies.startedAt.toISOString(),
      pid: process.pid,
    }),
  );

  app.get("/herd/v1/cluster", (context) => context.json(dependencies.cluster.view()));

  app.get("/herd/v1/join-token", (context) => context.json({ token: dependencies.cluster.joinToken() }));

  app.get("/herd/v1/engine", async (context) => context.json(await dependencies.engineReport()));

  app.get("/herd/v1/models", async (context) => {
    const loaded = instances.list();
    const list = await models.list();
    return context.json({
      models: list.map((model) => ({
        ...model,
        instances: loaded.filter((status) => status.model === model.name).map((s) => s.id),
      })),
    });
  });

  app.post("/herd/v1/models/import", async (context) => {
    const body = await readJsonBody(context, ImportModelRequest);
    const profile = await models.import(body.path, { name: body.name, copy: body.copy });
    dependencies.logger.info({ model: profile.name, storage: profile.storage }, "model imported");
    return context.json(profile, 201);
  });

  app.post("/herd/v1/models/synth", async (context) => {
    const body = await readJsonBody(context, SynthModelRequest);
    const abort = new AbortController();
    context.req.raw.signal.addEventListener("abort", () => abort.abort(new Error("client went away")));
    return ndjsonProgress(abort, (onProgress) => dependencies.synthesize(body, onProgress, abort.signal));
  });

  app.delete("/herd/v1/models/:name", async (context) => {
    const name = context.req.param("name");
    const users = instances.list().filter((status) => status.model === name);
    if (users.length > 0 && context.req.query("force") !== "true") {
      return context.json(
        {
          error: {
            message: `model '${name}' is used by instance ${users.map((s) => s.id).join(", ")}; unload it first or pass force`,
            type: "invalid_request_error",
            code: "model_in_use",
            param: null,
          },
        },
        409,
      );
    }
    if (users.length > 0) await instances.unload(name);
    await models.remove(name);
    return context.json({ removed: name });
  });

  app.get("/herd/v1/instances", (context) => context.json({ instances: instances.list() }));

  app.post("/herd/v1/instances", async (context) => {
    const body = await readJsonBody(context, LoadModelRequest);
    return context.json(await instances.load(body), 201);
  });

  app.post("/herd/v1/plans", async (context) => {
    const body = await readJsonBody(context, LoadModelRequest);
    return context.json(await instances.dryRun(body));
  });

  app.delete("/herd/v1/instances/:idOrModel", async (context) => {
    const stopped = await instances.unload(context.req.param("idOrModel"));
    return context.json({ stopped });
  });

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
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 15_000);
        });
        wake = undefined;
        if (queue.length === 0 && !stream.aborted) await stream.write(": keep-alive\n\n");
      }
      unsubscribe();
    });
  });

  return app;
}

/**
 * Runs a long operation and streams its progress as NDJSON: `progress` lines (at most ten a second),
 * then one `done` or `error` line. Errors after the stream started cannot change the HTTP status,
 * so they travel as the last line.
 */
function ndjsonProgress(
  abort: AbortController,
  operation: (onProgress: (completed: number, total: number) => void) => Promise<unknown>,
): Response {
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (line: ProgressLine) => {
        try {
          controller.enqueue(encoder.encode(`${JSON.stringify(line)}\n`));
        } catch {
          // The client went away; the abort signal stops the work.
        }
      };
      let lastSent = 0;
      operation((completed, total) => {
        const now = Date.now();
        if (now - lastSent < 100 && completed < total) return;
        lastSent = now;
        send({ type: "progress", completed, total });
      })
        .then((result) => send({ type: "done", result }))
        .catch((error: unknown) => {
          const mapped = mapError(error);
          send({ type: "error", error: { message: mapped.message, type: mapped.type, code: mapped.code } });
        })
        .finally(() => {
          try {
            controller.close();
          } catch {
            // Already closed by a cancel.
          }
        });
    },
    cancel() {
      abort.abort(new Error("client went away"));
    },
  });
  return new Response(stream, {
    headers: { "content-type": "application/x-ndjson", "cache-control": "no-cache" },
  });
}
