import { type ServerType, serve } from "@hono/node-server";
import type { NodeConfig } from "../config.js";
import type { DisposeStack } from "../util/dispose-stack.js";

type Fetch = (request: Request, env: unknown) => Response | Promise<Response>;

/**
 * Serves the API on its port, and on Ollama's own port when one is set: the same API, where
 * `GET /` always answers as Ollama does (no dashboard). Each server closes first on shutdown, so no
 * new request arrives while the parts behind it stop. Returns the API's URL.
 */
export async function serveApi(fetch: Fetch, config: NodeConfig, stack: DisposeStack): Promise<string> {
  const server = await listen(fetch, config.host, config.port, config.maxHeaderBytes);
  stack.defer("API server", () => closeServer(server));
  if (config.ollamaPort !== undefined) {
    const ollamaServer = await listen(
      (request, env) =>
        request.method === "GET" && new URL(request.url).pathname === "/"
          ? new Response("Ollama is running", { headers: { "content-type": "text/plain; charset=utf-8" } })
          : fetch(request, env),
      config.host,
      config.ollamaPort,
      config.maxHeaderBytes,
    );
    stack.defer("Ollama server", () => closeServer(ollamaServer));
  }
  return `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${config.port}`;
}

/**
 * The API's HTTP server. Slow or idle clients cannot hold connections: headers must arrive within
 * 10 s and a request body within 60 s, and an idle keep-alive connection closes after 5 s. There is
 * no timeout on a response, since a generation may legitimately take minutes between tokens.
 */
function listen(fetch: Fetch, host: string, port: number, maxHeaderBytes: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve(
      {
        fetch,
        hostname: host,
        port,
        serverOptions: {
          maxHeaderSize: maxHeaderBytes,
          headersTimeout: 10_000,
          requestTimeout: 60_000,
          keepAliveTimeout: 5_000,
          // How often the timeouts above are checked (Node's default, 30 s, would let them run long).
          connectionsCheckingInterval: 1_000,
        },
      },
      () => resolve(server),
    );
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") {
        reject(
          new Error(`port ${port} on ${host} is in use (another herd node, or Ollama?); choose another port`),
        );
      } else reject(error);
    });
  });
}

/** Closes an HTTP server; streams still open (an SSE subscriber) must not hold the shutdown. */
function closeServer(server: ServerType): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
  });
}
