/**
 * Finds the metric names a PromQL expression reads, without a full PromQL parser: string literals, label
 * matchers, range selectors, grouping clauses and Grafana variables are removed first, then every
 * remaining identifier that is not a function call, keyword or number is a metric name.
 */

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'inf',
  'nan',
]);

const STRING_LITERAL = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g;
const LABEL_MATCHERS = /\{[^}]*\}/g;
const RANGE_SELECTOR = /\[[^\]]*\]/g;
const GROUPING_CLAUSE = /\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g;
const GRAFANA_VARIABLE = /\$\{[^}]*\}|\$\w+/g;
const TOKEN =
  /(?<duration>\b\d+(?:\.\d+)?(?:ms|s|m|h|d|w|y)\b)|(?<number>\b0x[0-9a-fA-F]+\b|\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b)|(?<identifier>[a-zA-Z_:][a-zA-Z0-9_:]*)(?<call>\s*\()?/g;

/** Metric names read by a PromQL expression, sorted and without duplicates. */
export function metricNamesInPromQL(expression: string): string[] {
  const stripped = expression
    .replace(STRING_LITERAL, ' "" ')
    .replace(LABEL_MATCHERS, ' ')
    .replace(RANGE_SELECTOR, ' ')
    .replace(GROUPING_CLAUSE, ' ')
    .replace(GRAFANA_VARIABLE, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(TOKEN)) {
    const { identifier, call } = match.groups ?? {};
    if (!identifier || call || KEYWORDS.has(identifier.toLowerCase())) continue;
    names.add(identifier);
  }
  return [...names].sort();
}

/**
 * Metric names read by a Grafana Prometheus variable query: `label_values(<selector>, <label>)` reads the
 * selector's metric; `query_result(<expr>)` and `metrics(<regex>)`-free queries read their expression.
 */
export function metricNamesInVariableQuery(query: string): string[] {
  const labelValues = /^\s*label_values\(\s*(.*?)\s*(?:,\s*[a-zA-Z_]\w*\s*)?\)\s*$/s.exec(query);
  if (labelValues) return metricNamesInPromQL(labelValues[1]);
  const queryResult = /^\s*query_result\((.*)\)\s*$/s.exec(query);
  if (queryResult) return metricNamesInPromQL(queryResult[1]);
  return metricNamesInPromQL(query);
}

/** Suffixes Prometheus adds to the series of a histogram. */
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

/** A metric definition as the catalog holds it. */
export interface CatalogEntry {
  name: string;
  type: 'gauge' | 'counter' | 'histogram';
}

/** The series names an exporter of these metrics serves (histograms expand into their three series). */
export function exportedSeriesNames(catalog: readonly CatalogEntry[]): Set<string> {
  const names = new Set<string>();
  for (const metric of catalog) {
    if (metric.type === 'histogram') for (const suffix of HISTOGRAM_SUFFIXES) names.add(metric.name + suffix);
    else names.add(metric.name);
  }
  return names;
}
