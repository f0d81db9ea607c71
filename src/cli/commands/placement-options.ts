import { type Command, Option } from "commander";
import { z } from "zod";
import { LoadModelRequest } from "../../protocol/management.js";
import { positiveInteger } from "../argument-parsers.js";

const fields = LoadModelRequest.shape;

/** The placement flags as commander gives them: lists still comma-separated. */
export const PlacementFlags = z.object({
  ctx: z.number().optional(),
  parallel: z.number().optional(),
  split: fields.split,
  nodes: z.string().optional(),
  avoid: z.string().optional(),
  minNodes: z.number().optional(),
  maxNodes: z.number().optional(),
  threads: z.number().optional(),
  replicas: z.union([z.number(), z.literal("auto")]).optional(),
  draft: z.string().optional(),
  draftMax: z.number().optional(),
  rpcTransport: fields.rpcTransport,
  embeddings: z.boolean().optional(),
});
export type PlacementFlags = z.infer<typeof PlacementFlags>;

/** Placement flags shared by `herd load`, `herd plan` and `herd models fit`. */
export function withPlacementOptions(command: Command): Command {
  return command
    .option("--ctx <n>", "context size in tokens, shared by all slots", positiveInteger("ctx"))
    .option("--parallel <n>", "requests served at once (slots)", positiveInteger("parallel"))
    .addOption(
      new Option("--split <mode>", "how to split across nodes").choices(fields.split.unwrap().options),
    )
    .option("--nodes <list>", "use only these nodes (names or ids, comma-separated)")
    .option("--avoid <list>", "never use these nodes")
    .option("--min-nodes <n>", "use at least this many nodes", positiveInteger("min-nodes"))
    .option("--max-nodes <n>", "use at most this many nodes", positiveInteger("max-nodes"))
    .option("--threads <n>", "CPU threads for each engine", positiveInteger("threads"))
    .option("--replicas <n>", "instances on disjoint nodes, or 'auto' for as many as fit", replicaCount)
    .option("--draft <model>", "a smaller model of the same vocabulary for speculative decoding")
    .option("--draft-max <n>", "most tokens the draft proposes at a time", positiveInteger("draft-max"))
    .addOption(
      new Option(
        "--rpc-transport <transport>",
        "auto (default: direct over a cable between exactly two machines, bound to its address; the keyed tunnel elsewhere), tunnel, or direct (trusted fabrics only)",
      ).choices(fields.rpcTransport.unwrap().options),
    );
}

/** The load request the flags describe. */
export function loadRequest(model: string, options: PlacementFlags): LoadModelRequest {
  return {
    model,
    contextSize: options.ctx,
    parallel: options.parallel,
    embeddings: options.embeddings,
    threads: options.threads,
    split: options.split,
    nodes: options.nodes?.split(","),
    avoid: options.avoid?.split(","),
    minNodes: options.minNodes,
    maxNodes: options.maxNodes,
    rpcTransport: options.rpcTransport,
    replicas: options.replicas,
    draft: options.draft,
    draftMax: options.draftMax,
  };
}

function replicaCount(value: string): number | "auto" {
  return value === "auto" ? "auto" : positiveInteger("replicas")(value);
}
