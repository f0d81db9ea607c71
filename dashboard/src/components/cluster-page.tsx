import { rdmaWarnings } from "../../../src/fabric/rdma-warnings.js";
import type { ClusterView } from "../../../src/protocol/cluster.js";
import { InstanceList } from "./instance-list.js";
import { TopologyGraph } from "./topology-graph.js";
import { WarningList } from "./warning-list.js";

/** The cluster at a glance: machines and links on top (with paths that could carry RDMA and do not), what runs on them below. */
export function ClusterPage({ view }: { view: ClusterView }) {
  const alive = view.nodes.filter((node) => node.state === "alive").length;
  return (
    <div class="page">
      <section class="card">
        <header class="section-header">
          <h2>Nodes</h2>
          <span class="muted" data-testid="node-count">
            {alive} of {view.nodes.length} alive · {view.links.length} links measured
          </span>
          <span class="spacer" />
          <span class="legend muted small">
            memory <i class="legend-herd" /> reserved by herd <i class="legend-used" /> used{" "}
            <i class="legend-free" /> free · links: round trip, throughput
          </span>
        </header>
        <TopologyGraph view={view} />
        <WarningList warnings={rdmaWarnings(view)} />
      </section>
      <header class="section-header">
        <h2>Instances</h2>
        <span class="muted">{view.desired.instances.length} placed</span>
        <span class="spacer" />
        <a class="button" href="#/load">
          Load a model…
        </a>
      </header>
      <InstanceList view={view} />
    </div>
  );
}
