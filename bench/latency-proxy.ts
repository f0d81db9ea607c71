import { connect, createServer, type Socket } from "node:net";

export interface LatencyProxy {
  /** The port it listens on (loopback). */
  port: number;
  close(): Promise<void>;
}

/**
 * A TCP proxy on loopback to `target` that holds every byte from the client for `delayMs` before
 * passing it on, so that each request/response round trip through it takes `delayMs` longer (this
 * kernel has no netem to do it in the network). Replies pass straight back. Node's timers count in
 * whole milliseconds, so a wait shorter than one spins on `setImmediate`: the proxy costs CPU while
 * a delay is pending, the same for every path it is put in front of.
 */
export async function startLatencyProxy(target: { host: string; port: number }, delayMs: number) {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target);
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.once("close", () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
      socket.on("error", () => socket.destroy());
    }
    upstream.on("data", (chunk) => client.write(chunk));
    const pending: Array<{ due: number; chunk: Buffer }> = [];
    let scheduled = false;
    const release = () => {
      const now = performance.now();
      while (pending.length > 0 && pending[0]!.due <= now) upstream.write(pending.shift()!.chunk);
      scheduled = pending.length > 0;
      if (!scheduled) return;
      const wait = pending[0]!.due - now;
      if (wait > 2) setTimeout(release, wait - 1.5);
      else setImmediate(release);
    };
    client.on("data", (chunk) => {
      pending.push({ due: performance.now() + delayMs, chunk });
      if (!scheduled) {
        scheduled = true;
        setImmediate(release);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  } satisfies LatencyProxy;
}
