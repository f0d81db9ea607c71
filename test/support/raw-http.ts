import { request } from "node:http";

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** HTTP trailers, which fetch does not expose. */
  trailers: Record<string, string | undefined>;
  /** The pieces the body came in (Node's parser hands out each HTTP chunk of a chunked body apart). */
  pieces: string[];
}

/** Sends a request with Node's HTTP client and reads the whole answer, trailers included. */
export function rawRequest(
  url: string,
  options: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: options.method ?? "POST",
        headers: { "content-type": "application/json", ...options.headers },
      },
      (response) => {
        let body = "";
        const pieces: string[] = [];
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          body += chunk;
          pieces.push(chunk);
        });
        response.once("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body,
            trailers: response.trailers,
            pieces,
          }),
        );
        response.once("error", reject);
      },
    );
    outgoing.once("error", reject);
    outgoing.end(options.body);
  });
}
