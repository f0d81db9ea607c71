import { z } from "zod";

/** What a network interface is, as far as choosing a path between two machines cares. */
export const InterfaceKind = z.enum(["thunderbolt", "ethernet", "wifi", "virtual", "loopback", "other"]);
export type InterfaceKind = z.infer<typeof InterfaceKind>;

/** The most interfaces a profile carries, and addresses per interface; a machine with more reports these many. */
export const maxReportedInterfaces = 128;
export const maxReportedAddresses = 64;

/** One address on an interface, with its prefix (`192.168.1.20/24`, `fe80::1/64`). */
export const InterfaceAddress = z.object({
  address: z.string().max(64),
  prefixLength: z.number().int().min(0).max(128),
  family: z.enum(["ipv4", "ipv6"]),
});
export type InterfaceAddress = z.infer<typeof InterfaceAddress>;

/** A network interface of a node, as the node's operating system reports it. */
export const NetworkInterface = z.object({
  name: z.string().max(64),
  // A kind added by a newer herd is `other` here, rather than a heartbeat this node cannot read.
  kind: InterfaceKind.catch("other"),
  /** The addresses of a running interface; one that is down lists none (Node's list, from libuv, omits it). */
  addresses: z.array(InterfaceAddress).max(maxReportedAddresses),
  mtu: z.number().int().nonnegative().optional(),
  /** Link speed in megabits per second, where the operating system says it. */
  speedMbps: z.number().nonnegative().optional(),
  /** Administratively up and with a link (Linux `operstate`, macOS `status: active`). */
  up: z.boolean(),
  /** Whether RDMA can run over this interface (an RDMA device bound to it, and everything it needs is on). */
  rdma: z.boolean(),
  /** The RDMA device on it (`mlx5_0`, `rxe0`, `rdma_en2`). */
  rdmaDevice: z.string().max(64).optional(),
  /** Why RDMA is not possible on an interface that could otherwise carry it (a Thunderbolt port). */
  rdmaUnavailable: z.string().max(300).optional(),
});
export type NetworkInterface = z.infer<typeof NetworkInterface>;
