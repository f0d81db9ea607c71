import { useState } from "preact/hooks";
import type { ClusterView, InstanceSummary, PlacedInstance } from "../../../src/protocol/cluster.js";
import { useServices } from "../app-context.js";
import { errorMessage, isUnauthorized } from "../connection.js";
import { formatAgo, formatBytes, formatRate } from "../format.js";
import { nodeColours, nodeName } from "../node-colours.js";
import { LayerMap } from "./layer-map.js";
import { Sparkline } from "./sparkline.js";

/** Samples a head keeps of an instance's tokens/s (five minutes at its 2 s interval). */
const historyLength = 150;

/** Every instance of the cluster: where its layers sit, its state, how busy and how fast it is. */
export function InstanceList({ view }: { view: ClusterView }) {
  const colours = nodeColours(view);
  if (view.desired.instances.length === 0) {
    return (
      <p class="empty">
        No model is loaded. <a href="#/load">Load one</a> to see where its layers go.
      </p>
    );
  }
  return (
    <div class="instance-list">
      {view.desired.instances.map((instance) => (
        <InstanceCard
          key={instance.id}
          instance={instance}
          summary={view.instances.find((candidate) => candidate.id === instance.id)}
          view={view}
          colours={colours}
        />
      ))}
    </div>
  );
}

interface InstanceCardProps {
  instance: PlacedInstance;
  summary: InstanceSummary | undefined;
  view: ClusterView;
  colours: Map<string, string>;
}

function InstanceCard({ instance, summary, view, colours }: InstanceCardProps) {
  const { client, onUnauthorized } = useServices();
  const [busy, setBusy] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const state =
    instance.suspended !== undefined
      ? "FAILED"
      : instance.draining
        ? "DRAINING"
        : (summary?.state ?? "PLANNED");
  const reason =
    instance.suspended ??
    (instance.draining
      ? "no new requests; unloaded when those in flight are done"
      : (summary?.reason ?? "waiting for the head node to start it"));
  const stats = state === "READY" ? summary?.stats : undefined;
  const name = (id: string) => nodeName(view, id);
  const plan = instance.plan ?? {
    splitMode: "none" as const,
    shards: [
      { node: instance.node, layerStart: 0, layerEnd: instance.basis?.model.layerCount ?? 1, fraction: 1 },
    ],
  };
  const reservedBytes = instance.plan?.shards.reduce((sum, shard) => sum + (shard.totalBytes ?? 0), 0) ?? 0;

  const act = async (label: string, action: () => Promise<unknown>) => {
    setBusy(label);
    setError(undefined);
    try {
      await action();
    } catch (failure) {
      if (isUnauthorized(failure)) onUnauthorized();
      else setError(errorMessage(failure));
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <section class="instance card" data-testid="instance" data-instance-id={instance.id} data-state={state}>
      <header class="instance-header">
        <span class={`state-pill state-${state}`} data-testid="instance-state">
          {state}
        </span>
        <h3>{instance.model}</h3>
        <code class="muted">{instance.id}</code>
        <span class="spacer" />
        <button
          type="button"
          disabled={busy !== undefined || instance.draining !== undefined}
          data-testid="drain"
          title="Stop routing new requests here and unload once the running ones finish"
          onClick={() => act("drain", () => client.drainInstance(instance.id, { wait: false }))}
        >
          {busy === "drain" ? "Draining…" : "Drain"}
        </button>
        <button
          type="button"
          class="danger"
          disabled={busy !== undefined}
          data-testid="unload"
          onClick={() => {
            if (confirm(`Unload ${instance.model} (${instance.id})? Requests in flight are cut off.`)) {
              void act("unload", () => client.unload(instance.id));
            }
          }}
        >
          {busy === "unload" ? "Unloading…" : "Unload"}
        </button>
      </header>
      <p class="instance-reason" data-testid="instance-reason">
        {reason}
        {summary ? <span class="muted"> · {formatAgo(summary.since)}</span> : null}
      </p>
      <LayerMap
        plan={plan}
        layerCount={instance.basis?.model.layerCount ?? 0}
        colours={colours}
        name={name}
      />
      <div class="instance-figures">
        <Figure label="head" value={name(instance.node)} />
        <Figure label="split" value={plan.splitMode} />
        <Figure label="context" value={`${instance.contextSize.toLocaleString()} tokens`} />
        <Figure
          label="slots in use"
          value={
            stats
              ? `${stats.slotsInUse} / ${stats.slots}${stats.queued ? ` (+${stats.queued} waiting)` : ""}`
              : `– / ${instance.parallel}`
          }
          testId="slots"
        />
        <Figure
          label="tokens/s now"
          value={stats ? formatRate(stats.tokensPerSecond) : "–"}
          testId="tokens-per-second"
        />
        {instance.plan?.predictedDecodeTokensPerSecond ? (
          <Figure
            label="predicted"
            value={`${formatRate(instance.plan.predictedDecodeTokensPerSecond)} tok/s`}
          />
        ) : null}
        {reservedBytes > 0 ? <Figure label="memory" value={formatBytes(reservedBytes)} /> : null}
        <div class="figure chart">
          <span class="figure-label">
            tokens/s, last {Math.round(((stats?.sampleIntervalMs ?? 2000) * historyLength) / 60_000)} min
            {stats && stats.recentTokensPerSecond.length > 0
              ? ` · peak ${formatRate(Math.max(...stats.recentTokensPerSecond))}`
              : ""}
          </span>
          <Sparkline values={stats?.recentTokensPerSecond ?? []} capacity={historyLength} />
        </div>
      </div>
      {error ? <p class="error">{error}</p> : null}
    </section>
  );
}

function Figure({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div class="figure" data-testid={testId}>
      <span class="figure-label">{label}</span>
      <span class="figure-value">{value}</span>
    </div>
  );
}
