import { describe, expect, it, jest } from '@jest/globals';
import { execa } from 'execa';
import { AGENT_METRICS } from '../../common/metric-catalog.js';
import type { ExecutedAction } from '../../node-agent/engine.js';
import { AgentMetrics, isAwaitingRollout, poolGauges } from '../../node-agent/metrics/agent-metrics.js';
import { command } from '../../node-agent/plan/action.js';
import { agentSpec, observedFrom } from '../agent/support/fixtures.js';
import { toolPath } from '../tools/tools.js';
import { metricValue } from './support/agent-process.js';

// promtool is a real binary; the machine may be busy.
jest.setTimeout(60_000);

const spec = agentSpec();
const labels = { thinpool: 'docker', node: 'n1', vg: 'docker', lv: 'thinpool' };
const pooled = observedFrom({
  report: 'fullreport-used.json',
  lsblk: 'lsblk-used.json',
  devices: [{ path: '/dev/vda' }],
});

/** The conditions of a node whose runtime is in the given RuntimeConfigured state. */
function runtimeConditions(status: 'True' | 'False', reason: string) {
  return [
    {
      type: 'RuntimeConfigured',
      status,
      reason,
      message: 'test',
      lastTransitionTime: '2026-01-02T03:04:05Z',
    },
  ];
}

function extension(kind: 'data' | 'metadata', trigger: 'threshold' | 'spec-size'): ExecutedAction {
  return {
    action: command('extend-data', 'Extend', ['lvextend'], {
      kind,
      fromBytes: 1,
      toBytes: 2,
      trigger,
      reason: 'test',
    }),
    durationMs: 1,
  };
}

