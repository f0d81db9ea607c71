import type { ConnectionOptions, TlsOptions } from "node:tls";

/**
 * The cluster channel is TLS 1.2 with a pre-shared key: the cluster key. Only a peer holding the
 * same key completes the handshake (both sides prove it, so this is mutual authentication), and
 * everything after it (membership, desired state, forwarded requests, engine traffic) is encrypted
 * and integrity-protected. No certificates are needed, so nothing has to be distributed but the
 * join token.
 */
const pskTls = {
  ciphers: "PSK-AES256-GCM-SHA384:PSK-CHACHA20-POLY1305",
  minVersion: "TLSv1.2",
  maxVersion: "TLSv1.2",
} as const;

export function clusterServerTlsOptions(key: Buffer): TlsOptions {
  return {
    ...pskTls,
    pskIdentityHint: "herd",
    pskCallback: () => key,
  };
}

/** Options for dialing a peer; `identity` is our node id, for the peer's logs. */
export function clusterClientTlsOptions(key: Buffer, identity: string): ConnectionOptions {
  return {
    ...pskTls,
    pskCallback: () => ({ psk: key, identity }),
    // There is no certificate: the pre-shared key authenticates the peer.
    checkServerIdentity: () => undefined,
  };
}

/** Turns a TLS failure into what a person should read. */
export function describeTlsFailure(error: NodeJS.ErrnoException): string {
  const text = `${error.code ?? ""} ${error.message}`;
  if (/bad record mac|decrypt|CIPHER_OPERATION_FAILED|bad_record_mac/i.test(text)) {
    return "it does not hold this cluster's key (wrong or missing join token)";
  }
  if (/no shared cipher|wrong version|unsupported protocol|http request|unknown protocol/i.test(text)) {
    return "it does not speak herd's cluster protocol (not a herd node, or no cluster key)";
  }
  return error.message;
}
