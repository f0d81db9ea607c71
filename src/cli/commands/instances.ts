import type { Command } from "commander";
import { z } from "zod";
import type { HerdClient } from "../../client/herd-client.js";
import { loadAndFollow } from "../load-and-follow.js";
import { print } from "../print.js";
import { renderInstances, renderPlan } from "../render-cluster.js";
import { loadRequest, PlacementFlags, withPlacementOptions } from "./placement-options.js";

const LoadFlags = PlacementFlags.extend({ wait: z.boolean() });
const JsonFlag = z.object({ json: z.boolean().optional() });

/** `herd load|plan|unload|ps`: the model instances the cluster runs. */
export function addInstanceCommands(program: Command, client: () => HerdClient): void {
  withPlacementOptions(
    program
      .command("load <model>")
      .description("place a model on the cluster, start its engines, and wait until it is READY"),
  )
    .option("--embeddings", "serve /v1/embeddings")
    .option("--no-wait", "return at once instead of waiting for READY")
    .action(async (model: string, raw: unknown) => {
      const options = LoadFlags.parse(raw);
      const api = client();
      const request = loadRequest(model, options);
      if (!options.wait) {
        const created = await api.load(request);
        return print(`${created.id}: ${created.state} (${created.reason})`);
      }
      await loadAndFollow(api, request);
    });

  withPlacementOptions(
    program
      .command("plan <model>")
      .description("dry run: where the model would run, memory per node, predicted speed, and why"),
  )
    .option("--json", "print JSON")
    .action(async (model: string, raw: unknown) => {
      const plan = await client().plan(loadRequest(model, PlacementFlags.parse(raw)));
      print(
        JsonFlag.parse(raw).json
          ? JSON.stringify(plan, null, 2)
          : renderPlan(plan, await client().cluster(), model),
      );
    });

  program
    .command("unload <model>")
    .description("stop a model's instances (by model name or instance id)")
    .action(async (model: string) => {
      const stopped = await client().unload(model);
      print(stopped.map((status) => `stopped ${status.id}`).join("\n") || "nothing was running");
    });

  program
    .command("ps")
    .description("list the cluster's instances: where their head and shards run, and their state")
    .option("--json", "print JSON (this node's instances, with engine details)")
    .action(async (raw: unknown) => {
      if (JsonFlag.parse(raw).json) return print(JSON.stringify(await client().instances(), null, 2));
      print(renderInstances(await client().cluster()));
    });
}
