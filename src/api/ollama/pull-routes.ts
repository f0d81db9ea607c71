import { Hono } from "hono";
import { NotSupportedError } from "../../protocol/errors.js";
import type { PullProgress } from "../../protocol/management.js";
import type { ApiDependencies } from "../api-dependencies.js";
import { mapError } from "../error-mapping.js";
import { errorBodyFor } from "../error-shapes.js";
import { readJsonBody } from "../read-json-body.js";
import { clientAbort, streamResponse } from "../stream-response.js";
import { pullStatusLines } from "./pull-status.js";
import { PullRequest } from "./schemas.js";

/** Ollama's `/api/pull`: a model from the hub, with Ollama's status lines as it downloads. */
export function ollamaPullRoutes(dependencies: ApiDependencies): Hono {
  const app = new Hono();
  app.post("/api/pull", async (context) => {
    const body = await readJsonBody(context, PullRequest);
    const pull = dependencies.pull;
    if (!pull) {
      throw new NotSupportedError(
        "this node cannot pull models; copy the GGUF file here and run 'herd models import <file>'",
      );
    }
    // Ollama pulls Hugging Face models as `hf.co/owner/repo:QUANT`; herd's pull takes `owner/repo:QUANT`.
    const ref = (body.model ?? body.name)!.replace(/^(?:https?:\/\/)?(?:hf\.co|huggingface\.co)\//, "");
    const abort = clientAbort(context);
    if (body.stream === false) {
      await pull({ ref }, () => {}, abort.signal);
      return context.json({ status: "success" });
    }
    return streamResponse(
      context,
      {
        contentType: "application/x-ndjson",
        abort,
        errorText: (error) => `${JSON.stringify(errorBodyFor("ollama", mapError(error)))}\n`,
      },
      async (writer) => {
        const lines = pullStatusLines();
        await pull(
          { ref },
          (progress: PullProgress) => {
            for (const line of lines.next(progress, Date.now())) writer.write(`${JSON.stringify(line)}\n`);
          },
          abort.signal,
        );
        for (const line of lines.next({ phase: "done", completed: 0, total: 0 }, Date.now())) {
          writer.write(`${JSON.stringify(line)}\n`);
        }
        return undefined;
      },
    );
  });
  return app;
}
