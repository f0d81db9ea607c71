import { HerdApiError, HerdClient } from "../../src/client/herd-client.js";

const keyStorage = "herd.apiKey";

/** The API key given in this tab, kept for the browser session only. */
export function storedKey(): string | undefined {
  return sessionStorage.getItem(keyStorage) ?? undefined;
}

export function storeKey(key: string | undefined): void {
  if (key) sessionStorage.setItem(keyStorage, key);
  else sessionStorage.removeItem(keyStorage);
}

/** A client of the node that served this page. */
export function clientFor(apiKey: string | undefined): HerdClient {
  return new HerdClient({ baseUrl: location.origin, apiKey });
}

/** The node wants an API key (or a different one). */
export function isUnauthorized(error: unknown): boolean {
  return error instanceof HerdApiError && error.status === 401;
}

/** A route this node does not have (a feature of a newer herd), as opposed to a missing thing. */
export function isMissingRoute(error: unknown): boolean {
  return error instanceof HerdApiError && error.status === 404 && error.code === "unknown_url";
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
