import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: createLogger({ level: "debug", destination }) };
}

describe("createLogger", () => {
  it("never writes secrets, however deep in a logged object they are", () => {
    const { lines, logger } = capture();
    const secret = "herd-0123456789ab-SECRETSECRETSECRETSECRETSECRETSECRETSECRETS";
    logger.info({ authorization: `Bearer ${secret}` }, "top level");
    logger.info(
      { request: { headers: { authorization: `Bearer ${secret}`, "x-api-key": secret } } },
      "headers",
    );
    logger.info(
      { identity: { clusterKey: secret }, joinToken: secret, node: { apiKey: secret } },
      "identity",
    );
    logger.warn({ created: { secret, key: { id: "0123456789ab" } } }, "created");
    const output = lines.join("");
    expect(lines).toHaveLength(4);
    expect(output).not.toContain("SECRETSECRET");
    expect(output).toContain("[redacted]");
    expect(output).toContain("top level");
  });
});
