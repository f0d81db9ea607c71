/** A point in the topology drawing, in SVG user units (pixels, as it is drawn at the page's width). */
export interface Point {
  x: number;
  y: number;
}

/** An axis-aligned box: its top-left corner and its size. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The area two boxes share; 0 when they only touch or are apart. */
export function overlapArea(a: Box, b: Box): number {
  const width = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const height = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return width > 0 && height > 0 ? width * height : 0;
}

/** The area of `box` that lies outside the drawing `bounds` (0, 0)–(width, height). */
export function areaOutside(box: Box, bounds: { width: number; height: number }): number {
  return box.width * box.height - overlapArea(box, { x: 0, y: 0, ...bounds });
}

export function inflate(box: Box, margin: number): Box {
  return {
    x: box.x - margin,
    y: box.y - margin,
    width: box.width + 2 * margin,
    height: box.height + 2 * margin,
  };
}

/**
 * The part of the segment `start`–`end` inside `box`, as fractions of the way from start to end,
 * or undefined where it misses the box (Liang–Barsky clipping).
 */
export function clipSegment(start: Point, end: Point, box: Box): [number, number] | undefined {
  const dx = end.x - start.x;
  const dy = end.y - start.y;
  let enter = 0;
  let leave = 1;
  const edges: Array<[number, number]> = [
    [-dx, start.x - box.x],
    [dx, box.x + box.width - start.x],
    [-dy, start.y - box.y],
    [dy, box.y + box.height - start.y],
  ];
  for (const [toward, room] of edges) {
    if (toward === 0) {
      if (room < 0) return undefined;
      continue;
    }
    const fraction = room / toward;
    if (toward < 0) enter = Math.max(enter, fraction);
    else leave = Math.min(leave, fraction);
    if (enter > leave) return undefined;
  }
  return [enter, leave];
}
