import { describe, expect, it } from '@jest/globals';
import { parseEventCounter, thinPoolTargetDevice } from '../../node-agent/cluster/dm-event-watcher.js';
import { parseThinPoolStatus, withKernelUsage } from '../../node-agent/cluster/kernel-usage.js';
import { poolNumbers, poolView } from '../../node-agent/observe/observed.js';
import { plan } from '../../node-agent/plan/plan.js';
import { renderProfile } from '../../node-agent/plan/profile.js';
import { agentSpec, observedFrom } from '../agent/support/fixtures.js';

/** `dmsetup status` of a pool past its low-water mark, recorded in the VM (508 MiB pool, 512 KiB chunks). */
const PAST_THRESHOLD =
  '0 1040384 thin-pool 1 526/5120 900/1016 - rw discard_passdown queue_if_no_space - 1024 \n';

describe('device-mapper events of the pool', () => {
  it('watches the thin-pool target: <vg>-<pool> without thin volumes, <vg>-<pool>-tpool with them', () => {
    const used = observedFrom({ report: 'fullreport-used.json', lsblk: 'lsblk-used.json' });
    expect(thinPoolTargetDevice(agentSpec(), used)).toBe('docker-thinpool-tpool');
    const pool = observedFrom({ report: 'fullreport-pool.json', lsblk: 'lsblk-used.json' });
    expect(thinPoolTargetDevice(agentSpec(), pool)).toBe('docker-thinpool');
    const inactive = observedFrom({ report: 'fullreport-inactive.json', lsblk: 'lsblk-used.json' });
    expect(thinPoolTargetDevice(agentSpec(), inactive)).toBeUndefined();
    expect(thinPoolTargetDevice(agentSpec({ volumeGroup: 'my-vg' }), used)).toBeUndefined();
  });

  it('reads the event counter of dmsetup info', () => {
    expect(parseEventCounter('3\n')).toBe(3);
    expect(parseEventCounter('  0  ')).toBe(0);
    expect(parseEventCounter('Device does not exist.')).toBeUndefined();
  });

  it("parses the kernel's thin-pool status", () => {
    expect(parseThinPoolStatus(PAST_THRESHOLD)).toEqual({
      usedMetadataBlocks: 526,
      totalMetadataBlocks: 5120,
      usedDataBlocks: 900,
      totalDataBlocks: 1016,
      mode: 'rw',
    });
    expect(parseThinPoolStatus('0 1040384 thin-pool Fail\n')).toBeUndefined();
    expect(parseThinPoolStatus('0 1040384 linear 253:2 0\n')).toBeUndefined();
  });

  it('plans the extension from the last observation and the kernel use, changing nothing else', () => {
    const spec = agentSpec();
    const observed = observedFrom({
      report: 'fullreport-used.json',
      lsblk: 'lsblk-used.json',
      devices: [{ path: '/dev/vda' }],
      profileContent: renderProfile(spec),
    });
    const pool = poolView(observed.lvm, 'docker', 'thinpool', 'thinpoolmeta').poolLv!;
    const status = parseThinPoolStatus(PAST_THRESHOLD)!;
    const primed = withKernelUsage(spec, observed, status);
    const primedPool = poolNumbers(poolView(primed.lvm, 'docker', 'thinpool', 'thinpoolmeta').poolLv!);
    expect(primedPool.dataPercent).toBeCloseTo((900 / 1016) * 100, 10);
    expect(primedPool.metadataPercent).toBeCloseTo((526 / 5120) * 100, 10);
    expect(primedPool.dataSizeBytes).toBe(pool.sizeBytes);
    expect(primed.lvm.vgs).toBe(observed.lvm.vgs);
    expect(primed.devices).toBe(observed.devices);
    expect(plan(spec, observed).actions).toEqual([]);
    expect(plan(spec, primed).actions.map((a) => [a.kind, a.extension?.trigger])).toEqual([
      ['extend-data', 'threshold'],
    ]);
  });
});
