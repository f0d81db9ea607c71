import { z } from "zod";

/** What each node reports in its heartbeats for `herd health`; absent from nodes of older versions. */
export const NodeHealthFacts = z.object({
  /** The filesystem holding the model store; null when it could not be read. */
  modelsDisk: z
    .object({ freeBytes: z.number().nonnegative(), totalBytes: z.number().nonnegative() })
    .nullable(),
  /** The API listens on an address other machines can reach. */
  apiExposed: z.boolean(),
  /** Started with `--insecure-no-auth`: no key is asked for even when exposed. */
  authDisabled: z.boolean(),
  /** Stored models whose file no longer matches the sha256 recorded when it was pulled or imported. */
  corruptModels: z.array(z.string().max(128)).max(4096).default([]),
});
export type NodeHealthFacts = z.infer<typeof NodeHealthFacts>;

/** `healthy`: nothing to report; `degraded`: something needs a look; `down`: nothing loaded can be served. */
export type HealthVerdict = "healthy" | "degraded" | "down";

/** One thing `herd health` found, for one line of its output. */
export interface HealthFinding {
  /** `critical`: a model cannot be served at all; `warning`: everything else worth a look. */
  severity: "warning" | "critical";
  kind:
    | "node-unreachable"
    | "instance-not-ready"
    | "model-unavailable"
    | "engine-restarted"
    | "disk-low"
    | "engine-version-differs"
    | "api-keys-missing"
    | "model-corrupt";
  /** The node, instance or model the finding is about. */
  subject: string;
  message: string;
}

/** `GET /herd/v1/health`: the cluster's verdict as the answering node sees it. */
export interface HealthReport {
  verdict: HealthVerdict;
  /** One line for people: what the verdict rests on. */
  summary: string;
  findings: HealthFinding[];
  checkedAt: string;
  /** The node that answered. */
  node: string;
}

/** `herd health`'s exit status for each verdict, the way monitoring plugins count. */
export const healthExitCodes: Record<HealthVerdict, number> = { healthy: 0, degraded: 1, down: 2 };
