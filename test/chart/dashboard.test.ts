import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { AGENT_METRICS, OPERATOR_METRICS } from '../../common/metric-catalog.js';
import { CHART_DIR } from './helm.js';
import { exportedSeriesNames, metricNamesInPromQL, metricNamesInVariableQuery } from './promql.js';

const DASHBOARD_FILE = path.join(CHART_DIR, 'dashboards', 'thinpool-operator.json');

interface DataSourceRef {
  type: string;
  uid: string;
}

interface Target {
  refId: string;
  expr: string;
  datasource: DataSourceRef;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: DataSourceRef;
  targets?: Target[];
  fieldConfig?: { defaults: { unit?: string } };
}

interface Variable {
  name: string;
  type: string;
  query: string | { query: string };
  datasource?: DataSourceRef;
}

interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
const queryPanels = dashboard.panels.filter((p) => p.type !== 'row');
const targets = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));
const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };
const BUILT_IN_VARIABLES = new Set(['__rate_interval', '__range', '__interval']);
const AGENT_NAMES = exportedSeriesNames(Object.values(AGENT_METRICS));

describe('Grafana dashboard (charts/thinpool-operator/dashboards/thinpool-operator.json)', () => {
  it('is a dashboard with a stable uid, a pinned schema version and panels', () => {
    expect(dashboard.uid).toBe('thinpool-operator');
    expect(dashboard.title).toBeTruthy();
    expect(Number.isInteger(dashboard.schemaVersion)).toBe(true);
    expect(queryPanels.length).toBeGreaterThan(10);
  });

  it('has a Prometheus datasource variable that every panel and query uses', () => {
    const variable = dashboard.templating.list.find((v) => v.name === 'datasource');
    expect(variable).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const panel of queryPanels) {
      expect({ panel: panel.title, datasource: panel.datasource }).toEqual({
        panel: panel.title,
        datasource: DATASOURCE,
      });
      for (const target of panel.targets ?? []) expect(target.datasource).toEqual(DATASOURCE);
    }
    for (const query of dashboard.templating.list.filter((v) => v.type === 'query')) {
      expect(query.datasource).toEqual(DATASOURCE);
    }
  });

  it('gives every panel a unique id, a title, a description and a place on the 24-column grid without overlaps', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const occupied = new Map<string, string>();
    for (const panel of dashboard.panels) {
      expect(panel.title).toBeTruthy();
      if (panel.type !== 'row') expect(panel.description).toBeTruthy();
      const { x, y, w, h } = panel.gridPos;
      expect(x + w).toBeLessThanOrEqual(24);
      for (let column = x; column < x + w; column++) {
        for (let row = y; row < y + h; row++) {
          const cell = `${column},${row}`;
          expect({ cell, taken: occupied.get(cell) }).toEqual({ cell, taken: undefined });
          occupied.set(cell, panel.title);
        }
      }
    }
  });

  it('gives every query of a panel its own refId and a non-empty expression', () => {
    for (const panel of queryPanels) {
      const refIds = (panel.targets ?? []).map((t) => t.refId);
      expect(refIds.length).toBeGreaterThan(0);
      expect(new Set(refIds).size).toBe(refIds.length);
      for (const target of panel.targets ?? []) expect(target.expr.trim()).not.toBe('');
    }
  });

  it('queries only metrics our exporters serve', () => {
    const served = exportedSeriesNames([...Object.values(AGENT_METRICS), ...Object.values(OPERATOR_METRICS)]);
    for (const target of targets) {
      const names = metricNamesInPromQL(target.expr);
      expect(names.length).toBeGreaterThan(0);
      expect({ panel: target.panel, unknown: names.filter((n) => !served.has(n)) }).toEqual({
        panel: target.panel,
        unknown: [],
      });
    }
    for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
      const query = typeof variable.query === 'string' ? variable.query : variable.query.query;
      const names = metricNamesInVariableQuery(query);
      expect(names.length).toBeGreaterThan(0);
      expect(names.filter((n) => !served.has(n))).toEqual([]);
    }
  });

  it('uses only variables it defines or Grafana provides', () => {
    const defined = new Set(dashboard.templating.list.map((v) => v.name));
    for (const target of targets) {
      for (const [, braced, plain] of target.expr.matchAll(/\$\{(\w+)\}|\$(\w+)/g)) {
        const name = braced ?? plain;
        expect({
          panel: target.panel,
          name,
          known: defined.has(name) || BUILT_IN_VARIABLES.has(name),
        }).toEqual({
          panel: target.panel,
          name,
          known: true,
        });
      }
    }
  });

  it('filters every per-pool agent query by the ThinPool and node variables', () => {
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'thinpool', 'node']);
    for (const target of targets.filter((t) => metricNamesInPromQL(t.expr).some((n) => AGENT_NAMES.has(n)))) {
      expect(target.expr).toContain('thinpool=~"$thinpool"');
      expect(target.expr).toContain('node=~"$node"');
    }
  });

  it('shows data and metadata use, time to full, extensions and agent and operator health', () => {
    const read = new Set(targets.flatMap((t) => metricNamesInPromQL(t.expr)));
    for (const metric of [
      AGENT_METRICS.dataUsed,
      AGENT_METRICS.dataSize,
      AGENT_METRICS.metadataUsed,
      AGENT_METRICS.metadataSize,
      AGENT_METRICS.dataSecondsToFull,
      AGENT_METRICS.metadataSecondsToFull,
      AGENT_METRICS.extensions,
      AGENT_METRICS.vgFree,
      AGENT_METRICS.active,
      AGENT_METRICS.monitored,
      AGENT_METRICS.runtimeConfigured,
      AGENT_METRICS.runtimeAwaitingRollout,
      AGENT_METRICS.lastReconcile,
      AGENT_METRICS.reconcileErrors,
      OPERATOR_METRICS.poolNodes,
      OPERATOR_METRICS.leader,
      OPERATOR_METRICS.reconciles,
      OPERATOR_METRICS.runtimeRollout,
    ]) {
      expect({ metric: metric.name, shown: read.has(metric.name) }).toEqual({
        metric: metric.name,
        shown: true,
      });
    }
  });

  it('labels byte, ratio and duration panels with their unit', () => {
    const unitOf = (title: string) => queryPanels.find((p) => p.title === title)?.fieldConfig?.defaults.unit;
    expect(unitOf('Data use')).toBe('percentunit');
    expect(unitOf('Metadata use')).toBe('percentunit');
    expect(unitOf('Data size and use')).toBe('bytes');
    expect(unitOf('Data time to full')).toBe('s');
    expect(unitOf('Metadata time to full')).toBe('s');
  });
});
