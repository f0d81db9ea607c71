import { connect, createServer, type Socket } from "node:net";

export interface LatencyProxy {
  /** The port it listens on (loopback). */
  port: number;
  close(): Promise<void>;
}

/** What `Atomics.wait` sleeps on: nothing ever wakes it, so each wait runs its time out. */
const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** How much sooner than due a wait ends, the rest spun: `Atomics.wait` wakes a little late. */
const wakeSlackMs = 0.1;

/**
 * A TCP proxy on loopback to `target` that holds every byte from the client for `delayMs` before
 * passing it on, so that each request/response round trip through it takes `delayMs` longer (this
 * kernel has no netem to do it in the network). Replies pass straight back. Node's timers count in
 * whole milliseconds, so the last 2 ms of a wait sleep in `Atomics.wait` but its last 0.1 ms, which
 * are spun (spinning on `setImmediate` for all of it took one of this machine's two cores from the
 * engines for as long as a message was held). The proxy's event loop sleeps with it, which
 * holds nothing up: llama.cpp's RPC waits for each reply before it sends the next message.
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
      for (;;) {
        const now = performance.now();
        while (pending.length > 0 && pending[0]!.due <= now) upstream.write(pending.shift()!.chunk);
        scheduled = pending.length > 0;
        if (!scheduled) return;
        const wait = pending[0]!.due - now;
        if (wait > 2) {
          setTimeout(release, wait - 1.5);
          return;
        }
        // Woken about 0.07 ms late on this machine: sleep short of the time and spin the rest.
        if (wait > wakeSlackMs) Atomics.wait(sleeper, 0, 0, wait - wakeSlackMs);
      }
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
