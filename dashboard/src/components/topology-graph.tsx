import type { Ref } from "preact";
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import type { ClusterView, LinkMeasurement, LinkView } from "../../../src/protocol/cluster.js";
import { formatBytes, formatDuration, formatMilliseconds, formatThroughput } from "../format.js";
import { interfaceLines } from "../interface-lines.js";
import { nodeColours, nodeName } from "../node-colours.js";
import type { Box } from "../topology/geometry.js";
import { layoutTopology, type TopologyLayout, type TopologyLink } from "../topology/layout-topology.js";
import { linkLabelSize, linkLabelText } from "../topology/place-link-labels.js";
import { nodeBoxSize } from "../topology/place-nodes.js";

type ClusterNode = ClusterView["nodes"][number];

const boxWidth = nodeBoxSize.width;
const boxHeight = nodeBoxSize.height;

/**
 * A label's second line is sized for the widest figures it can show, so that new measurements do
 * not move labels around.
 */
const widestFigures = "0.00 ms · 0000 KiB/s";

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
  const indexOf = new Map(nodes.map((node, index) => [node.id, index]));
  const links = view.links.filter((link) => indexOf.has(link.from) && indexOf.has(link.to));
  const layout = useTopologyLayout(
    nodes.length,
    links.map((link) => ({
      sender: indexOf.get(link.to)!,
      receiver: indexOf.get(link.from)!,
      labelSize: linkLabelSize([directionOf(view, link), widestFigures]),
    })),
    width,
  );
  const centerOf = (id: LinkMeasurement["from"]) => {
    const box = layout.nodes[indexOf.get(id)!]!;
    return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  };
  const colours = nodeColours(view);
  const reserved = reservedByHerd(view);
  const down = (link: LinkMeasurement) =>
    [link.from, link.to].some((id) => view.nodes.find((node) => node.id === id)?.state !== "alive");
  const pairs = new Map<string, LinkView>();
  for (const link of links) pairs.set([link.from, link.to].sort().join(" "), link);
  return (
    <div ref={container}>
      <svg
        class="topology"
        width={width}
        height={layout.height}
        viewBox={`0 0 ${width} ${layout.height}`}
        role="img"
        aria-label={`${nodes.length} nodes and their links`}
        data-testid="topology"
      >
        {/* Lines first, labels over them, nodes last: a line never runs across a label's text. */}
        {[...pairs.entries()].map(([key, link]) => {
          const a = centerOf(link.from);
          const b = centerOf(link.to);
          return (
            <line
              key={key}
              class={`link link-${link.path?.kind ?? "channel"}${down(link) ? " link-down" : ""}`}
              data-testid="link"
              x1={a.x}
              y1={a.y}
              x2={b.x}
              y2={b.y}
            />
          );
        })}
        {links.map((link, index) => (
          <LinkLabel
            key={`${link.from}-${link.to}`}
            view={view}
            link={link}
            down={down(link)}
            box={layout.labels[index]!}
          />
        ))}
        {nodes.map((node, index) => (
          <NodeBox
            key={node.id}
            node={node}
            view={view}
            colour={colours.get(node.id)!}
            reservedBytes={reserved.get(node.id) ?? 0}
            x={layout.nodes[index]!.x}
            y={layout.nodes[index]!.y}
          />
        ))}
      </svg>
    </div>
  );
}

/**
 * The drawing's layout, worked out again only when the nodes, the label sizes or the width change:
 * new measurements arrive every few seconds and change neither.
 */
function useTopologyLayout(nodeCount: number, links: TopologyLink[], width: number): TopologyLayout {
  const memo = useRef<{ key: string; layout: TopologyLayout }>(undefined);
  const key = JSON.stringify([nodeCount, links, width]);
  if (memo.current?.key !== key) memo.current = { key, layout: layoutTopology(nodeCount, links, width) };
  return memo.current.layout;
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

/** Which way the data of a measurement flowed: from the node that sent it to the one that measured it. */
function directionOf(view: ClusterView, link: LinkView): string {
  const direction = `${truncate(nodeName(view, link.to), 16)}→${truncate(nodeName(view, link.from), 16)}`;
  return link.path ? `${direction} · ${link.path.kind}` : direction;
}

/** Every path of a link, one a line, for the label's tooltip: the best one first. */
function pathLines(link: LinkView): string {
  return (link.paths ?? [])
    .map(
      (path) =>
        `${path.best ? "best: " : ""}${path.from} -> ${path.to} (${path.interface}, ${path.kind}${path.private ? ", private" : ""}): ${formatMilliseconds(path.rttMs)}, ${path.bytesPerSecond > 0 ? formatThroughput(path.bytesPerSecond) : "throughput not probed"}${path.rpc ? `, rpc ${path.rpc}` : ""}`,
    )
    .join("\n");
}

/** One direction of a link, beside its line: which way on the first line, the figures below. */
function LinkLabel({
  view,
  link,
  down,
  box,
}: {
  view: ClusterView;
  link: LinkView;
  down: boolean;
  box: Box;
}) {
  const { lineHeight, padding } = linkLabelText;
  // The baseline sits low in its line, so that the glyphs' ascent and descent stay inside it.
  const baseline = (line: number) => padding + lineHeight * line + 11;
  return (
    <g
      transform={`translate(${box.x} ${box.y})`}
      class={down ? "link-figure link-down" : "link-figure"}
      data-testid="link-figure"
      data-from={link.from}
      data-to={link.to}
      data-kind={link.path?.kind}
    >
      <title>{`measured by ${nodeName(view, link.from)} ${formatDuration(Date.now() - link.measuredAt)} ago: round trip, and a bulk transfer from ${nodeName(view, link.to)}${link.paths?.length ? `\n${pathLines(link)}` : ""}`}</title>
      <rect class="link-label" width={box.width} height={box.height} rx={5} />
      <text x={padding} y={baseline(0)} class="link-text link-direction">
        {directionOf(view, link)}
      </text>
      <text x={padding} y={baseline(1)} class="link-text">
        <tspan data-testid="link-rtt">{formatMilliseconds(link.rttMs)}</tspan>
        {" · "}
        <tspan data-testid="link-throughput">{formatThroughput(link.throughputBytesPerSecond)}</tspan>
      </text>
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
      <title>
        {[
          `${node.name} (${node.id})`,
          profile?.os ?? "",
          chipOf(node),
          node.endpoints.join(", "),
          ...interfaceLines(profile),
        ].join("\n")}
      </title>
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
