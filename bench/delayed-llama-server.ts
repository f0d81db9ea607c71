/**
 * Stands in for llama-server in the network-namespace scenario of `bench:distributed`: starts the
 * real one (`HERD_BENCH_LLAMA_SERVER`) with each `--rpc` endpoint reached through a latency proxy of
 * `HERD_BENCH_RPC_DELAY_MS`, so that herd's splits (tunnel or direct) and the raw one all pay the
 * same added round trip on every RPC message, where llama.cpp's RPC crosses the network (herd's
 * tunnel listens on loopback and crosses it after; a shard on this host's own address, or at one of
 * `HERD_BENCH_RPC_UNDELAYED`'s (a cable's), does not). Without
 * `--rpc` (herd's engine probe, a model alone) it runs the real one unchanged.
 */
import { spawn } from "node:child_process";
import { networkInterfaces } from "node:os";
import { startLatencyProxy } from "./latency-proxy.js";

const real = process.env.HERD_BENCH_LLAMA_SERVER!;
const delayMs = Number(process.env.HERD_BENCH_RPC_DELAY_MS ?? "0");
/** Addresses reached without the delay: a cable's, which the LAN's round trip does not concern. */
const undelayed = new Set((process.env.HERD_BENCH_RPC_UNDELAYED ?? "").split(",").filter(Boolean));
const args = process.argv.slice(2);
const rpcIndex = args.indexOf("--rpc") + 1;
const proxies: Array<Awaited<ReturnType<typeof startLatencyProxy>>> = [];
if (rpcIndex > 0 && delayMs > 0) {
  const endpoints = args[rpcIndex]!.split(",");
  const own = new Set(
    Object.values(networkInterfaces())
      .flat()
      .filter((entry) => entry && !entry.internal)
      .map((entry) => entry!.address),
  );
  const routed: string[] = [];
  for (const endpoint of endpoints) {
    const [, host, port] = /^\[?(.+?)\]?:(\d+)$/.exec(endpoint)!;
    if (own.has(host!) || undelayed.has(host!)) {
      routed.push(endpoint);
      continue;
    }
    const proxy = await startLatencyProxy({ host: host!, port: Number(port) }, delayMs);
    proxies.push(proxy);
    routed.push(`127.0.0.1:${proxy.port}`);
  }
  args[rpcIndex] = routed.join(",");
}
// The engine dies with this process even when it is killed outright (herd's own SIGKILL on stop).
const child = spawn("setpriv", ["--pdeathsig", "KILL", real, ...args], { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
child.once("exit", async (code, signal) => {
  await Promise.all(proxies.map((proxy) => proxy.close()));
  process.exit(code ?? (signal ? 1 : 0));
});
