import type { PlanView } from "../../../src/client/herd-client.js";
import { planRdmaWarnings, shardRoute } from "../../../src/client/shard-route.js";
import type { ClusterView } from "../../../src/protocol/cluster.js";
import { formatBytes, formatRate } from "../format.js";
import { LayerMap } from "./layer-map.js";
import { WarningList } from "./warning-list.js";

interface PlanPreviewProps {
  plan: PlanView;
  layerCount: number;
  colours: Map<string, string>;
  name: (id: string) => string;
  /** The cluster: its measured links (the path a tunnelled shard's channel rides) and what each end can do for RDMA. */
  view: ClusterView;
}

/**
 * The planner's dry run: which node gets which layers and how the head reaches it, memory per node,
 * predicted speed, alternatives.
 */
export function PlanPreview({ plan, layerCount, colours, name, view }: PlanPreviewProps) {
  return (
    <div class="plan" data-testid="plan" data-head={plan.head} data-split={plan.splitMode}>
      <div class="figures">
        <div class="figure">
          <span class="figure-label">head</span>
          <span class="figure-value">{name(plan.head)}</span>
        </div>
        <div class="figure">
          <span class="figure-label">split</span>
          <span class="figure-value">{plan.splitMode}</span>
        </div>
        {plan.predicted ? (
          <>
            <div class="figure">
              <span class="figure-label">predicted decode</span>
              <span class="figure-value" data-testid="predicted-decode">
                {formatRate(plan.predicted.decodeTokensPerSecond)} tok/s
              </span>
            </div>
            <div class="figure">
              <span class="figure-label">predicted prefill</span>
              <span class="figure-value">{formatRate(plan.predicted.prefillTokensPerSecond)} tok/s</span>
            </div>
          </>
        ) : null}
      </div>
      <LayerMap plan={plan} layerCount={layerCount} colours={colours} name={name} />
      <table class="table" data-testid="plan-nodes">
        <thead>
          <tr>
            <th>node</th>
            <th>layers</th>
            <th class="number">share</th>
            <th class="number">memory needed</th>
            <th class="number">available</th>
            <th class="number">free after load</th>
            <th>reached over</th>
          </tr>
        </thead>
        <tbody>
          {plan.shards.map((shard) => {
            const memory = plan.memoryPerNode?.find((entry) => entry.node === shard.node);
            const freeAfter = memory && (memory.freeAfterBytes ?? memory.availableBytes - memory.neededBytes);
            return (
              <tr key={`${shard.node}-${shard.layerStart}`} data-node-id={shard.node}>
                <td>
                  <span class="swatch" style={{ background: colours.get(shard.node) }} />
                  {name(shard.node)}
                </td>
                <td>
                  {plan.splitMode === "tensor"
                    ? "slice of every layer"
                    : shard.layerEnd - shard.layerStart === 1
                      ? String(shard.layerStart)
                      : `${shard.layerStart}–${shard.layerEnd - 1}`}
                </td>
                <td class="number">{(shard.fraction * 100).toFixed(0)}%</td>
                <td class="number">{memory ? formatBytes(memory.neededBytes) : "–"}</td>
                <td class="number">{memory ? formatBytes(memory.availableBytes) : "–"}</td>
                <td class="number">{freeAfter !== undefined ? formatBytes(freeAfter) : "–"}</td>
                <td data-testid="shard-route">{shardRoute(plan, shard.node, view)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <WarningList warnings={planRdmaWarnings(plan, view)} />
      {plan.reasons && plan.reasons.length > 0 ? (
        <details open>
          <summary>why this plan</summary>
          <ul class="reasons">
            {plan.reasons.map((reason) => (
              <li key={reason}>{reason}</li>
            ))}
          </ul>
        </details>
      ) : null}
      {plan.alternatives && plan.alternatives.length > 0 ? (
        <details>
          <summary>{plan.alternatives.length} alternatives considered</summary>
          <table class="table compact" data-testid="alternatives">
            <thead>
              <tr>
                <th>nodes</th>
                <th>split</th>
                <th>fits</th>
                <th class="number">decode tok/s</th>
                <th>why not</th>
              </tr>
            </thead>
            <tbody>
              {plan.alternatives.map((alternative) => (
                <tr key={`${alternative.nodes.join(",")}-${alternative.splitMode}`}>
                  <td>{alternative.nodes.map(name).join(", ")}</td>
                  <td>{alternative.splitMode}</td>
                  <td>{alternative.fits ? "yes" : "no"}</td>
                  <td class="number">
                    {alternative.predicted ? formatRate(alternative.predicted.decodeTokensPerSecond) : "–"}
                  </td>
                  <td class="muted">{alternative.why}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      ) : null}
    </div>
  );
}
