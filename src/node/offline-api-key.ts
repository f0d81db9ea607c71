import { mkdir } from "node:fs/promises";
import { ApiKeyStore } from "../cluster/api-key-store.js";
import { type ConfigOverrides, homePaths, loadConfig } from "../config.js";
import type { CreateApiKeyRequest, CreatedApiKey } from "../protocol/api-keys.js";

/** Creates an API key in a HERD_HOME no node is running from; nodes load it when they start. */
export async function createApiKeyOffline(
  overrides: ConfigOverrides,
  request: CreateApiKeyRequest,
): Promise<{ created: CreatedApiKey; path: string }> {
  const config = loadConfig(overrides);
  const paths = homePaths(config.home);
  await mkdir(paths.state, { recursive: true, mode: 0o700 });
  const store = await new ApiKeyStore(paths.state).load();
  return { created: await store.create(request), path: store.path };
}
