import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeRpcTransport, readRpcTransport } from "./read-rpc-transport.js";

const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, "fixtures/rpc-logs", name), "utf8").split("\n");

describe("readRpcTransport", () => {
  it.each([
    ["RDMA over libibverbs (Linux)", "linux-rdma-active.log", "rdma (active)"],
    ["RDMA over librdma (macOS)", "apple-rdma-active.log", "rdma (active)"],
    [
      "an Apple RDMA activation that failed, with its reason",
      "apple-rdma-failed.log",
      "tcp (rdma failed: RDMA(Apple/UC) RTR failed: Operation not supported)",
    ],
    [
      "a Linux RDMA activation that failed without a reason",
      "linux-rdma-failed.log",
      "tcp (rdma failed: activate failed)",
    ],
    ["an engine without RDMA", "tcp-only.log", "tcp"],
    [
      "the latest connection, when a client reconnected",
      "reconnected.log",
      "tcp (rdma failed: RDMA(Apple/UC) RTS failed: Invalid argument)",
    ],
  ])("%s", (_situation, file, expected) => {
    expect(describeRpcTransport(readRpcTransport(fixture(file)))).toBe(expected);
  });

  it("says nothing before a client connected, and keeps the activation's detail", () => {
    expect(describeRpcTransport(readRpcTransport(fixture("tcp-only.log").slice(0, 5)))).toBeUndefined();
    expect(readRpcTransport(fixture("linux-rdma-active.log"))).toEqual({
      transport: "rdma",
      detail: "qpn=1234->5678 mtu=4096 rx_depth=64",
    });
  });
});
