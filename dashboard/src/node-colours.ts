import type { ClusterView } from "../../src/protocol/cluster.js";

const palette = ["#4f7cff", "#22a06b", "#e0892b", "#b25ad6", "#d6506e", "#1a9fb5", "#8c9a1f", "#7a6cff"];

/** One colour per node, stable while the cluster keeps its members (ordered by when they joined). */
export function nodeColours(view: ClusterView): Map<string, string> {
  const ordered = [...view.nodes].sort((a, b) => a.joinedAt - b.joinedAt || a.id.localeCompare(b.id));
  return new Map(ordered.map((node, index) => [node.id, palette[index % palette.length]!]));
}

export function nodeName(view: ClusterView, id: string): string {
  return view.nodes.find((node) => node.id === id)?.name ?? id.slice(0, 8);
}
