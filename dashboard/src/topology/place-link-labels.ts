import { areaOutside, type Box, clipSegment, inflate, overlapArea, type Point } from "./geometry.js";

/**
 * How link labels are set: one line of text per entry, in an 11 px monospace font (styles.css
 * `.link-text`), so a line's width follows from its length.
 */
export const linkLabelText = { characterWidth: 6.8, lineHeight: 15, padding: 6 } as const;

/** One direction of a link: a label of `size`, drawn beside the line from `start` to `end` (node centres). */
export interface LinkLabelRequest {
  start: Point;
  end: Point;
  size: { width: number; height: number };
}

/** Room kept between a label and the boxes around it, and between a label and its own line. */
const clearance = { box: 6, line: 4 };
/** Candidate spots are tried every `step` pixels along the visible part of the line. */
const step = 8;
/** Extra distances from the line tried when the spot right beside it is taken. */
const extraOffsets = [0, 14, 30, 60];
/** Rounds of placing every label. */
const rounds = 4;
/** What each fault of a spot costs; any collision outweighs every other fault. */
const cost = { collisionPerPixel: 1000, crossedLine: 400, otherSide: 40, perPixelFromMiddle: 1 };

/** The size of a label holding `lines`, padding included. */
export function linkLabelSize(lines: string[]): { width: number; height: number } {
  const { characterWidth, lineHeight, padding } = linkLabelText;
  const longest = Math.max(0, ...lines.map((line) => line.length));
  return {
    width: Math.ceil(longest * characterWidth) + 2 * padding,
    height: lines.length * lineHeight + 2 * padding,
  };
}

/**
 * Where each link label goes: beside its own line, on the left of the direction it describes (so
 * the two directions of a link face each other across it), as near the middle as it can be
 * without touching a node box, another label or the drawing's edge, and preferably without
 * crossing another link's line. `collisions` is the area (px²) where labels still touch something
 * when there was no room for them all, 0 when every label is clear; `crossings` counts the other
 * links' lines that labels lie across (and hide).
 *
 * @example
 * placeLinkLabels([{ start: { x: 0, y: 50 }, end: { x: 400, y: 50 }, size: { width: 48, height: 42 } }], [], { width: 400, height: 100 })
 * // { boxes: [{ x: 176, y: 4, width: 48, height: 42 }], collisions: 0, crossings: 0 }: above the middle of the line
 */
export function placeLinkLabels(
  labels: LinkLabelRequest[],
  nodes: Box[],
  bounds: { width: number; height: number },
): { boxes: Box[]; collisions: number; crossings: number } {
  const obstacles = nodes.map((node) => inflate(node, clearance.box));
  const collisionOf = (box: Box, neighbours: Box[]) =>
    areaOutside(box, bounds) +
    sum(obstacles, (node) => overlapArea(box, node)) +
    sum(neighbours, (other) => overlapArea(box, other));
  const placed: Box[] = new Array(labels.length);
  const neighboursOf = (index: number) =>
    placed.flatMap((box, other) =>
      box !== undefined && other !== index ? [inflate(box, clearance.box)] : [],
    );
  const lines = distinctLines(labels);
  const spotsOf = labels.map((label) => candidates(label, nodes));
  // Labels of the shortest links, which have the least room, go first.
  const order = labels
    .map((label, index) => ({ index, room: visibleRange(label, nodes).length }))
    .sort((a, b) => a.room - b.room || a.index - b.index);
  // The first round places each label among those already placed; later rounds move each one to
  // its best spot among all the others, which undoes the worst choices made without knowing them.
  for (let round = 0; round < rounds; round++) {
    let moved = false;
    for (const { index } of order) {
      const label = labels[index]!;
      const neighbours = neighboursOf(index);
      const otherLines = lines.filter((line) => !sameLine(line, label));
      let best: { box: Box; cost: number } | undefined;
      for (const candidate of spotsOf[index]!) {
        // Each fault only adds to the displacement: once that alone costs more than the best spot,
        // so does every spot after it.
        if (best && candidate.displacement >= best.cost) break;
        let total = candidate.displacement + collisionOf(candidate.box, neighbours) * cost.collisionPerPixel;
        if (best && total >= best.cost) continue;
        for (const line of otherLines) {
          if (clipSegment(line.start, line.end, candidate.box)) total += cost.crossedLine;
        }
        if (!best || total < best.cost) best = { box: candidate.box, cost: total };
      }
      moved ||= placed[index] === undefined || !sameBox(placed[index]!, best!.box);
      placed[index] = best!.box;
    }
    if (!moved) break;
  }
  const collisions = sum(placed, (box, index) => collisionOf(box, neighboursOf(index)));
  const crossings = sum(
    placed,
    (box, index) =>
      lines.filter((line) => !sameLine(line, labels[index]!) && clipSegment(line.start, line.end, box))
        .length,
  );
  return { boxes: placed, collisions: collisions < 0.5 ? 0 : collisions, crossings };
}

