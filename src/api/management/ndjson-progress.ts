import type { ProgressLine } from "../../protocol/management.js";
import { mapError } from "../error-mapping.js";

/** The fields of a `progress` line. */
export type ProgressFields = Omit<Extract<ProgressLine, { type: "progress" }>, "type">;

/**
 * Runs a long operation and streams its progress as NDJSON: `progress` lines (at most ten a second,
 * plus every change of phase), then one `done` or `error` line. Errors after the stream started
 * cannot change the HTTP status, so they travel as the last line.
 */
export function ndjsonProgress(
  abort: AbortController,
  operation: (onProgress: (progress: ProgressFields) => void) => Promise<unknown>,
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
      let lastPhase: string | undefined;
      operation((progress) => {
        const now = Date.now();
        const news = progress.phase !== lastPhase;
        if (!news && now - lastSent < 100 && progress.completed < progress.total) return;
        lastSent = now;
        lastPhase = progress.phase;
        send({ type: "progress", ...progress });
      })
        .then((result) => send({ type: "done", result }))
        .catch((error: unknown) => {
          const mapped = mapError(error);
          send({
            type: "error",
            error: { message: mapped.message, type: mapped.type, code: mapped.code, status: mapped.status },
          });
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
