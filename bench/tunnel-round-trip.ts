/**
 * What herd's RPC tunnel adds to one small round trip, the unit of llama.cpp's RPC (a distributed
 * token is many of them). A server that answers as ggml-rpc-server does stands in for it: each
 * command gets an answer of the command's size, written as the server writes one (size, then
 * body). A client sends a command the way llama.cpp's does (command byte, size and body in three
 * writes), waits for all of the answer, and repeats, over each of:
 *
 *   direct   client -> server (loopback TCP)
 *   relay    client -> node -> node -> server: two plain TCP relays in two processes, the tunnel's
 *            topology without TLS (what the hops cost by themselves)
 *   tunnel   client -> head's RpcTunnel -> TLS with the cluster key -> shard's acceptTunnel -> server
 *
 * The server, the head and the shard each run in a process of their own, as on real machines
 * (here all on one machine's loopback). Paths alternate round by round. Prints the median round trip
 * of each, its ratio to direct, and the CPU time the head and shard processes spend per round trip.
 *
 *   npm run bench:tunnel                               # 64 B and 8 KiB messages
 *   npm run bench:tunnel -- --sizes 32,1024,65536 --trips 4000 --rounds 6
 *   npm run bench:tunnel -- --profile /tmp/prof       # each process's CPU profile (node --cpu-prof)
 */
import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer as createHttpsServer } from "node:https";
import { connect, createServer, type Socket } from "node:net";
import { parseArgs } from "node:util";
import { encodeRpcCommand } from "../src/cluster/rpc-ping.js";
import { acceptTunnel, isTunnelRequest, RpcTunnel } from "../src/cluster/rpc-tunnel.js";
import { clusterServerTlsOptions } from "../src/cluster/secure-channel.js";
import type { NodeId } from "../src/protocol/ids.js";
import { median } from "./streaming-sample.js";

type Role = "server" | "shard" | "head" | "relay";

/** Listens on loopback and returns the port. */
async function listen(server: {
  listen(port: number, host: string, done: () => void): unknown;
  address(): unknown;
}) {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

/** A child's part: serves, tells the parent its port, reports its CPU time when asked. */
async function child(role: Role, argument: string, key: Buffer): Promise<void> {
  let port: number;
  if (role === "server") {
    const server = createServer((socket) => {
      socket.setNoDelay(true);
      let pending = Buffer.alloc(0);
      socket.on("data", (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 9) {
          const size = Number(pending.readBigUInt64LE(1));
          if (pending.length < 9 + size) break;
          socket.write(pending.subarray(1, 9));
          socket.write(pending.subarray(9, 9 + size));
          pending = pending.subarray(9 + size);
        }
      });
    });
    port = await listen(server);
  } else if (role === "relay") {
    // A plain TCP relay to `argument` (host:port): the hop without TLS.
    const [host, targetPort] = argument.split(":");
    const server = createServer((local) => {
      const remote = connect({ host: host!, port: Number(targetPort) });
      local.setNoDelay(true);
      remote.setNoDelay(true);
      local.pipe(remote).pipe(local);
      const close = () => {
        local.destroy();
        remote.destroy();
      };
      local.once("close", close).on("error", close);
      remote.once("close", close).on("error", close);
    });
    port = await listen(server);
  } else if (role === "shard") {
    const serverPort = Number(argument);
    const server = createHttpsServer(clusterServerTlsOptions(key), (_request, response) => response.end());
    server.on("upgrade", (request, socket: Socket, head: Buffer) => {
      if (!isTunnelRequest(request)) return socket.destroy();
      acceptTunnel(request, socket, head, () => ({ host: "127.0.0.1", port: serverPort }));
    });
    port = await listen(server);
  } else {
    const tunnel = await RpcTunnel.open({
      name: "bench-0",
      endpoints: [`127.0.0.1:${argument}`],
      key,
      selfId: "head" as NodeId,
    });
    port = tunnel.port;
  }
  process.send!({ port });
  process.once("SIGINT", () => process.exit(0));
  process.on("message", (message: string) => {
    if (message === "cpu") {
      const usage = process.cpuUsage();
      process.send!({ cpuMicroseconds: usage.user + usage.system });
    }
  });
}

interface Child {
  process: ChildProcess;
  port: number;
  cpu(): Promise<number>;
}

async function start(role: Role, argument: string, key: Buffer, profile?: string): Promise<Child> {
  const process_ = fork(new URL(import.meta.url).pathname, ["--child", role, argument, key.toString("hex")], {
    execArgv: [...(profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : []), "--import", "tsx"],
  });
  // Profiles are named by process id (CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile).
  if (profile) console.error(`${role} ${argument}: process ${process_.pid}`);
  const port = await new Promise<number>((resolve, reject) => {
    process_.once("message", (message: { port: number }) => resolve(message.port));
    process_.once("exit", (code) => reject(new Error(`${role} exited with ${code}`)));
  });
  return {
    process: process_,
    port,
    cpu: () =>
      new Promise((resolve) => {
        process_.once("message", (message: { cpuMicroseconds: number }) => resolve(message.cpuMicroseconds));
        process_.send("cpu");
      }),
  };
}