describe('the agent registry (node-agent/metrics)', () => {
  it('registers exactly the catalog metrics, with their types', async () => {
    const metrics = new AgentMetrics({ thinpool: 'docker', node: 'n1' });
    const live = (await metrics.registry.getMetricsAsJSON()).map((m) => ({
      name: m.name,
      type: String(m.type),
    }));
    const catalog = Object.values(AGENT_METRICS).map((m) => ({ name: m.name, type: m.type }));
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    expect(live.sort(byName)).toEqual(catalog.sort(byName));
  });

  it('exports the pool from one observation, in base units with the four pool labels', async () => {
    const gauges = poolGauges(spec, pooled);
    expect(gauges.pool?.dataSizeBytes).toBeGreaterThan(0);
    const metrics = new AgentMetrics({ thinpool: 'docker', node: 'n1' });
    metrics.recordObservation(spec, gauges);
    metrics.recordRuntime(true);
    metrics.recordExtensions([extension('data', 'threshold'), extension('data', 'threshold')]);
    metrics.recordReconcile(true, new Date('2026-01-02T03:04:05Z'));
    metrics.recordReconcile(false, new Date('2026-01-02T03:04:15Z'));
    const text = await metrics.render();
    expect(metricValue(text, 'thinpool_data_size_bytes', labels)).toBe(gauges.pool!.dataSizeBytes);
    expect(metricValue(text, 'thinpool_data_used_bytes', labels)).toBe(gauges.pool!.dataUsedBytes);
    expect(metricValue(text, 'thinpool_metadata_size_bytes', labels)).toBe(gauges.pool!.metadataSizeBytes);
    expect(metricValue(text, 'thinpool_volume_group_size_bytes', labels)).toBe(gauges.volumeGroup!.sizeBytes);
    expect(metricValue(text, 'thinpool_autoextend_threshold_ratio', labels)).toBe(0.8);
    expect(metricValue(text, 'thinpool_active', labels)).toBe(1);
    expect(metricValue(text, 'thinpool_data_seconds_to_full', labels)).toBe(Infinity);
    expect(metricValue(text, 'thinpool_runtime_configured', labels)).toBe(1);
    expect(metricValue(text, 'thinpool_runtime_awaiting_rollout', labels)).toBe(0);
    expect(
      metricValue(text, 'thinpool_extensions_total', { ...labels, kind: 'data', trigger: 'threshold' }),
    ).toBe(2);
    expect(
      metricValue(text, 'thinpool_extensions_total', { ...labels, kind: 'metadata', trigger: 'threshold' }),
    ).toBe(0);
    expect(
      metricValue(text, 'thinpool_agent_reconcile_errors_total', { thinpool: 'docker', node: 'n1' }),
    ).toBe(1);
    expect(metricValue(text, 'thinpool_agent_last_reconcile_timestamp_seconds')).toBe(
      Date.parse('2026-01-02T03:04:15Z') / 1000,
    );
    for (const line of text.split('\n').filter((l) => l.startsWith('thinpool_'))) {
      const names = [...line.matchAll(/([a-z_]+)="/g)].map((m) => m[1]);
      expect(names.filter((n) => !['thinpool', 'node', 'vg', 'lv', 'kind', 'trigger'].includes(n!))).toEqual(
        [],
      );
    }
  });

  it('tells a node queued in a rollout from one whose runtime failed', async () => {
    expect(isAwaitingRollout(runtimeConditions('False', 'AwaitingRollout'))).toBe(true);
    expect(isAwaitingRollout(runtimeConditions('False', 'RolledBack'))).toBe(false);
    expect(isAwaitingRollout(runtimeConditions('False', 'Switching'))).toBe(false);
    expect(isAwaitingRollout(runtimeConditions('True', 'Configured'))).toBe(false);
    expect(isAwaitingRollout(undefined)).toBe(false);

    const metrics = new AgentMetrics({ thinpool: 'docker', node: 'n1' });
    metrics.recordObservation(spec, poolGauges(spec, pooled));
    metrics.recordRuntime(false, true);
    let text = await metrics.render();
    expect(metricValue(text, 'thinpool_runtime_configured', labels)).toBe(0);
    expect(metricValue(text, 'thinpool_runtime_awaiting_rollout', labels)).toBe(1);
    metrics.recordRuntime(false, false);
    text = await metrics.render();
    expect(metricValue(text, 'thinpool_runtime_configured', labels)).toBe(0);
    expect(metricValue(text, 'thinpool_runtime_awaiting_rollout', labels)).toBe(0);
    metrics.removePoolSeries();
    expect(await metrics.render()).not.toContain('thinpool_runtime_awaiting_rollout{');
  });

  it('drops the pool series when the pool is gone, keeps the agent series', async () => {
    const metrics = new AgentMetrics({ thinpool: 'docker', node: 'n1' });
    metrics.recordObservation(spec, poolGauges(spec, pooled));
    metrics.recordReconcile(true, new Date());
    const blank = observedFrom({ report: 'fullreport-blank.json', lsblk: 'lsblk-blank.json' });
    metrics.recordObservation(spec, poolGauges(spec, blank));
    let text = await metrics.render();
    expect(metricValue(text, 'thinpool_data_size_bytes', labels)).toBeUndefined();
    expect(metricValue(text, 'thinpool_volume_group_size_bytes', labels)).toBeUndefined();
    expect(metricValue(text, 'thinpool_autoextend_threshold_ratio', labels)).toBe(0.8);
    metrics.removePoolSeries();
    text = await metrics.render();
    expect(text).not.toContain('vg="docker"');
    expect(
      metricValue(text, 'thinpool_agent_reconcile_errors_total', { thinpool: 'docker', node: 'n1' }),
    ).toBe(0);
  });

  it('passes promtool check metrics', async () => {
    const metrics = new AgentMetrics({ thinpool: 'docker', node: 'n1' });
    metrics.recordObservation(spec, poolGauges(spec, pooled));
    metrics.recordRuntime(false, true);
    metrics.recordExtensions([extension('metadata', 'spec-size')]);
    metrics.recordReconcile(true, new Date());
    const result = await execa(toolPath('promtool'), ['check', 'metrics'], {
      input: await metrics.render(),
      reject: false,
      all: true,
    });
    expect(result.all).toBe('');
    expect(result.exitCode).toBe(0);
  });
});
