import { describe, expect, it } from '@jest/globals';
import type { ThinPool, ThinPoolNodeStatus } from '../../api/v1alpha1/types.js';
import {
  agentStatus,
  replacingMergePatch,
  roundSeconds,
  runKind,
  writeReason,
} from '../../node-agent/cluster/node-report.js';
import type { RunReport } from '../../node-agent/engine.js';
import { plan } from '../../node-agent/plan/plan.js';
import { agentSpec, observedFrom, thinPoolSpec } from '../agent/support/fixtures.js';

const NOW = new Date('2026-03-01T10:00:00Z');
const spec = agentSpec();

function thinPool(overrides: Partial<ThinPool['spec']> = {}, deleting = false): ThinPool {
  return {
    apiVersion: 'thinpool.dev/v1alpha1',
    kind: 'ThinPool',
    metadata: {
      name: 'docker',
      generation: 3,
      ...(deleting ? { deletionTimestamp: '2026-03-01T09:00:00Z' } : {}),
    },
    spec: thinPoolSpec(overrides),
  };
}

function reportOf(fullreport: string, lsblk: string, extra: Partial<RunReport> = {}): RunReport {
  const observed = observedFrom({ report: fullreport, lsblk, devices: [{ path: '/dev/vda' }] });
  const current = plan(spec, observed, { autoExtend: false, retryMonitoring: false });
  return {
    outcome: 'no-changes',
    plan: current,
    executed: [],
    observed,
    findings: current.findings,
    ...extra,
  };
}

describe('runKind', () => {
  it('applies, plans, pauses, and on deletion destroys or retains by deletionPolicy', () => {
    expect(runKind(thinPool())).toBe('apply');
    expect(runKind(thinPool({ mode: 'Plan' }))).toBe('plan');
    expect(runKind(thinPool({ paused: true, mode: 'Plan' }))).toBe('paused');
    expect(runKind(thinPool({ deletionPolicy: 'Delete', paused: true }, true))).toBe('destroy');
    expect(runKind(thinPool({ deletionPolicy: 'Retain' }, true))).toBe('retain');
  });
});

describe('agentStatus', () => {
  it('adds use in percent, the generation and the runtime condition to the engine status', () => {
    const status = agentStatus({
      kind: 'apply',
      spec,
      report: reportOf('fullreport-used.json', 'lsblk-used.json'),
      generation: 3,
      runtime: {
        condition: { type: 'RuntimeConfigured', status: 'True', reason: 'NotRequested', message: 'none' },
        status: { type: 'none', configured: true, message: 'none' },
        planLines: [],
      },
      now: NOW,
    });
    expect(status.phase).toBe('Ready');
    expect(status.observedGeneration).toBe(3);
    expect(status.pool?.dataUsedPercent).toBe(6.61);
    expect(status.pool?.metadataUsedPercent).toBeGreaterThan(0);
    expect(status.runtime).toEqual({ type: 'none', configured: true, message: 'none' });
    expect(status.conditions?.find((c) => c.type === 'RuntimeConfigured')).toMatchObject({
      status: 'True',
      reason: 'NotRequested',
      lastTransitionTime: NOW.toISOString(),
    });
  });

  it('gives Ready the actionable message of a refusal', () => {
    const observed = observedFrom({
      report: 'fullreport-blank.json',
      lsblk: 'lsblk-blank.json',
      devices: [{ path: '/dev/vda', wipefs: 'wipefs-ext4.json' }],
    });
    const current = plan(spec, observed);
    const status = agentStatus({
      kind: 'apply',
      spec,
      report: { outcome: 'refused', plan: current, executed: [], observed, findings: current.findings },
      now: NOW,
    });
    expect(status.phase).toBe('Failed');
    const ready = status.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'DeviceHasFilesystem' });
    expect(ready?.message).toMatch(/^Refused \/dev\/vda has an ext4 signature/);
  });

  it('reports Deleting while a teardown is left and Deleted, without pool numbers, when it is done', () => {
    const deleting = agentStatus({
      kind: 'destroy',
      spec,
      report: reportOf('fullreport-pool.json', 'lsblk-used.json'),
      now: NOW,
    });
    expect(deleting.phase).toBe('Deleting');
    expect(deleting.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('Deleting');
    const deleted = agentStatus({
      kind: 'destroy',
      spec,
      report: reportOf('fullreport-blank.json', 'lsblk-blank.json'),
      generation: 4,
      previous: deleting,
      now: NOW,
    });
    expect(deleted).toEqual({
      phase: 'Deleted',
      observedGeneration: 4,
      conditions: expect.arrayContaining([
        expect.objectContaining({ type: 'Ready', status: 'False', reason: 'PoolDeleted' }),
        expect.objectContaining({ type: 'PoolReady', status: 'False', reason: 'PoolDeleted' }),
      ]),
    });
  });

  it('lists the runtime plan after the pool plan in Plan mode', () => {
    const report = reportOf('fullreport-blank.json', 'lsblk-blank.json');
    const status = agentStatus({
      kind: 'plan',
      spec,
      report: { ...report, plan: plan(spec, report.observed) },
      runtime: {
        condition: { type: 'RuntimeConfigured', status: 'False', reason: 'SwitchPlanned', message: 'x' },
        status: { type: 'docker', configured: false },
        planLines: ['write-file /etc/docker/daemon.json'],
      },
      now: NOW,
    });
    expect(status.phase).toBe('Planned');
    expect(status.plan?.[0]).toBe('pvcreate /dev/vda');
    expect(status.plan?.at(-1)).toBe('write-file /etc/docker/daemon.json');
  });
});