/**
 * A connected client socket that sends a command as llama.cpp's client does (command byte, size,
 * body: three writes) and resolves once the whole answer (size and body) came back.
 */
async function roundTripper(port: number): Promise<{ trip(command: Buffer): Promise<void>; close(): void }> {
  const socket = connect({ host: "127.0.0.1", port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  let waiting = 0;
  let done: (() => void) | undefined;
  socket.on("data", (chunk: Buffer) => {
    waiting -= chunk.length;
    if (waiting <= 0) done?.();
  });
  return {
    trip: (command) =>
      new Promise<void>((resolve) => {
        waiting = command.length - 1;
        done = resolve;
        socket.write(command.subarray(0, 1));
        socket.write(command.subarray(1, 9));
        socket.write(command.subarray(9));
      }),
    close: () => socket.destroy(),
  };
}

async function main(): Promise<void> {
  const { values: options } = parseArgs({
    options: {
      sizes: { type: "string", default: "64,8192" },
      trips: { type: "string", default: "2000" },
      rounds: { type: "string", default: "6" },
      profile: { type: "string" },
    },
  });
  const key = randomBytes(32);
  const { profile } = options;
  const server = await start("server", "", key, profile);
  const shard = await start("shard", String(server.port), key, profile);
  const head = await start("head", String(shard.port), key, profile);
  const relayShard = await start("relay", `127.0.0.1:${server.port}`, key, profile);
  const relayHead = await start("relay", `127.0.0.1:${relayShard.port}`, key, profile);
  const children = [server, shard, head, relayShard, relayHead];
  try {
    const paths = {
      direct: { port: server.port, nodes: [] as Child[] },
      relay: { port: relayHead.port, nodes: [relayHead, relayShard] },
      tunnel: { port: head.port, nodes: [head, shard] },
    };
    const trips = Number(options.trips);
    const rows: string[][] = [];
    for (const size of options.sizes.split(",").map(Number)) {
      // GET_TENSOR, which llama.cpp sends each token for a shard's result.
      const message = encodeRpcCommand(8, randomBytes(size));
      const results: Record<string, { microseconds: number[]; cpu: number[] }> = {};
      const clients = Object.fromEntries(
        await Promise.all(
          Object.entries(paths).map(async ([name, path]) => [name, await roundTripper(path.port)] as const),
        ),
      );
      for (const client of Object.values(clients)) for (let i = 0; i < 200; i++) await client.trip(message);
      for (let round = 0; round < Number(options.rounds); round++) {
        const order = Object.keys(paths);
        if (round % 2 === 1) order.reverse();
        for (const name of order) {
          const path = paths[name as keyof typeof paths];
          const cpuBefore = await Promise.all(path.nodes.map((node) => node.cpu()));
          const started = performance.now();
          for (let i = 0; i < trips; i++) await clients[name]!.trip(message);
          const elapsed = performance.now() - started;
          const cpuAfter = await Promise.all(path.nodes.map((node) => node.cpu()));
          const cpu = cpuAfter.reduce((sum, value, index) => sum + value - cpuBefore[index]!, 0);
          results[name] ??= { microseconds: [], cpu: [] };
          results[name].microseconds.push((elapsed * 1000) / trips);
          results[name].cpu.push(cpu / trips);
        }
      }
      for (const client of Object.values(clients)) client.close();
      const direct = median(results.direct!.microseconds);
      for (const [name, result] of Object.entries(results)) {
        const microseconds = median(result.microseconds);
        rows.push([
          String(size),
          name,
          microseconds.toFixed(1),
          `${Math.min(...result.microseconds).toFixed(1)}-${Math.max(...result.microseconds).toFixed(1)}`,
          (direct / microseconds).toFixed(3),
          (microseconds - direct).toFixed(1),
          name === "direct" ? "-" : median(result.cpu).toFixed(1),
        ]);
      }
    }
    const header = [
      "body bytes",
      "path",
      "round trip µs (median)",
      "range",
      "direct / path",
      "µs added",
      "herd CPU µs per trip (both ends)",
    ];
    console.log(`| ${header.join(" | ")} |\n|${header.map(() => "---").join("|")}|`);
    for (const row of rows) console.log(`| ${row.join(" | ")} |`);
  } finally {
    // SIGINT lets a child write its profile on the way out.
    for (const node of children) node.process.kill("SIGINT");
  }
}

const childAt = process.argv.indexOf("--child");
if (childAt !== -1) {
  const [role, argument, key] = process.argv.slice(childAt + 1);
  await child(role as Role, argument!, Buffer.from(key!, "hex"));
} else {
  await main();
}
