/**
 * Probes run inside another host's network namespace (`ip netns exec <ns> node --import tsx ...`):
 *   scan <address>            every TCP port 1-65535; prints the open ones as JSON
 *   tls <address> <port>      a TLS handshake with a random pre-shared key; prints the outcome as JSON
 *   http <address> <port>     a plain HTTP request; prints the status, or the error, as JSON
 */
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { clusterClientTlsOptions } from "../../src/cluster/secure-channel.js";

const [command, address, portText] = process.argv.slice(2);

function isOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    socket.setTimeout(2000);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function scan(): Promise<number[]> {
  const open: number[] = [];
  let next = 1;
  const worker = async () => {
    while (next <= 65535) {
      const port = next++;
      if (await isOpen(port)) open.push(port);
    }
  };
  await Promise.all(Array.from({ length: 1000 }, worker));
  return open.sort((a, b) => a - b);
}

function handshakeWithWrongKey(port: number): Promise<{ secured: boolean; error?: string }> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: address,
      port,
      ...clusterClientTlsOptions(randomBytes(32), "intruder"),
    });
    socket.setTimeout(5000);
    socket.once("secureConnect", () => {
      socket.destroy();
      resolve({ secured: true });
    });
    socket.once("error", (error: NodeJS.ErrnoException) =>
      resolve({ secured: false, error: error.code ?? error.message }),
    );
    socket.once("timeout", () => {
      socket.destroy();
      resolve({ secured: false, error: "timeout" });
    });
  });
}

async function plainHttp(port: number): Promise<{ status?: number; error?: string }> {
  try {
    const response = await fetch(`http://${address}:${port}/cluster/v1/bulk`, {
      signal: AbortSignal.timeout(5000),
    });
    return { status: response.status };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return { error: cause?.code ?? (error as Error).message };
  }
}

const result =
  command === "scan"
    ? await scan()
    : command === "tls"
      ? await handshakeWithWrongKey(Number(portText))
      : await plainHttp(Number(portText));
process.stdout.write(`${JSON.stringify(result)}\n`);
