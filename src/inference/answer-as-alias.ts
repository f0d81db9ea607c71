import { pipeline, Transform } from "node:stream";
import type { EngineResponse } from "./forward-to-engine.js";

/** A `"model":"..."` member of a JSON object; inside a JSON string its quotes would be escaped. */
const modelMember = /"model":"(?:[^"\\]|\\.)*"/g;

/**
 * An entry's answer, as the answer to the alias the client asked for: `x-herd-model` names the
 * model (or `upstream:<name>/<model>`) that served it, and the `model` members of its JSON (a
 * whole answer, or each SSE event) say the alias, as OpenAI-compatible proxies do. The engine's
 * bytes are rewritten line by line (a chunk may end mid-line); the stream's end, errors and a
 * client that goes away pass through as they would without the alias.
 */
export function answerAsAlias(response: EngineResponse, alias: string, servedModel: string): EngineResponse {
  const replacement = `"model":${JSON.stringify(alias)}`;
  const rename = (text: string) => text.replace(modelMember, replacement);
  let partial = "";
  const renamed = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const text = partial + chunk.toString("utf8");
      const lineEnd = text.lastIndexOf("\n");
      partial = text.slice(lineEnd + 1);
      done(null, lineEnd === -1 ? undefined : rename(text.slice(0, lineEnd + 1)));
    },
    flush(done) {
      done(null, partial.length > 0 ? rename(partial) : undefined);
    },
  });
  // A failure on either side ends both: the engine's stream is destroyed when the client's side is.
  pipeline(response.body, renamed, () => {});
  return { ...response, headers: { ...response.headers, "x-herd-model": servedModel }, body: renamed };
}
