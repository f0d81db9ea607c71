import { describe, expect, it } from "vitest";
import { endpointHost } from "./endpoint-host.js";

describe("endpointHost", () => {
  it.each([
    ["IPv4 with a port", "192.168.1.20:52416", "192.168.1.20"],
    ["IPv6 in brackets", "[fe80::1%en0]:52416", "fe80::1%en0"],
    ["a name", "studio.local:52416", "studio.local"],
    ["no port", "10.0.0.2", "10.0.0.2"],
  ])("%s", (_, endpoint, host) => {
    expect(endpointHost(endpoint)).toBe(host);
  });
});
