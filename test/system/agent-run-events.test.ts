import { describe, expect, it } from '@jest/globals';
import type { RunReport } from '../../node-agent/engine.js';
import { pastTense, runEvents } from '../../node-agent/cluster/run-events.js';
import { command } from '../../node-agent/plan/action.js';
import { plan } from '../../node-agent/plan/plan.js';
import { agentSpec, observedFrom } from '../agent/support/fixtures.js';

const spec = agentSpec();
const MiB = 2 ** 20;

function report(extra: Partial<RunReport> = {}): RunReport {
  const observed = observedFrom({
    report: 'fullreport-used.json',
    lsblk: 'lsblk-used.json',
    devices: [{ path: '/dev/vda' }],
  });
  const current = plan(spec, observed, { autoExtend: false, retryMonitoring: false });
  return { outcome: 'applied', plan: current, executed: [], observed, findings: [], ...extra };
}

describe('pastTense', () => {
  it('turns an action explanation into a past-tense message', () => {
    expect(pastTense('Create a physical volume on /dev/vda')).toBe('Created a physical volume on /dev/vda');
    expect(pastTense('Write the LVM profile x')).toBe('Wrote the LVM profile x');
    expect(pastTense('Something else')).toBe('Something else');
  });
});

describe('runEvents', () => {
  it('records one Event per mutating action, with sizes for creation and extension', () => {
    const { events } = runEvents({
      kind: 'apply',
      spec,
      previousKeys: new Set(),
      report: report({
        executed: [
          {
            action: command('create-pv', 'Create a physical volume on /dev/vda', ['pvcreate']),
            durationMs: 1,
          },
          { action: command('convert-to-thin-pool', 'Convert', ['lvconvert']), durationMs: 1 },
          {
            action: command('extend-data', 'Extend', ['lvextend'], {
              kind: 'data',
              fromBytes: 968 * MiB,
              toBytes: 1164 * MiB,
              trigger: 'threshold',
              reason: 'data use 81.23% passed 80%',
            }),
            durationMs: 1,
          },
        ],
      }),
    });
    expect(events).toEqual([
      { type: 'Normal', reason: 'CreatedPhysicalVolume', message: 'Created a physical volume on /dev/vda' },
      { type: 'Normal', reason: 'CreatedThinPool', message: 'Created thin pool docker/thinpool (968.0 MiB)' },
      {
        type: 'Normal',
        reason: 'ExtendedThinPool',
        message: 'Extended thin pool data docker/thinpool 968.0 MiB -> 1.1 GiB (data use 81.23% passed 80%)',
      },
    ]);
  });

  it('records a refusal, a failure or a finding once while it holds, and again when it comes back', () => {
    const refusal = {
      code: 'DeviceHasFilesystem',
      message: 'Refused /dev/vda has an ext4 signature',
      blocking: true,
    };
    const failed = report({
      outcome: 'failed',
      findings: [refusal],
      failure: { action: command('create-vg', 'Create volume group docker', ['vgcreate']), message: 'boom' },
    });
    const first = runEvents({ kind: 'apply', spec, report: failed, previousKeys: new Set() });
    expect(first.events).toEqual([
      { type: 'Warning', reason: 'ApplyFailed', message: 'Failed to create volume group docker: boom' },
      { type: 'Warning', reason: 'DeviceHasFilesystem', message: 'Refused /dev/vda has an ext4 signature' },
    ]);
    const again = runEvents({ kind: 'apply', spec, report: failed, previousKeys: first.keys });
    expect(again.events).toEqual([]);
    const cleared = runEvents({ kind: 'apply', spec, report: report(), previousKeys: again.keys });
    expect(cleared.keys.size).toBe(0);
    expect(
      runEvents({ kind: 'apply', spec, report: failed, previousKeys: cleared.keys }).events,
    ).toHaveLength(2);
  });

  it('says when the pool is paused or planned, once', () => {
    const paused = runEvents({ kind: 'paused', spec, report: report(), previousKeys: new Set() });
    expect(paused.events.map((e) => e.reason)).toEqual(['Paused']);
    expect(runEvents({ kind: 'paused', spec, report: report(), previousKeys: paused.keys }).events).toEqual(
      [],
    );
    const observed = observedFrom({
      report: 'fullreport-blank.json',
      lsblk: 'lsblk-blank.json',
      devices: [{ path: '/dev/vda' }],
    });
    const planned = runEvents({
      kind: 'plan',
      spec,
      report: { ...report(), observed, plan: plan(spec, observed) },
      previousKeys: new Set(),
    });
    expect(planned.events).toEqual([
      {
        type: 'Normal',
        reason: 'Planned',
        message: "Plan mode: 8 steps planned and not applied; see the ThinPoolNode's status.plan",
      },
    ]);
  });
});
