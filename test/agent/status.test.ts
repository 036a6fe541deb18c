import { describe, expect, it } from '@jest/globals';
import { findCondition } from '../../common/conditions.js';
import type { EngineMemory } from '../../node-agent/engine.js';
import { plan } from '../../node-agent/plan/plan.js';
import { renderProfile } from '../../node-agent/plan/profile.js';
import { nodeStatus } from '../../node-agent/status.js';
import { agentSpec, observedFrom } from './support/fixtures.js';

const now = new Date('2026-01-01T00:00:00Z');

describe('nodeStatus', () => {
  it('reports a configured pool as Ready with its capacity', () => {
    const spec = agentSpec();
    const observed = observedFrom({
      report: 'fullreport-used.json',
      lsblk: 'lsblk-used.json',
      devices: [{ path: '/dev/vda' }],
      profileContent: renderProfile(spec),
    });
    const status = nodeStatus({ spec, observed, plan: plan(spec, observed), now });
    expect(status).toMatchObject({
      phase: 'Ready',
      devices: [{ path: '/dev/vda', state: 'InUse', sizeBytes: 1073741824 }],
      volumeGroup: { sizeBytes: 1069547520, freeBytes: 37748736 },
      pool: {
        dataSizeBytes: 1015021568,
        dataUsedBytes: Math.round(1015021568 * 0.0661),
        chunkSizeBytes: 524288,
        active: true,
        monitored: true,
      },
    });
    expect(status.conditions!.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['DevicesReady', 'True', 'DevicesInUse'],
      ['PoolReady', 'True', 'PoolActive'],
      ['Monitored', 'True', 'Monitored'],
      ['Ready', 'True', 'PoolReady'],
    ]);
  });

  it('reports a refused device as Failed with the reason, and lists it as excluded', () => {
    const spec = agentSpec({ devices: [{ path: '/dev/vdc' }] });
    const observed = observedFrom({
      report: 'fullreport-blank.json',
      lsblk: 'lsblk-blank.json',
      devices: [{ path: '/dev/vdc', wipefs: 'wipefs-ext4.json' }],
    });
    const status = nodeStatus({ spec, observed, plan: plan(spec, observed), now });
    expect(status.phase).toBe('Failed');
    expect(findCondition(status.conditions, 'DevicesReady')).toMatchObject({
      status: 'False',
      reason: 'DeviceHasFilesystem',
    });
    expect(status.excludedDevices).toEqual([
      { path: '/dev/vdc', reason: '/dev/vdc has an ext4 signature (filesystem) at offset 0x438' },
    ]);
  });

  it('lists the exact commands in Plan mode', () => {
    const spec = agentSpec();
    const observed = observedFrom({
      report: 'fullreport-blank.json',
      lsblk: 'lsblk-blank.json',
      devices: [{ path: '/dev/vda', wipefs: 'wipefs-blank.json' }],
    });
    const status = nodeStatus({ spec, observed, plan: plan(spec, observed), planned: true, now });
    expect(status.phase).toBe('Planned');
    expect(status.plan?.[0]).toBe('pvcreate /dev/vda');
    expect(status.plan).toHaveLength(8);
  });

  it('keeps the transition time of an unchanged condition and estimates the time to full', () => {
    const spec = agentSpec();
    const observed = observedFrom({
      report: 'fullreport-used.json',
      lsblk: 'lsblk-used.json',
      devices: [{ path: '/dev/vda' }],
      profileContent: renderProfile(spec),
    });
    const first = nodeStatus({ spec, observed, plan: plan(spec, observed), now });
    const memory: EngineMemory = {
      extensions: new Map(),
      samples: [
        { timeMs: 0, dataUsedBytes: 0, dataSizeBytes: 1000, metadataUsedBytes: 10, metadataSizeBytes: 100 },
        {
          timeMs: 10_000,
          dataUsedBytes: 100,
          dataSizeBytes: 1000,
          metadataUsedBytes: 10,
          metadataSizeBytes: 100,
        },
      ],
    };
    const later = new Date(now.getTime() + 60_000);
    const second = nodeStatus({
      spec,
      observed,
      plan: plan(spec, observed),
      memory,
      previous: first,
      now: later,
    });
    expect(findCondition(second.conditions, 'Ready')!.lastTransitionTime).toBe(now.toISOString());
    expect(second.secondsToFull).toEqual({ data: 90 });
  });

  it('reports an inactive pool as not ready', () => {
    const spec = agentSpec();
    const observed = observedFrom({
      report: 'fullreport-inactive.json',
      lsblk: 'lsblk-used.json',
      devices: [{ path: '/dev/vda' }],
      profileContent: renderProfile(spec),
    });
    const status = nodeStatus({ spec, observed, plan: plan(spec, observed), now });
    expect(status.phase).toBe('Pending');
    expect(findCondition(status.conditions, 'PoolReady')).toMatchObject({
      status: 'False',
      reason: 'PoolInactive',
    });
  });
});
