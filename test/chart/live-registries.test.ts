import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, jest } from '@jest/globals';
import { execa } from 'execa';
import { parse } from 'yaml';
import { AGENT_METRICS, OPERATOR_METRICS } from '../../common/metric-catalog.js';
import { AgentMetrics } from '../../node-agent/metrics/agent-metrics.js';
import { OperatorMetrics } from '../../operator/metrics.js';
import { toolPath } from '../tools/tools.js';
import { CHART_DIR } from './helm.js';
import { exportedSeriesNames, metricNamesInPromQL, type CatalogEntry } from './promql.js';

/**
 * The alert rules and the dashboard are checked against the metric catalog elsewhere; here the live
 * prom-client registries of the operator and the agent are checked against the same queries, so a metric
 * renamed in the code but not in the catalog (or the reverse) cannot slip through.
 */

// promtool is a real binary; the machine may be busy.
jest.setTimeout(60_000);

const OPERATOR_PREFIX = 'thinpool_operator_';

/** Every metric name the alert rules and the dashboard read. */
function seriesReadByChart(): string[] {
  const rules = parse(readFileSync(path.join(CHART_DIR, 'files', 'prometheus-rules.yaml'), 'utf8')) as {
    groups: { rules: { expr: string }[] }[];
  };
  const dashboard = JSON.parse(
    readFileSync(path.join(CHART_DIR, 'dashboards', 'thinpool-operator.json'), 'utf8'),
  ) as {
    panels: { targets?: { expr: string }[] }[];
  };
  const expressions = [
    ...rules.groups.flatMap((g) => g.rules.map((r) => r.expr)),
    ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
  ];
  return [...new Set(expressions.flatMap(metricNamesInPromQL))].sort();
}

async function liveEntries(registry: {
  getMetricsAsJSON(): Promise<{ name: string; type: unknown }[]>;
}): Promise<CatalogEntry[]> {
  return (await registry.getMetricsAsJSON()).map(
    (m) => ({ name: m.name, type: String(m.type) }) as CatalogEntry,
  );
}

describe('the agent registry (node-agent/metrics/agent-metrics.ts)', () => {
  const registry = () => new AgentMetrics({ thinpool: 'docker', node: 'node-1' }).registry;

  it('registers exactly the catalog metrics, with their types', async () => {
    const byName = (a: CatalogEntry, b: CatalogEntry) => a.name.localeCompare(b.name);
    const catalog: CatalogEntry[] = Object.values(AGENT_METRICS).map((m) => ({ name: m.name, type: m.type }));
    expect((await liveEntries(registry())).sort(byName)).toEqual(catalog.sort(byName));
  });

  it('serves every agent series the alerts and the dashboard read', async () => {
    const served = exportedSeriesNames(await liveEntries(registry()));
    const read = seriesReadByChart().filter((n) => !n.startsWith(OPERATOR_PREFIX));
    expect(read.length).toBeGreaterThan(10);
    expect(read.filter((name) => !served.has(name))).toEqual([]);
  });
});

describe('the operator registry (operator/metrics.ts)', () => {
  it('registers exactly the catalog metrics, with their types', async () => {
    const live = (await new OperatorMetrics().registry.getMetricsAsJSON()).map((m) => ({
      name: m.name,
      type: String(m.type),
    }));
    const catalog = Object.values(OPERATOR_METRICS).map((m) => ({ name: m.name, type: m.type }));
    expect(live.sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      catalog.sort((a, b) => a.name.localeCompare(b.name)),
    );
  });

  it('serves every operator series the alerts and the dashboard read', async () => {
    const live = (await new OperatorMetrics().registry.getMetricsAsJSON()).map(
      (m) => ({ name: m.name, type: String(m.type) }) as CatalogEntry,
    );
    const served = exportedSeriesNames(live);
    const read = seriesReadByChart().filter((n) => n.startsWith(OPERATOR_PREFIX));
    expect(read.length).toBeGreaterThan(3);
    expect(read.filter((name) => !served.has(name))).toEqual([]);
  });

  it('passes promtool check metrics', async () => {
    const metrics = new OperatorMetrics();
    metrics.observeReconcile('success', 0.02);
    const result = await execa(toolPath('promtool'), ['check', 'metrics'], {
      input: await metrics.registry.metrics(),
      reject: false,
      all: true,
    });
    expect(result.all).toBe('');
    expect(result.exitCode).toBe(0);
  });
});
