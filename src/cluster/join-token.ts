import { createHash } from "node:crypto";
import { z } from "zod";
import { InvalidRequestError } from "../protocol/errors.js";

const prefix = "herd1.";
const TokenBody = z.object({ key: z.string().min(40), addresses: z.array(z.string()).max(32) });

/** What a join token carries: the cluster key and where a member can be reached. */
export interface JoinToken {
  key: Buffer;
  addresses: string[];
}

/** `herd1.<base64url JSON>`: opaque to people, one word to paste. It is a secret: it holds the key. */
export function formatJoinToken(token: JoinToken): string {
  const body = JSON.stringify({ key: token.key.toString("base64url"), addresses: token.addresses });
  return `${prefix}${Buffer.from(body).toString("base64url")}`;
}

export function parseJoinToken(text: string): JoinToken {
  const trimmed = text.trim();
  if (!trimmed.startsWith(prefix))
    throw new InvalidRequestError("not a herd join token (it should start with 'herd1.')", "join");
  let body: z.infer<typeof TokenBody>;
  try {
    body = TokenBody.parse(
      JSON.parse(Buffer.from(trimmed.slice(prefix.length), "base64url").toString("utf8")),
    );
  } catch (error) {
    throw new InvalidRequestError("the join token is damaged; copy it again with 'herd join-token'", "join", {
      cause: error,
    });
  }
  const key = Buffer.from(body.key, "base64url");
  if (key.length !== 32) throw new InvalidRequestError("the join token's key has the wrong length", "join");
  return { key, addresses: body.addresses };
}

/**
 * A public name for the cluster, derived from the key: discovery beacons carry it so that nodes of
 * other clusters on the same LAN ignore each other. It reveals nothing about the key.
 */
export function clusterIdOf(key: Buffer): string {
  return createHash("sha256").update("herd cluster id\0").update(key).digest("base64url").slice(0, 16);
}
