import { describe, expect, it } from '@jest/globals';
import { exportedSeriesNames, metricNamesInPromQL, metricNamesInVariableQuery } from './promql.js';

describe('metricNamesInPromQL', () => {
  it('finds plain selectors and ignores label matchers and their string values', () => {
    expect(
      metricNamesInPromQL(
        'thinpool_data_used_bytes{node="a", lv=~"not_a_metric"} / thinpool_data_size_bytes',
      ),
    ).toEqual(['thinpool_data_size_bytes', 'thinpool_data_used_bytes']);
  });

  it('skips functions, aggregations with grouping clauses, keywords, numbers and durations', () => {
    const expression = `
      sum by (thinpool, node) (rate(thinpool_agent_reconcile_errors_total[5m] offset 1h)) > 0
        and on (thinpool) max without (pod) (thinpool_operator_pool_nodes{state="desired"}) * 1e3
        or vector(0) unless predict_linear(thinpool_metadata_used_bytes[6h], 4 * 24 * 3600) < bool +Inf`;
    expect(metricNamesInPromQL(expression)).toEqual([
      'thinpool_agent_reconcile_errors_total',
      'thinpool_metadata_used_bytes',
      'thinpool_operator_pool_nodes',
    ]);
  });

  it('ignores the strings of label_replace and the Grafana variables in ranges and matchers', () => {
    const expression =
      'label_replace(increase(thinpool_extensions_total{thinpool=~"$thinpool"}[$__rate_interval]), "kind", "data", "", "") / ${factor}';
    expect(metricNamesInPromQL(expression)).toEqual(['thinpool_extensions_total']);
  });

  it('reports an unknown metric so that a typo cannot pass', () => {
    expect(metricNamesInPromQL('thinpool_data_usd_bytes / thinpool_data_size_bytes')).toContain(
      'thinpool_data_usd_bytes',
    );
  });

  it('treats histogram series as metrics', () => {
    expect(
      metricNamesInPromQL(
        'histogram_quantile(0.99, sum by (le) (rate(thinpool_operator_reconcile_duration_seconds_bucket[5m])))',
      ),
    ).toEqual(['thinpool_operator_reconcile_duration_seconds_bucket']);
  });
});

describe('metricNamesInVariableQuery', () => {
  it('reads the selector of label_values, not the label', () => {
    expect(
      metricNamesInVariableQuery('label_values(thinpool_data_size_bytes{thinpool=~"$thinpool"}, node)'),
    ).toEqual(['thinpool_data_size_bytes']);
  });

  it('reads the expression of query_result', () => {
    expect(metricNamesInVariableQuery('query_result(topk(5, thinpool_data_used_bytes))')).toEqual([
      'thinpool_data_used_bytes',
    ]);
  });
});

describe('exportedSeriesNames', () => {
  it('expands histograms into their bucket, sum and count series', () => {
    const names = exportedSeriesNames([
      { name: 'a_seconds', type: 'histogram' },
      { name: 'b_total', type: 'counter' },
    ]);
    expect([...names].sort()).toEqual(['a_seconds_bucket', 'a_seconds_count', 'a_seconds_sum', 'b_total']);
  });
});
