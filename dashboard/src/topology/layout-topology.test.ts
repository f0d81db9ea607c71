import { describe, expect, it } from "vitest";
import { areaOutside, type Box, clipSegment, overlapArea, type Point } from "./geometry.js";
import { layoutTopology, type TopologyLink } from "./layout-topology.js";
import { linkLabelSize } from "./place-link-labels.js";

/** Node names as people give them: one letter, a word, a host name as long as a label shows. */
const nameSets = [
  ["a", "b", "c", "d", "e"],
  ["alpha", "bravo", "charlie", "delta", "echo"],
  ["workstation-0001", "workstation-0002", "workstation-0003", "workstation-0004", "workstation-0005"],
];
/** The drawing's width on a 1024, 1400 and 1920 pixel wide window. */
const widths = [960, 1338, 1860];

/** Every direction between `count` nodes, each labelled as the dashboard labels it. */
function linksBetween(names: string[]): TopologyLink[] {
  return names.flatMap((sender, senderIndex) =>
    names.flatMap((receiver, receiverIndex) =>
      senderIndex === receiverIndex
        ? []
        : [
            {
              sender: senderIndex,
              receiver: receiverIndex,
              labelSize: linkLabelSize([`${sender}→${receiver}`, "0.00 ms · 0000 KiB/s"]),
            },
          ],
    ),
  );
}

const centerOf = (box: Box): Point => ({ x: box.x + box.width / 2, y: box.y + box.height / 2 });

/**
 * How far `box` stands from the line `start`–`end`, across it (negative where the line runs through
 * the box), and where along it, as a fraction of the way from start to end.
 */
function besideLine(box: Box, start: Point, end: Point): { gap: number; along: number } {
  const length = Math.hypot(end.x - start.x, end.y - start.y);
  const direction = { x: (end.x - start.x) / length, y: (end.y - start.y) / length };
  const center = centerOf(box);
  const relative = { x: center.x - start.x, y: center.y - start.y };
  const across = relative.x * direction.y - relative.y * direction.x;
  const reach = (box.width / 2) * Math.abs(direction.y) + (box.height / 2) * Math.abs(direction.x);
  return {
    gap: Math.abs(across) - reach,
    along: (relative.x * direction.x + relative.y * direction.y) / length,
  };
}

const cases = [2, 3, 4, 5].flatMap((count) =>
  widths.flatMap((width) => nameSets.map((names) => ({ count, width, names: names.slice(0, count) }))),
);

describe("layoutTopology", () => {
  it.each(cases)(
    "$count nodes named like $names.0, $width px wide: every label clear and beside its line",
    ({ count, width, names }) => {
      const links = linksBetween(names);
      const { height, nodes, labels } = layoutTopology(count, links, width);
      const bounds = { width, height };
      expect(nodes).toHaveLength(count);
      expect(labels).toHaveLength(links.length);
      for (const [index, node] of nodes.entries()) {
        expect(areaOutside(node, bounds), `node ${index} inside the drawing`).toBeLessThan(1e-6);
        for (const other of nodes.slice(index + 1)) expect(overlapArea(node, other)).toBe(0);
      }
      for (const [index, label] of labels.entries()) {
        const link = links[index]!;
        const name = `${names[link.sender]}→${names[link.receiver]}`;
        expect(areaOutside(label, bounds), `${name} inside the drawing`).toBeLessThan(1e-6);
        for (const [nodeIndex, node] of nodes.entries()) {
          expect(overlapArea(label, node), `${name} on node ${names[nodeIndex]}`).toBe(0);
        }
        for (const [otherIndex, other] of labels.entries()) {
          if (otherIndex !== index)
            expect(overlapArea(label, other), `${name} on label ${otherIndex}`).toBe(0);
        }
        const beside = besideLine(label, centerOf(nodes[link.sender]!), centerOf(nodes[link.receiver]!));
        expect(beside.gap, `${name} clear of its own line`).toBeGreaterThanOrEqual(3.99);
        expect(beside.gap, `${name} near its own line`).toBeLessThanOrEqual(64.01);
        expect(beside.along, `${name} alongside its line`).toBeGreaterThan(0);
        expect(beside.along, `${name} alongside its line`).toBeLessThan(1);
      }
    },
  );

  it.each([2, 3, 4, 5])(
    "%i nodes named with words, on a 1400 pixel wide window: no label hides another link's line",
    (count) => {
      const names = nameSets[1]!.slice(0, count);
      const links = linksBetween(names);
      const { nodes, labels } = layoutTopology(count, links, 1338);
      for (const [index, label] of labels.entries()) {
        const own = links[index]!;
        for (const link of links) {
          if ([own.sender, own.receiver].every((node) => node === link.sender || node === link.receiver))
            continue;
          const line = clipSegment(centerOf(nodes[link.sender]!), centerOf(nodes[link.receiver]!), label);
          expect(
            line,
            `${names[own.sender]}→${names[own.receiver]} across the line ${names[link.sender]}–${names[link.receiver]}`,
          ).toBeUndefined();
        }
      }
    },
  );

  it("puts the two directions of a link on either side of its line, in the middle", () => {
    const links = linksBetween(["alpha", "bravo"]);
    const { nodes, labels } = layoutTopology(2, links, 1338);
    const [alpha, bravo] = nodes.map(centerOf) as [Point, Point];
    const [toBravo, toAlpha] = labels as [Box, Box];
    // alpha is on the left: what it sends is read above the line, what it receives below.
    expect(toBravo.y + toBravo.height).toBeLessThan(alpha.y);
    expect(toAlpha.y).toBeGreaterThan(alpha.y);
    expect(centerOf(toBravo).x).toBeCloseTo((alpha.x + bravo.x) / 2);
    expect(centerOf(toAlpha).x).toBeCloseTo((alpha.x + bravo.x) / 2);
  });

  it("grows the drawing, rather than let labels collide, when five nodes with long names share a narrow one", () => {
    const names = nameSets[2]!;
    expect(layoutTopology(5, linksBetween(names), 960).height).toBeGreaterThan(
      layoutTopology(5, linksBetween(names), 1860).height,
    );
  });
});
