import type { Ref } from "preact";
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import type { ClusterView, LinkMeasurement } from "../../../src/protocol/cluster.js";
import { formatBytes, formatDuration, formatMilliseconds, formatThroughput } from "../format.js";
import { nodeColours, nodeName } from "../node-colours.js";

type ClusterNode = ClusterView["nodes"][number];

const boxWidth = 250;
const boxHeight = 112;

/**
 * Where each node's box sits in a drawing `width` wide: a row for one or two nodes, a triangle for
 * three, an ellipse beyond. Drawn at the page's own width, so text keeps its size on any screen.
 */
function layout(
  count: number,
  width: number,
): { height: number; positions: Array<{ x: number; y: number }> } {
  if (count <= 2) {
    const height = boxHeight + 24;
    const xs = count === 1 ? [width / 2] : [width * 0.22, width * 0.78];
    return { height, positions: xs.map((x) => ({ x, y: height / 2 })) };
  }
  if (count === 3) {
    const height = 370;
    const positions = [
      { x: width / 2, y: boxHeight / 2 + 8 },
      { x: width * 0.8, y: height - boxHeight / 2 - 8 },
      { x: width * 0.2, y: height - boxHeight / 2 - 8 },
    ];
    return { height, positions };
  }
  const height = 460;
  const radiusX = width / 2 - boxWidth / 2 - 16;
  const radiusY = height / 2 - boxHeight / 2 - 8;
  return {
    height,
    positions: Array.from({ length: count }, (_, index) => {
      const angle = -Math.PI / 2 + (index * 2 * Math.PI) / count;
      return { x: width / 2 + radiusX * Math.cos(angle), y: height / 2 + radiusY * Math.sin(angle) };
    }),
  };
}

/** Memory herd reserved on each node: the planner's figure for every part of every placed instance. */
function reservedByHerd(view: ClusterView): Map<string, number> {
  const reserved = new Map<string, number>();
  for (const instance of view.desired.instances) {
    if (instance.suspended !== undefined) continue;
    for (const shard of instance.plan?.shards ?? []) {
      reserved.set(shard.node, (reserved.get(shard.node) ?? 0) + (shard.totalBytes ?? 0));
    }
  }
  return reserved;
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

/** The machine's accelerator if it has one, else its CPU. */
function chipOf(node: ClusterNode): string {
  const profile = node.profile;
  if (!profile) return "profile not received yet";
  const accelerator = profile.devices.find((device) => device.name !== "CPU");
  return accelerator ? `${accelerator.name} ${accelerator.description}` : `${profile.cpuModel}`;
}

/** The cluster as a picture: nodes with their machines and memory, links with measured latency and throughput. */
export function TopologyGraph({ view }: { view: ClusterView }) {
  const [container, width] = useWidth(960);
  const nodes = [...view.nodes].sort((a, b) => a.joinedAt - b.joinedAt || a.id.localeCompare(b.id));
  const { height, positions } = layout(nodes.length, width);
  const at = new Map<string, { x: number; y: number }>(
    nodes.map((node, index) => [node.id, positions[index]!]),
  );
  const colours = nodeColours(view);
  const reserved = reservedByHerd(view);
  const pairs = new Map<string, LinkMeasurement[]>();
  for (const link of view.links) {
    if (!at.has(link.from) || !at.has(link.to)) continue;
    const key = [link.from, link.to].sort().join(" ");
    pairs.set(key, [...(pairs.get(key) ?? []), link]);
  }
  return (
    <div ref={container}>
      <svg
        class="topology"
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`${nodes.length} nodes and their links`}
        data-testid="topology"
      >
        {[...pairs.entries()].map(([key, links]) => {
          const [first, second] = key.split(" ") as [string, string];
          const a = at.get(first)!;
          const b = at.get(second)!;
          const down = [first, second].some(
            (id) => view.nodes.find((node) => node.id === id)?.state !== "alive",
          );
          return (
            <g key={key} class={down ? "link link-down" : "link"} data-testid="link">
              <line x1={a.x} y1={a.y} x2={b.x} y2={b.y} />
              <LinkLabel view={view} links={links} x={(a.x + b.x) / 2} y={(a.y + b.y) / 2} />
            </g>
          );
        })}
        {nodes.map((node) => (
          <NodeBox
            key={node.id}
            node={node}
            view={view}
            colour={colours.get(node.id)!}
            reservedBytes={reserved.get(node.id) ?? 0}
            x={at.get(node.id)!.x - boxWidth / 2}
            y={at.get(node.id)!.y - boxHeight / 2}
          />
        ))}
      </svg>
    </div>
  );
}

/** The width of the element behind the returned ref, followed as the window resizes. */
function useWidth(initial: number): [Ref<HTMLDivElement>, number] {
  const element = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(initial);
  useLayoutEffect(() => {
    if (!element.current) return;
    const observer = new ResizeObserver(([entry]) => {
      if (entry) setWidth(Math.max(600, Math.floor(entry.contentRect.width)));
    });
    observer.observe(element.current);
    return () => observer.disconnect();
  }, []);
  return [element, width];
}