/** The part of a link's line between the two node boxes, as fractions from start to end. */
function visibleRange(label: LinkLabelRequest, nodes: Box[]): { from: number; to: number; length: number } {
  let from = 0;
  let to = 1;
  for (const node of nodes) {
    const inside = clipSegment(label.start, label.end, node);
    if (!inside) continue;
    if (inside[0] <= 0) from = Math.max(from, inside[1]);
    if (inside[1] >= 1) to = Math.min(to, inside[0]);
  }
  const total = Math.hypot(label.end.x - label.start.x, label.end.y - label.start.y);
  if (to < from) return { from: 0.5, to: 0.5, length: 0 };
  return { from, to, length: (to - from) * total };
}

/**
 * Spots beside the line, each with what straying from the middle of the preferred side costs,
 * cheapest first.
 */
function candidates(label: LinkLabelRequest, nodes: Box[]): Array<{ box: Box; displacement: number }> {
  const spots: Array<{ box: Box; displacement: number }> = [];
  const { width, height } = label.size;
  const dx = label.end.x - label.start.x;
  const dy = label.end.y - label.start.y;
  const length = Math.hypot(dx, dy) || 1;
  // The left of travel, on a screen whose y axis points down.
  const left = { x: dy / length, y: -dx / length };
  // How far the box reaches across the line from its centre, so that it clears the line exactly.
  const reach = (width / 2) * Math.abs(left.x) + (height / 2) * Math.abs(left.y);
  const visible = visibleRange(label, nodes);
  const middle = (visible.from + visible.to) / 2;
  const steps = Math.floor(visible.length / 2 / step);
  for (let index = -steps; index <= steps; index++) {
    const fraction = middle + (index * step) / length;
    const along = { x: label.start.x + dx * fraction, y: label.start.y + dy * fraction };
    for (const side of [1, -1]) {
      for (const extra of extraOffsets) {
        const distance = side * (reach + clearance.line + extra);
        const center = { x: along.x + left.x * distance, y: along.y + left.y * distance };
        spots.push({
          box: { x: center.x - width / 2, y: center.y - height / 2, width, height },
          displacement:
            Math.abs(index * step) * cost.perPixelFromMiddle + extra + (side === 1 ? 0 : cost.otherSide),
        });
      }
    }
  }
  return spots.sort((a, b) => a.displacement - b.displacement);
}

function sameLine(a: { start: Point; end: Point }, b: { start: Point; end: Point }): boolean {
  const equal = (p: Point, q: Point) => p.x === q.x && p.y === q.y;
  return (equal(a.start, b.start) && equal(a.end, b.end)) || (equal(a.start, b.end) && equal(a.end, b.start));
}

/** Each link's line once, though both its directions have a label. */
function distinctLines(labels: LinkLabelRequest[]): Array<{ start: Point; end: Point }> {
  const lines: Array<{ start: Point; end: Point }> = [];
  for (const { start, end } of labels) {
    if (!lines.some((line) => sameLine(line, { start, end }))) lines.push({ start, end });
  }
  return lines;
}

function sameBox(a: Box, b: Box): boolean {
  return a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;
}

function sum<T>(items: T[], measure: (item: T, index: number) => number): number {
  return items.reduce((total, item, index) => total + measure(item, index), 0);
}
