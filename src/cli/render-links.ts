import type { ClusterView } from "../protocol/cluster.js";
import { formatBytes } from "../util/format.js";
import { formatTable } from "./table.js";

/**
 * The links table of `herd status`: per pair of nodes its best path, or with `allPaths` every path,
 * with its kind, round trip, throughput and how the RPC of shards on it runs.
 *
 * @example renderLinks(view) // FROM  TO  PATH  KIND  RTT  THROUGHPUT  RPC ...
 */
export function renderLinks(view: ClusterView, allPaths = false): string {
  if (view.links.length === 0) return "links: not measured yet";
  const names = new Map(view.nodes.map((node) => [node.id, node.name]));
  const rows = view.links.flatMap((link) => {
    const from = names.get(link.from) ?? link.from.slice(0, 8);
    const to = names.get(link.to) ?? link.to.slice(0, 8);
    const ago = `${Math.round((Date.now() - link.measuredAt) / 1000)}s ago`;
    if (!link.paths?.length)
      return [
        [
          from,
          to,
          "cluster channel",
          "-",
          rtt(link.rttMs),
          throughput(link.throughputBytesPerSecond),
          "-",
          ago,
        ],
      ];
    const paths = allPaths ? link.paths : link.paths.filter((path) => path.best);
    return paths.map((path) => [
      from,
      to,
      `${path.from} -> ${path.to}`,
      path.kind + (path.private ? " (private)" : ""),
      rtt(path.rttMs),
      throughput(path.bytesPerSecond),
      path.rpc ?? "-",
      `${Math.round((Date.now() - path.measuredAt) / 1000)}s ago`,
    ]);
  });
  const table = formatTable(["FROM", "TO", "PATH", "KIND", "RTT", "THROUGHPUT", "RPC", "MEASURED"], rows);
  const hidden = allPaths
    ? 0
    : view.links.reduce((sum, link) => sum + Math.max(0, (link.paths?.length ?? 0) - 1), 0);
  return hidden > 0 ? `${table}\n(${hidden} other paths: herd status --paths)` : table;
}

function rtt(milliseconds: number): string {
  return `${milliseconds.toFixed(2)} ms`;
}

function throughput(bytesPerSecond: number): string {
  return bytesPerSecond > 0 ? `${formatBytes(bytesPerSecond)}/s` : "not probed";
}
