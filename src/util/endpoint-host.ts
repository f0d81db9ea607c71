/**
 * The address of a `host:port` endpoint, without the port or an IPv6 address's brackets.
 *
 * @example endpointHost("[fe80::1%en0]:52416") // "fe80::1%en0"
 */
export function endpointHost(endpoint: string): string {
  return endpoint.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
}
