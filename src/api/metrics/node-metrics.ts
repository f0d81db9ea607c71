import { Gauge, Registry } from "prom-client";
import type { ProbeTraffic } from "../../cluster/probe-budget.js";
import type { EngineLoad } from "../../engine/read-engine-load.js";
import type { ClusterView } from "../../protocol/cluster.js";
import { InstanceState, type InstanceStatus } from "../../protocol/instance.js";

/** What the node's state gauges are read from, taken at the moment of a scrape. */
export interface NodeSnapshot {
  view: ClusterView;
  /** Instances headed here, with their engine's load when it answered. */
  local: Array<{ status: InstanceStatus; load: EngineLoad | undefined }>;
  /** Requests this node has in flight to each instance (headed here or elsewhere). */
  inFlight: (instanceId: string) => number;
  /** This machine's memory, from the OS. */
  memory: { totalBytes: number; freeBytes: number };
  /** What this node's throughput probes cost; absent where no cluster node runs (in-process tests). */
  probes?: ProbeTraffic;
}

/**
 * The node's state as Prometheus gauges, built fresh from one snapshot: nothing to keep in step
 * between scrapes, and an instance or node that is gone simply stops appearing.
 */
export function nodeMetrics(snapshot: NodeSnapshot): Registry {
  const registry = new Registry();
  const gauge = <T extends string>(name: string, help: string, labelNames: readonly T[]) =>
    new Gauge({ name, help, labelNames, registers: [registry] });
  const nameOf = (id: string) => snapshot.view.nodes.find((node) => node.id === id)?.name ?? id;
  const self = nameOf(snapshot.view.self);

  const machineMemory = gauge("herd_machine_memory_bytes", "This node's machine memory", ["node", "kind"]);
  machineMemory.set({ node: self, kind: "total" }, snapshot.memory.totalBytes);
  machineMemory.set({ node: self, kind: "free" }, snapshot.memory.freeBytes);

  const nodeState = gauge("herd_node_state", "1 for each node's current membership state", ["node", "state"]);
  const nodeMemory = gauge("herd_node_memory_bytes", "Memory each node offers the planner (its heartbeat)", [
    "node",
    "kind",
  ]);
  for (const node of snapshot.view.nodes) {
    for (const state of ["alive", "suspected", "gone"] as const)
      nodeState.set({ node: node.name, state }, node.state === state ? 1 : 0);
    if (!node.profile) continue;
    nodeMemory.set({ node: node.name, kind: "total" }, node.profile.memoryTotalBytes);
    nodeMemory.set({ node: node.name, kind: "available" }, node.profile.memoryAvailableBytes);
  }

  const instanceState = gauge("herd_instance_state", "1 for each instance's current state", [
    "instance",
    "model",
    "node",
    "state",
  ]);
  for (const instance of snapshot.view.instances) {
    for (const state of InstanceState.options) {
      const labels = { instance: instance.id, model: instance.model, node: nameOf(instance.node), state };
      instanceState.set(labels, instance.state === state ? 1 : 0);
    }
  }

  const inFlight = gauge(
    "herd_instance_requests_in_flight",
    "Requests this node has sent to each instance and not finished",
    ["instance", "model"],
  );
  for (const instance of snapshot.view.instances) {
    inFlight.set({ instance: instance.id, model: instance.model }, snapshot.inFlight(instance.id));
  }

  const slots = gauge("herd_instance_slots", "Engine slots of each instance headed here", [
    "instance",
    "model",
  ]);
  const slotsInUse = gauge("herd_instance_slots_in_use", "Engine slots generating or reading a prompt", [
    "instance",
    "model",
  ]);
  const queue = gauge("herd_instance_queue_depth", "Requests the engine holds until a slot is free", [
    "instance",
    "model",
  ]);
  for (const { status, load } of snapshot.local) {
    const labels = { instance: status.id, model: status.model };
    slots.set(labels, status.parallel);
    if (!load) continue;
    slotsInUse.set(labels, load.slotsInUse);
    queue.set(labels, load.queued);
  }

  const rtt = gauge("herd_link_rtt_seconds", "Measured round trip between two nodes", ["from", "to"]);
  const throughput = gauge(
    "herd_link_throughput_bytes_per_second",
    "Measured bulk throughput between two nodes",
    ["from", "to"],
  );
  for (const link of snapshot.view.links) {
    const labels = { from: nameOf(link.from), to: nameOf(link.to) };
    rtt.set(labels, link.rttMs / 1000);
    throughput.set(labels, link.throughputBytesPerSecond);
  }

  const pathLabels = ["from", "to", "path", "kind"] as const;
  const pathRtt = gauge(
    "herd_path_rtt_seconds",
    "Measured round trip over each path between two nodes",
    pathLabels,
  );
  const pathThroughput = gauge(
    "herd_path_throughput_bytes_per_second",
    "Last probed throughput over each path (0 until probed)",
    pathLabels,
  );
  for (const link of snapshot.view.links) {
    for (const path of link.paths ?? []) {
      const labels = {
        from: nameOf(link.from),
        to: nameOf(link.to),
        path: `${path.from}>${path.to}`,
        kind: path.kind,
      };
      pathRtt.set(labels, path.rttMs / 1000);
      pathThroughput.set(labels, path.bytesPerSecond);
    }
  }

  if (snapshot.probes) {
    const probeBytes = gauge(
      "herd_probe_bytes_total",
      "Bytes of throughput probes this node received and served since it started",
      ["node", "direction"],
    );
    probeBytes.set({ node: self, direction: "received" }, snapshot.probes.receivedBytes);
    probeBytes.set({ node: self, direction: "sent" }, snapshot.probes.sentBytes);
    gauge("herd_probe_budget_bytes_per_minute", "Throughput-probe bytes allowed each way per minute", [
      "node",
    ]).set({ node: self }, snapshot.probes.budgetBytesPerMinute);
    gauge("herd_probes_deferred_total", "Throughput probes put off because the minute's budget was spent", [
      "node",
    ]).set({ node: self }, snapshot.probes.deferred);
  }
  return registry;
}
