import parsePrometheusTextFormat from "parse-prometheus-text-format";

export type MetricFamilies = ReturnType<typeof parsePrometheusTextFormat>;

/** Fetches a node's `/metrics` and parses it with a Prometheus text-format parser (which throws on bad syntax). */
export async function scrape(baseUrl: string): Promise<MetricFamilies> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  if (!response.headers.get("content-type")?.startsWith("text/plain"))
    throw new Error(`/metrics is ${response.headers.get("content-type")}, not Prometheus text`);
  return parsePrometheusTextFormat(await response.text());
}

/** The samples of a family whose labels include `labels`. */
export function samples(families: MetricFamilies, name: string, labels: Record<string, string> = {}) {
  const family = families.find((candidate) => candidate.name === name);
  return (family?.metrics ?? []).filter((metric) =>
    Object.entries(labels).every(([key, value]) => metric.labels?.[key] === value),
  );
}

/** The sum of a counter's or gauge's samples matching `labels` (0 when there are none). */
export function total(families: MetricFamilies, name: string, labels: Record<string, string> = {}): number {
  return samples(families, name, labels).reduce((sum, metric) => sum + Number(metric.value ?? 0), 0);
}

/**
 * A histogram's observation count (its `+Inf` bucket). The parser folds a histogram's labelled series
 * into one (it keeps only the buckets of the last label set), so this is only meaningful where the
 * histogram has a single label set, e.g. a node serving one model.
 */
export function histogramCount(families: MetricFamilies, name: string): number {
  const family = families.find((candidate) => candidate.name === name);
  return Number(family?.metrics[0]?.buckets?.["+Inf"] ?? 0);
}
