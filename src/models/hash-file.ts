import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

/** Hex sha256 of a file, read as a stream. */
export async function sha256OfFile(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024, signal })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest("hex");
}
