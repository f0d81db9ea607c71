import type { Box } from "./geometry.js";
import { placeLinkLabels } from "./place-link-labels.js";
import { nodeBoxSize, placeNodes } from "./place-nodes.js";

/** One direction of a link: data flowing from node `sender` to node `receiver` (indices), and its label's size. */
export interface TopologyLink {
  sender: number;
  receiver: number;
  labelSize: { width: number; height: number };
}

export interface TopologyLayout {
  height: number;
  nodes: Box[];
  /** One box per link, in the order of the links given. */
  labels: Box[];
}

/** How much taller the drawing may grow, and by how much at a time, to fit every link label. */
const growth = { step: 40, most: 480 };

/**
 * The topology drawing `width` wide: node boxes and a spot for every link's label, in the shortest
 * drawing (from its usual height, a step at a time) where no label touches anything or hides
 * another link's line. Failing that, the shortest where no label touches anything; failing that
 * too, the tallest.
 */
export function layoutTopology(nodeCount: number, links: TopologyLink[], width: number): TopologyLayout {
  let tallest: TopologyLayout | undefined;
  let firstClear: TopologyLayout | undefined;
  for (let extraHeight = 0; extraHeight <= growth.most; extraHeight += growth.step) {
    const { height, centers } = placeNodes(nodeCount, width, extraHeight);
    const nodes = centers.map((center) => ({
      x: center.x - nodeBoxSize.width / 2,
      y: center.y - nodeBoxSize.height / 2,
      ...nodeBoxSize,
    }));
    const requests = links.map((link) => ({
      start: centers[link.sender]!,
      end: centers[link.receiver]!,
      size: link.labelSize,
    }));
    const { boxes, collisions, crossings } = placeLinkLabels(requests, nodes, { width, height });
    tallest = { height, nodes, labels: boxes };
    if (collisions === 0 && crossings === 0) return tallest;
    if (collisions === 0) firstClear ??= tallest;
    // One or two nodes sit in a row whose height does not change.
    if (nodeCount <= 2) break;
  }
  if (firstClear) return firstClear;
  return tallest!;
}
