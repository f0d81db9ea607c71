interface SparklineProps {
  values: number[];
  /** How many values fill the width; fewer start from the right. */
  capacity: number;
  width?: number;
  height?: number;
}

/** A small line chart of recent values, newest on the right, scaled to their maximum. */
export function Sparkline({ values, capacity, width = 180, height = 34 }: SparklineProps) {
  const max = Math.max(1, ...values);
  const step = width / Math.max(1, capacity - 1);
  const shown = values.slice(-capacity);
  const points = shown.map((value, index) => {
    const x = width - (shown.length - 1 - index) * step;
    const y = height - 2 - (value / max) * (height - 6);
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  const left = width - (shown.length - 1) * step;
  return (
    <svg
      class="sparkline"
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      aria-hidden="true"
    >
      <line class="sparkline-base" x1={0} x2={width} y1={height - 1.5} y2={height - 1.5} />
      {points.length > 1 ? (
        <>
          <polygon
            class="sparkline-area"
            points={`${left.toFixed(1)},${height - 2} ${points.join(" ")} ${width},${height - 2}`}
          />
          <polyline class="sparkline-line" points={points.join(" ")} />
        </>
      ) : null}
    </svg>
  );
}
