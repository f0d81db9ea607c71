import type { Point } from "./geometry.js";

/** The size of a node's box in the topology drawing. */
export const nodeBoxSize = { width: 250, height: 112 } as const;

/**
 * Where each node's box centre sits in a drawing `width` wide, and how tall the drawing is: a row
 * for one or two nodes, a triangle for three, an ellipse beyond. `extraHeight` stretches the
 * triangle and the ellipse, to make room for link labels.
 *
 * @example placeNodes(2, 1000) // { height: 136, centers: [{ x: 220, y: 68 }, { x: 780, y: 68 }] }
 */
export function placeNodes(
  count: number,
  width: number,
  extraHeight = 0,
): { height: number; centers: Point[] } {
  const { width: boxWidth, height: boxHeight } = nodeBoxSize;
  if (count <= 2) {
    const height = boxHeight + 24;
    const xs = count === 1 ? [width / 2] : [width * 0.22, width * 0.78];
    return { height, centers: xs.map((x) => ({ x, y: height / 2 })) };
  }
  if (count === 3) {
    const height = 370 + extraHeight;
    const centers = [
      { x: width / 2, y: boxHeight / 2 + 8 },
      { x: width * 0.8, y: height - boxHeight / 2 - 8 },
      { x: width * 0.2, y: height - boxHeight / 2 - 8 },
    ];
    return { height, centers };
  }
  const height = 460 + extraHeight;
  const radiusX = width / 2 - boxWidth / 2 - 16;
  const radiusY = height / 2 - boxHeight / 2 - 8;
  return {
    height,
    centers: Array.from({ length: count }, (_, index) => {
      const angle = -Math.PI / 2 + (index * 2 * Math.PI) / count;
      return { x: width / 2 + radiusX * Math.cos(angle), y: height / 2 + radiusY * Math.sin(angle) };
    }),
  };
}
