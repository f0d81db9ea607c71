import type { Context } from "hono";
import type { z } from "zod";
import { InvalidRequestError } from "../protocol/errors.js";
import { parseJsonWithDepthLimit } from "../util/json-depth.js";

/** Content types under which a JSON body is accepted. curl's `-d` sends form encoding, so that counts. */
const acceptedTypes = new Set(["", "application/json", "application/x-www-form-urlencoded", "text/plain"]);

/**
 * Reads a request body as JSON and validates it. Each way it can be wrong (a content type that is
 * not JSON, no body, broken JSON, the wrong shape) is an InvalidRequestError or ZodError, which the
 * error mapping turns into a 4xx that names the problem.
 */
export async function readJsonBody<T extends z.ZodType>(context: Context, schema: T): Promise<z.infer<T>> {
  const contentType = (context.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (!acceptedTypes.has(contentType) && !contentType.endsWith("+json")) {
    throw new InvalidRequestError(`unsupported Content-Type '${contentType}'; send application/json`);
  }
  const text = await context.req.text();
  if (text.trim() === "") throw new InvalidRequestError("the request body is empty; expected a JSON object");
  let value: unknown;
  try {
    value = parseJsonWithDepthLimit(text);
  } catch (error) {
    throw new InvalidRequestError(`the request body is not valid JSON: ${(error as Error).message}`, null, {
      cause: error,
    });
  }
  return schema.parse(value);
}