describe('roundSeconds', () => {
  it('keeps two significant digits', () => {
    expect([0, 42, 99, 123, 4567, 98_765].map(roundSeconds)).toEqual([0, 42, 99, 120, 4600, 99_000]);
  });
});

describe('writeReason', () => {
  const written: ThinPoolNodeStatus = {
    phase: 'Ready',
    pool: {
      dataSizeBytes: 100,
      dataUsedBytes: 10,
      dataUsedPercent: 10,
      metadataSizeBytes: 10,
      metadataUsedBytes: 1,
      metadataUsedPercent: 10,
      chunkSizeBytes: 1,
      active: true,
      monitored: true,
    },
    lastHeartbeatTime: '2026-03-01T09:55:00Z',
  };
  const base = { written, usageSettled: false, now: NOW, heartbeatMs: 600_000 };
  const withUse = (dataUsedPercent: number): ThinPoolNodeStatus => ({
    ...written,
    lastHeartbeatTime: undefined,
    pool: { ...written.pool!, dataUsedPercent, dataUsedBytes: dataUsedPercent },
  });

  it('writes the first status and any change other than use at once', () => {
    expect(writeReason({ ...base, written: undefined, next: written })).toBe('changed');
    expect(writeReason({ ...base, next: { ...written, phase: 'Failed' } })).toBe('changed');
    expect(
      writeReason({ ...base, next: { ...withUse(10), pool: { ...written.pool!, active: false } } }),
    ).toBe('changed');
  });

  it('writes nothing when only the heartbeat would change, until the heartbeat is due', () => {
    expect(writeReason({ ...base, next: withUse(10) })).toBeUndefined();
    expect(writeReason({ ...base, next: withUse(10), now: new Date('2026-03-01T10:05:00Z') })).toBe(
      'heartbeat',
    );
  });

  it('writes a use change of a point or more at once, and a smaller one when the use came to rest', () => {
    expect(writeReason({ ...base, next: withUse(10.5) })).toBeUndefined();
    expect(writeReason({ ...base, next: withUse(11) })).toBe('usage');
    expect(writeReason({ ...base, next: withUse(10.5), usageSettled: true })).toBe('usage');
  });
});

describe('replacingMergePatch', () => {
  it('sets what is new and nulls what went away, at every depth, replacing arrays whole', () => {
    expect(
      replacingMergePatch(
        { phase: 'Planned', plan: ['a', 'b'], secondsToFull: { data: 5, metadata: 9 }, pool: { a: 1 } },
        { phase: 'Ready', secondsToFull: { metadata: 8 }, pool: { a: 1 }, conditions: [{ type: 'Ready' }] },
      ),
    ).toEqual({
      phase: 'Ready',
      plan: null,
      secondsToFull: { metadata: 8, data: null },
      pool: { a: 1 },
      conditions: [{ type: 'Ready' }],
    });
  });
});
