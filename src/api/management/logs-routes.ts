import { Readable } from "node:stream";
import { Hono } from "hono";
import { z } from "zod";
import { readLogLines } from "../../util/read-log-lines.js";
import type { ApiDependencies } from "../api-dependencies.js";
import { resolveNode } from "./resolve-node.js";

const LogsQuery = z.object({
  /** A node's name, id, or the start of its id; this node when absent. */
  node: z.string().min(1).max(128).optional(),
  lines: z.coerce.number().int().min(0).max(100_000).default(100),
  follow: z
    .enum(["true", "false", "1", "0"])
    .optional()
    .transform((value) => value === "true" || value === "1"),
});

/**
 * `GET /herd/v1/logs?node=&lines=&follow=`: a node's own log as JSON lines (`application/x-ndjson`),
 * the last `lines` of it, then, with `follow`, each new line as it is written. Another node's log is
 * fetched from that node over the cluster channel, so any node's API reaches every node's log.
 */
export function logsRoutes(dependencies: ApiDependencies): Hono {
  const app = new Hono();
  const logs = dependencies.logs;
  if (!logs) return app;

  app.get("/herd/v1/logs", async (context) => {
    const query = LogsQuery.parse(context.req.query());
    const signal = context.req.raw.signal;
    const node = query.node === undefined ? undefined : resolveNode(dependencies, query.node);
    if (node !== undefined && node !== dependencies.cluster.view().self) {
      const remote = await logs.fromNode(node, { lines: query.lines, follow: query.follow }, signal);
      return new Response(Readable.toWeb(remote.body) as ReadableStream<Uint8Array>, {
        status: remote.status,
        headers: { "content-type": remote.contentType, "cache-control": "no-cache" },
      });
    }
    const abort = new AbortController();
    signal.addEventListener("abort", () => abort.abort());
    const lines = readLogLines(logs.path, { lines: query.lines, follow: query.follow, signal: abort.signal });
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await lines.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(`${next.value}\n`));
      },
      cancel() {
        abort.abort();
      },
    });
    return new Response(body, {
      headers: { "content-type": "application/x-ndjson", "cache-control": "no-cache" },
    });
  });

  return app;
}
