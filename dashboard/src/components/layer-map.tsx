interface LayerMapProps {
  /** A placed instance's plan, or a dry run's. */
  plan: {
    splitMode: string;
    shards: Array<{ node: string; layerStart: number; layerEnd: number; fraction: number }>;
  };
  layerCount: number;
  colours: Map<string, string>;
  name: (id: string) => string;
}

/**
 * A bar of the model's layers, coloured by the node that holds them. With a tensor split every node
 * holds a slice of every layer, so the bar shows each node's fraction instead.
 */
export function LayerMap({ plan, layerCount, colours, name }: LayerMapProps) {
  const tensor = plan.splitMode === "tensor";
  const layers = Math.max(layerCount, ...plan.shards.map((shard) => shard.layerEnd), 1);
  return (
    <div class="layer-map" data-testid="layer-map" data-split={plan.splitMode}>
      {plan.shards.map((shard) => {
        const count = shard.layerEnd - shard.layerStart;
        const share = tensor ? shard.fraction : count / layers;
        const range =
          count === 1 ? `layer ${shard.layerStart}` : `layers ${shard.layerStart}–${shard.layerEnd - 1}`;
        const label = tensor
          ? `${name(shard.node)} ${(shard.fraction * 100).toFixed(0)}%`
          : `${name(shard.node)} ${range}`;
        return (
          <div
            key={`${shard.node}-${shard.layerStart}`}
            class="layer-segment"
            style={{
              flexGrow: share,
              background: colours.get(shard.node) ?? "var(--muted)",
              backgroundImage: tensor
                ? undefined
                : `repeating-linear-gradient(90deg, transparent 0 calc(${100 / count}% - 1px), rgba(255,255,255,.45) calc(${100 / count}% - 1px) ${100 / count}%)`,
            }}
            title={`${label}${tensor ? " of every layer" : ""}`}
            data-testid="layer-segment"
            data-node-id={shard.node}
            data-layer-start={shard.layerStart}
            data-layer-end={shard.layerEnd}
          >
            <span>{label}</span>
          </div>
        );
      })}
    </div>
  );
}
