import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One request a client sent through the recorder, and how the node answered it. */
export interface RecordedExchange {
  method: string;
  /** Path and query, as the client sent them. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** The request's body, parsed when it is JSON. */
  body: unknown;
  status: number;
  contentType: string;
  /** The answer's body as text (a streamed answer whole, once it has ended). */
  response: string;
}

/**
 * A recording HTTP proxy in front of a node: a client pointed at `url` talks to the node through it,
 * unchanged, and every request with its answer is kept in `exchanges`. It lets a test say what a
 * third-party client (Claude Code, Codex CLI) sent and how each request was answered, without
 * changing either side.
 */
export class RequestRecorder {
  readonly exchanges: RecordedExchange[] = [];
  private readonly listeners = new Set<() => void>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(target: string): Promise<RequestRecorder> {
    const targetUrl = new URL(target);
    let recorder: RequestRecorder | undefined;
    const server = createServer((incoming, outgoing) => {
      const chunks: Buffer[] = [];
      incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
      incoming.on("end", () => {
        const bodyText = Buffer.concat(chunks);
        const forwarded = request(
          {
            host: targetUrl.hostname,
            port: targetUrl.port,
            method: incoming.method,
            path: incoming.url,
            headers: { ...incoming.headers, host: targetUrl.host },
          },
          (answer) => {
            outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
            const answerChunks: Buffer[] = [];
            answer.on("data", (chunk: Buffer) => {
              answerChunks.push(chunk);
              outgoing.write(chunk);
            });
            answer.on("end", () => {
              outgoing.end();
              recorder?.record({
                method: incoming.method ?? "",
                url: incoming.url ?? "",
                headers: incoming.headers,
                body: parseBody(bodyText.toString("utf8")),
                status: answer.statusCode ?? 0,
                contentType: String(answer.headers["content-type"] ?? ""),
                response: Buffer.concat(answerChunks).toString("utf8"),
              });
            });
          },
        );
        forwarded.on("error", (error) => {
          outgoing.writeHead(502, { "content-type": "text/plain" });
          outgoing.end(`recorder: ${error.message}`);
        });
        forwarded.end(bodyText);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    recorder = new RequestRecorder(server, `http://127.0.0.1:${port}`);
    return recorder;
  }

  /** Resolves once `check` holds for the exchanges recorded so far, or rejects after `timeoutMs`. */
  waitUntil(what: string, check: (exchanges: RecordedExchange[]) => boolean, timeoutMs = 120_000) {
    return new Promise<void>((resolve, reject) => {
      const listener = () => {
        if (!check(this.exchanges)) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve();
      };
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`timed out waiting for ${what}; recorded: ${this.summary()}`));
      }, timeoutMs);
      this.listeners.add(listener);
      listener();
    });
  }

  /** One line per exchange: method, path, status. */
  summary(): string {
    return this.exchanges
      .map((exchange) => `${exchange.method} ${exchange.url} ${exchange.status}`)
      .join("; ");
  }

  clear(): void {
    this.exchanges.length = 0;
  }

  async dispose(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private record(exchange: RecordedExchange): void {
    this.exchanges.push(exchange);
    for (const listener of this.listeners) listener();
  }
}

function parseBody(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
