import type { HerdClient } from "../client/herd-client.js";
import { HerdError } from "../protocol/errors.js";
import type { LoadModelRequest } from "../protocol/management.js";

/**
 * Loads a model and prints every state its instances go through until all are READY. Instances
 * headed here are followed through the node's events, subscribed before loading so that no
 * transition (a quick FAILED and restart) goes unseen; replicas headed on other nodes through the
 * cluster view, which their heads' heartbeats update every second. Gives up when an instance keeps
 * failing or takes longer than 15 minutes. Each state is a line given to `print` (stdout by default).
 */
export async function loadAndFollow(
  api: HerdClient,
  request: LoadModelRequest,
  print: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<void> {
  const stop = new AbortController();
  const timeout = setTimeout(() => stop.abort(), 15 * 60_000);
  try {
    const events = await api.subscribe(stop.signal);
    const created = await api.load(request);
    const replicas = created.replicas ?? [created];
    const last = new Map<string, string>();
    const failures = new Map<string, number>();
    const waiting = new Set(replicas.map((replica) => replica.id as string));
    /** Records one observed state; true once every instance is READY. */
    const observe = (id: string, model: string, state: string, reason: string): boolean => {
      if (!last.has(id) && !waiting.has(id)) return false;
      const line = `${id}: ${state} (${reason})`;
      if (line === last.get(id)) return waiting.size === 0;
      print(line);
      last.set(id, line);
      if (state === "READY") waiting.delete(id);
      if (state === "FAILED") {
        const failed = (failures.get(id) ?? 0) + 1;
        failures.set(id, failed);
        if (failed >= 4)
          throw new HerdError(
            `${model} keeps failing: ${reason}\nThe engine's log is HERD_HOME/logs/${id}.log`,
          );
      }
      return waiting.size === 0;
    };
    for (const replica of replicas)
      if (observe(replica.id, replica.model, replica.state, replica.reason)) return;
    const fromEvents = (async () => {
      for await (const event of events) {
        if (event.type === "instance-removed" && waiting.has(event.instanceId)) {
          throw new HerdError(`instance ${event.instanceId} was unloaded while loading`);
        }
        if (event.type !== "instance-state-changed") continue;
        if (observe(event.instanceId, event.model, event.state, event.reason)) return;
      }
      if (!stop.signal.aborted) throw new HerdError("the node closed the event stream");
    })();
    const fromCluster = (async () => {
      while (!stop.signal.aborted) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        for (const summary of (await api.cluster()).instances) {
          if (observe(summary.id, summary.model, summary.state, summary.reason)) return;
        }
      }
    })();
    await Promise.race([fromEvents, fromCluster]);
    if (waiting.size > 0) throw new HerdError(`${request.model} was not READY after 15 minutes`);
  } finally {
    clearTimeout(timeout);
    stop.abort();
  }
}
