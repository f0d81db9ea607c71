/**
 * The least a Node.js HTTP hop can cost: a server that sends each request on to one llama-server
 * and writes each chunk of its answer to the client as it arrives, with no parsing, routing,
 * metering or continuation. `npm run bench -- overhead --floor` measures it beside herd in the
 * same rounds, so that herd's cost per token reads against what any Node process in that place
 * would cost on this machine (its wake-ups and socket calls), not against zero.
 *
 *   node --import tsx bench/bare-hop.ts <port> <engine url> [<engine key> | -] [<address>]
 *
 * It listens on 127.0.0.1 unless given an address (the fabric benchmark runs it in the head's
 * namespace, on its LAN address, in front of llama.cpp run by hand, which has no key).
 */
import { createServer, request } from "node:http";

const [port, engineUrl, key = "-", address = "127.0.0.1"] = process.argv.slice(2);
if (!port || !engineUrl)
  throw new Error("usage: bare-hop.ts <port> <engine url> [<engine key> | -] [<address>]");
const engine = new URL(engineUrl);

createServer((incoming, outgoing) => {
  const chunks: Buffer[] = [];
  incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
  incoming.on("end", () => {
    const body = Buffer.concat(chunks);
    const upstream = request(
      {
        host: engine.hostname,
        port: engine.port,
        path: incoming.url,
        method: "POST",
        headers: {
          "content-type": "application/json",
          "content-length": body.length,
          ...(key === "-" ? {} : { authorization: `Bearer ${key}` }),
        },
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, {
          "content-type": answer.headers["content-type"] ?? "",
        });
        outgoing.flushHeaders();
        answer.on("data", (chunk: Buffer) => outgoing.write(chunk));
        answer.on("end", () => outgoing.end());
      },
    );
    upstream.on("error", () => outgoing.destroy());
    upstream.end(body);
  });
}).listen(Number(port), address, () => process.stdout.write("listening\n"));
