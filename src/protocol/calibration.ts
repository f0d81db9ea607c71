import { z } from "zod";
import { NodeId } from "./ids.js";

/**
 * A bounded multiplier learnt from measured decode against predicted: above 1, the planner's figure
 * for this part was too optimistic (it takes that many times longer). `samples` observations went
 * into it; the newest at `updatedAt` (ms since epoch).
 */
export const Correction = z.object({
  factor: z.number().positive(),
  samples: z.number().int().nonnegative(),
  updatedAt: z.number().int().nonnegative(),
});
export type Correction = z.infer<typeof Correction>;

/** What a node measured of itself with its own engine build (`herd engine calibrate`). */
export const SelfMeasurement = z.object({
  /** The engine measured (`engineKey`): a new build is measured again. */
  engine: z.string().max(1000),
  /** Weight bytes per second its decode reads, as llama.cpp reaches it (not the chip's peak). */
  bandwidthBytesPerSecond: z.number().positive(),
  /** Seconds per generated token that do not depend on the model's size (server loop, sampling, graph). */
  tokenOverheadSeconds: z.number().nonnegative(),
  measuredAt: z.number().int().nonnegative(),
});
export type SelfMeasurement = z.infer<typeof SelfMeasurement>;

/**
 * One RPC path this node heads: its round trip in llama.cpp's own protocol and its correction. A
 * shard node may be reached over several (a cable, the LAN through the tunnel): each is its own.
 */
export const HopCalibration = z.object({
  /** The node whose ggml-rpc-server is at the other end. */
  node: NodeId,
  /**
   * How it is reached (`rpcRouteKey`): `tunnel`, or `direct` and the two addresses. Absent in records
   * kept before paths were told apart; those are never used, since their path is unknown.
   */
  route: z.string().max(200).optional(),
  rpcRoundTripSeconds: z.number().nonnegative().optional(),
  rpcMeasuredAt: z.number().int().nonnegative().optional(),
  correction: Correction.optional(),
});
export type HopCalibration = z.infer<typeof HopCalibration>;

/**
 * What this node learnt about itself and its RPC paths, announced in its profile so that whichever
 * node plans uses it (an older peer ignores the field).
 */
export const NodeCalibration = z.object({
  measured: SelfMeasurement.optional(),
  /** This node's decode (compute) time, measured against predicted. */
  correction: Correction.optional(),
  hops: z.array(HopCalibration).max(256).default([]),
});
export type NodeCalibration = z.infer<typeof NodeCalibration>;