/** One row per direction: the data flowing `to` → `from`, as `from` measured it. */
function LinkLabel({
  view,
  links,
  x,
  y,
}: {
  view: ClusterView;
  links: LinkMeasurement[];
  x: number;
  y: number;
}) {
  const rowHeight = 15;
  const labelWidth = 196;
  const labelHeight = links.length * rowHeight + 8;
  const sorted = [...links].sort((a, b) => nodeName(view, a.to).localeCompare(nodeName(view, b.to)));
  return (
    <g transform={`translate(${x - labelWidth / 2} ${y - labelHeight / 2})`}>
      <rect class="link-label" width={labelWidth} height={labelHeight} rx={5} />
      {sorted.map((link, index) => (
        <text
          key={`${link.from}-${link.to}`}
          x={8}
          y={4 + rowHeight * (index + 1) - 3}
          class="link-text"
          data-testid="link-figure"
          data-from={link.from}
          data-to={link.to}
        >
          <title>{`measured by ${nodeName(view, link.from)} ${formatDuration(Date.now() - link.measuredAt)} ago: round trip, and a bulk transfer from ${nodeName(view, link.to)}`}</title>
          <tspan class="link-direction">{`${nodeName(view, link.to)}→${nodeName(view, link.from)}`}</tspan>
          <tspan x={56} data-testid="link-rtt">
            {formatMilliseconds(link.rttMs)}
          </tspan>
          <tspan x={118} data-testid="link-throughput">
            {formatThroughput(link.throughputBytesPerSecond)}
          </tspan>
        </text>
      ))}
    </g>
  );
}

function NodeBox(props: {
  node: ClusterNode;
  view: ClusterView;
  colour: string;
  reservedBytes: number;
  x: number;
  y: number;
}) {
  const { node, view, colour, reservedBytes } = props;
  const profile = node.profile;
  const self = node.id === view.self;
  const coordinator = node.id === view.coordinator;
  const total = profile?.machineMemoryBytes ?? 0;
  const free = profile?.memoryAvailableBytes ?? 0;
  const used = Math.max(0, total - free);
  const herd = Math.min(reservedBytes, used);
  const barWidth = boxWidth - 24;
  const scale = (bytes: number) => (total > 0 ? (bytes / total) * barWidth : 0);
  const limit = profile?.memoryLimited ? scale(profile.memoryTotalBytes) : undefined;
  const gpu = profile?.devices.some((device) => device.name !== "CPU");
  return (
    <g
      transform={`translate(${props.x} ${props.y})`}
      class={`node node-${node.state}`}
      data-testid="node"
      data-node-id={node.id}
      data-node-name={node.name}
      data-state={node.state}
      data-role={node.role}
    >
      <title>{`${node.name} (${node.id})\n${profile?.os ?? ""}\n${chipOf(node)}\n${node.endpoints.join(", ")}`}</title>
      <rect class="node-box" width={boxWidth} height={boxHeight} rx={8} />
      <rect width={5} height={boxHeight} rx={2} fill={colour} />
      <circle cx={20} cy={20} r={5} class={`state-dot state-${node.state}`} />
      <text x={32} y={25} class="node-name">
        {truncate(node.name, 16)}
      </text>
      <text x={boxWidth - 12} y={24} class="node-badges" text-anchor="end">
        {coordinator ? <tspan class="badge-coordinator">★ coordinator</tspan> : null}
        {self ? <tspan class="badge-self">{coordinator ? " · this node" : "this node"}</tspan> : null}
      </text>
      <text x={14} y={45} class="node-detail">
        {profile
          ? `${profile.platform} · ${profile.arch} · ${profile.cpuCores} cores · ${profile.engine?.backend ?? "no engine"}`
          : "waiting for its profile"}
      </text>
      <text x={14} y={62} class={gpu ? "node-detail node-chip" : "node-detail"}>
        {truncate(chipOf(node), 36)}
      </text>
      <g transform="translate(12 72)" data-testid="memory-bar">
        <rect class="memory-free" width={barWidth} height={9} rx={2} />
        <rect class="memory-used" width={scale(used)} height={9} rx={2} />
        <rect width={scale(herd)} height={9} rx={2} fill={colour} />
        {limit !== undefined ? <line class="memory-limit" x1={limit} x2={limit} y1={-2} y2={11} /> : null}
        <title>{`used ${formatBytes(used)} (herd reserved ${formatBytes(herd)}), free ${formatBytes(free)}, machine ${formatBytes(total)}${profile?.memoryLimited ? `, herd may use ${formatBytes(profile.memoryTotalBytes)}` : ""}`}</title>
      </g>
      <text x={14} y={100} class="node-detail">
        {node.state === "alive"
          ? `${formatBytes(free)} free / ${formatBytes(total)} · herd ${formatBytes(herd)}`
          : `${node.state} · last seen ${formatDuration(node.lastSeenMsAgo)} ago`}
      </text>
    </g>
  );
}
