import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, jest } from '@jest/globals';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { AGENT_METRICS, OPERATOR_METRICS } from '../../common/metric-catalog.js';
import { toolPath } from '../tools/tools.js';
import { CHART_DIR, REPO_ROOT, findOne, renderChart } from './helm.js';
import { exportedSeriesNames, metricNamesInPromQL } from './promql.js';

// These tests run the real helm and promtool binaries; the machine may be busy.
jest.setTimeout(120_000);

const RULES_FILE = path.join(CHART_DIR, 'files', 'prometheus-rules.yaml');
const RULE_TESTS_FILE = path.join(REPO_ROOT, 'test', 'chart', 'alerts', 'prometheus-rules.test.yaml');
const RUNBOOKS_FILE = path.join(REPO_ROOT, 'docs', 'runbooks.md');

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

interface RuleFile {
  groups: { name: string; rules: AlertRule[] }[];
}

interface RuleTests {
  rule_files: string[];
  tests: { name: string; alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
}

const ruleFile = parse(readFileSync(RULES_FILE, 'utf8')) as RuleFile;
const alerts = ruleFile.groups.flatMap((group) => group.rules);

async function promtool(args: string[]): Promise<{ exitCode: number; output: string }> {
  const result = await execa(toolPath('promtool'), args, { reject: false, all: true });
  return { exitCode: result.exitCode ?? -1, output: String(result.all) };
}

describe('alert rules (charts/thinpool-operator/files/prometheus-rules.yaml)', () => {
  it('pass promtool check rules', async () => {
    const result = await promtool(['check', 'rules', RULES_FILE]);
    expect(result.output).toContain(`SUCCESS: ${alerts.length} rules found`);
    expect(result.exitCode).toBe(0);
  });

  it('pass every promtool unit test', async () => {
    const result = await promtool(['test', 'rules', RULE_TESTS_FILE]);
    expect(result.output).toContain('SUCCESS');
    expect(result.output).not.toContain('FAILED');
    expect(result.exitCode).toBe(0);
  });

  it('cover the alerts the issue asks for', () => {
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining([
        'ThinPoolDataFillingUp',
        'ThinPoolDataAlmostFull',
        'ThinPoolMetadataFillingUp',
        'ThinPoolMetadataAlmostFull',
        'ThinPoolNotMonitored',
        'ThinPoolAutoextendFailing',
        'ThinPoolAgentNotReporting',
        'ThinPoolRuntimeNotConfigured',
        'ThinPoolRuntimeRolloutHalted',
        'ThinPoolRuntimeRolloutDrainBlocked',
      ]),
    );
    const expr = (name: string) => alerts.find((a) => a.alert === name)?.expr ?? '';
    expect(expr('ThinPoolDataFillingUp')).toMatch(
      /predict_linear\(thinpool_data_used_bytes\[6h\], 4 \* 24 \* 3600\)/,
    );
    expect(expr('ThinPoolMetadataFillingUp')).toMatch(
      /predict_linear\(thinpool_metadata_used_bytes\[6h\], 4 \* 24 \* 3600\)/,
    );
    // Nodes queued in a runtime rollout are not failures (issue 8 follow-up).
    expect(expr('ThinPoolRuntimeNotConfigured')).toMatch(
      /unless on \(thinpool, node, vg, lv\) thinpool_runtime_awaiting_rollout == 1/,
    );
  });

  it('are stricter for metadata than for data', () => {
    const find = (name: string) => alerts.find((a) => a.alert === name) as AlertRule;
    const threshold = (rule: AlertRule) => Number(/> (0\.\d+)\s*$/.exec(rule.expr)?.[1]);
    const minutes = (rule: AlertRule) => {
      const [, value, unit] = /^(\d+)([mh])$/.exec(rule.for ?? '') ?? [];
      return Number(value) * (unit === 'h' ? 60 : 1);
    };
    expect(threshold(find('ThinPoolMetadataAlmostFull'))).toBeLessThan(
      threshold(find('ThinPoolDataAlmostFull')),
    );
    expect(minutes(find('ThinPoolMetadataAlmostFull'))).toBeLessThan(minutes(find('ThinPoolDataAlmostFull')));
    expect(minutes(find('ThinPoolMetadataFillingUp'))).toBeLessThan(minutes(find('ThinPoolDataFillingUp')));
    expect(find('ThinPoolDataAlmostFull').labels.severity).toBe('critical');
    expect(find('ThinPoolMetadataAlmostFull').labels.severity).toBe('critical');
    expect(find('ThinPoolDataFillingUp').labels.severity).toBe('warning');
  });

  it('read only metrics our exporters serve', () => {
    const served = exportedSeriesNames([...Object.values(AGENT_METRICS), ...Object.values(OPERATOR_METRICS)]);
    for (const rule of alerts) {
      const names = metricNamesInPromQL(rule.expr);
      expect(names.length).toBeGreaterThan(0);
      expect({ alert: rule.alert, unknown: names.filter((n) => !served.has(n)) }).toEqual({
        alert: rule.alert,
        unknown: [],
      });
    }
  });

  it('each have a severity, a summary, a description and a runbook section', () => {
    const runbooks = readFileSync(RUNBOOKS_FILE, 'utf8');
    const headings = new Set([...runbooks.matchAll(/^## (\S+)\s*$/gm)].map((m) => m[1]));
    for (const rule of alerts) {
      expect(['warning', 'critical']).toContain(rule.labels.severity);
      expect(rule.annotations.summary).toMatch(/\.$/);
      expect(rule.annotations.description.length).toBeGreaterThan(20);
      expect(rule.annotations.runbook_url).toBe(
        `https://github.com/thinpool-dev/thinpool-operator/blob/main/docs/runbooks.md#${rule.alert.toLowerCase()}`,
      );
      expect({ alert: rule.alert, hasRunbook: headings.has(rule.alert) }).toEqual({
        alert: rule.alert,
        hasRunbook: true,
      });
    }
  });

  it('each fire in at least one unit test and stay silent in another', () => {
    const tests = parse(readFileSync(RULE_TESTS_FILE, 'utf8')) as RuleTests;
    const cases = tests.tests.flatMap((t) => t.alert_rule_test);
    for (const rule of alerts) {
      const own = cases.filter((c) => c.alertname === rule.alert);
      expect({ alert: rule.alert, fires: own.some((c) => c.exp_alerts.length > 0) }).toEqual({
        alert: rule.alert,
        fires: true,
      });
      expect({ alert: rule.alert, silent: own.some((c) => c.exp_alerts.length === 0) }).toEqual({
        alert: rule.alert,
        silent: true,
      });
    }
  });
});

describe('the PrometheusRule the chart renders', () => {
  let groups: RuleFile['groups'];
  beforeAll(async () => {
    const objects = await renderChart({ set: { 'prometheusRule.enabled': 'true' } });
    groups = (findOne(objects, 'PrometheusRule').spec as RuleFile).groups;
  });

  it('holds exactly the rules of the file with the default values', () => {
    expect(groups).toEqual(ruleFile.groups);
  });

  it('passes the same promtool unit tests', async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'thinpool-rules-'));
    writeFileSync(path.join(directory, 'rendered-rules.yaml'), stringify({ groups }));
    const tests = parse(readFileSync(RULE_TESTS_FILE, 'utf8')) as RuleTests;
    tests.rule_files = ['rendered-rules.yaml'];
    writeFileSync(path.join(directory, 'rendered-rules.test.yaml'), stringify(tests));
    const result = await promtool(['test', 'rules', path.join(directory, 'rendered-rules.test.yaml')]);
    expect(result.output).toContain('SUCCESS');
    expect(result.exitCode).toBe(0);
  });
});
