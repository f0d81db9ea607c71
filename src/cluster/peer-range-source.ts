import type { RangeSourceFactory } from "../models/download-in-worker.js";
import { httpRangeSource } from "../models/http-range-source.js";
import { clusterClientTlsOptions } from "./secure-channel.js";

/** Byte ranges of a file a peer serves over the cluster channel (TLS with the cluster key). */
export function peerRangeSource(url: string, key: Uint8Array, identity: string) {
  return httpRangeSource({ url, requestOptions: clusterClientTlsOptions(Buffer.from(key), identity) });
}

/** The same, made on a download worker's thread (`downloadInWorker`). */
export function peerRangeSourceFactory(url: string, key: Uint8Array, identity: string): RangeSourceFactory {
  return { module: import.meta.url, name: peerRangeSource.name, args: [url, key, identity] };
}
