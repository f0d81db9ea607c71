import { followLoad } from "../client/follow-load.js";
import type { HerdClient } from "../client/herd-client.js";
import type { LoadModelRequest } from "../protocol/management.js";

/**
 * Loads a model and prints every state its instances go through until all are READY (see
 * `followLoad` for when it gives up). Each state is a line given to `print` (stdout by default).
 */
export async function loadAndFollow(
  api: HerdClient,
  request: LoadModelRequest,
  print: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<void> {
  await followLoad(api, request, {
    onProgress: (progress) => {
      if (progress.type === "instance-state-observed")
        print(`${progress.instanceId}: ${progress.state} (${progress.reason})`);
    },
  });
}
