import { describe, expect, it } from '@jest/globals';
import { parseFullReport, ReportParseError } from '../../node-agent/lvm/report.js';
import { poolNumbers, poolView } from '../../node-agent/observe/observed.js';
import { fixture } from './support/fixtures.js';

describe('parseFullReport on output recorded from real LVM', () => {
  it('reads an empty host as no VG, PV or LV', () => {
    expect(parseFullReport(fixture('fullreport-blank.json'))).toEqual({ vgs: [], pvs: [], lvs: [] });
  });

  it('reports a PV outside any VG as an orphan with an empty VG name', () => {
    const report = parseFullReport(fixture('fullreport-after-pvcreate.json'));
    expect(report.pvs.find((p) => p.name === '/dev/vda')).toMatchObject({
      vgName: '',
      sizeBytes: 1073741824,
    });
    expect(report.pvs.find((p) => p.name === '/dev/vde')).toMatchObject({ vgName: 'foreign' });
  });

  it('reads the half-built pool: two tagged linear LVs', () => {
    const report = parseFullReport(fixture('fullreport-linear.json'));
    const view = poolView(report, 'docker', 'thinpool', 'thinpoolmeta');
    expect(view.poolLv).toMatchObject({ segtype: 'linear', tags: ['thinpool.dev/managed'] });
    expect(view.metadataLv).toMatchObject({ segtype: 'linear', tags: ['thinpool.dev/managed'] });
    expect(view.vg).toMatchObject({
      extentSizeBytes: 4194304,
      extentCount: 255,
      tags: ['thinpool.dev/managed'],
    });
  });

  it('reads a configured pool: chunk, zeroing, profile, monitoring, sizes', () => {
    const report = parseFullReport(fixture('fullreport-pool.json'));
    const view = poolView(report, 'docker', 'thinpool', 'thinpoolmeta');
    expect(view.metadataLv).toBeUndefined();
    expect(view.spareLv).toMatchObject({ name: 'lvol0_pmspare', hidden: true, sizeBytes: 8388608 });
    expect(poolNumbers(view.poolLv!)).toEqual({
      dataSizeBytes: 1015021568,
      dataUsedBytes: 0,
      dataPercent: 0,
      metadataSizeBytes: 8388608,
      metadataUsedBytes: Math.round(8388608 * 0.104),
      metadataPercent: 10.4,
      chunkSizeBytes: 524288,
      zeroing: false,
      profile: 'docker-thinpool',
      active: true,
      monitored: true,
      monitor: 'monitored',
    });
    expect(view.otherLvs).toEqual([]);
  });

  it('reads usage and the thin LVs of a pool in use', () => {
    const view = poolView(
      parseFullReport(fixture('fullreport-used.json')),
      'docker',
      'thinpool',
      'thinpoolmeta',
    );
    expect(view.poolLv).toMatchObject({ dataPercent: 6.61, metadataPercent: 10.45 });
    expect(view.thinLvs.map((l) => l.name)).toEqual(['thin1']);
  });

  it('keeps one row per LV after extensions gave the hidden LVs several segments', () => {
    const report = parseFullReport(fixture('fullreport-extended.json'));
    const names = report.lvs.filter((l) => l.vgName === 'docker').map((l) => l.name);
    expect(names.sort()).toEqual(['lvol0_pmspare', 'thin1', 'thinpool', 'thinpool_tdata', 'thinpool_tmeta']);
    expect(report.lvs.find((l) => l.name === 'thinpool')?.metadataSizeBytes).toBe(16777216);
  });

  it('reads an inactive pool as inactive and unmonitored, without usage', () => {
    const lv = poolView(
      parseFullReport(fixture('fullreport-inactive.json')),
      'docker',
      'thinpool',
      'x',
    ).poolLv!;
    expect(lv).toMatchObject({ active: false, monitor: '', dataPercent: undefined, segtype: 'thin-pool' });
  });

  it('reads loop-backed PVs and their growth', () => {
    const before = parseFullReport(fixture('fullreport-loop.json'));
    const after = parseFullReport(fixture('fullreport-loop-grown.json'));
    const size = (r: typeof before) => r.pvs.find((p) => p.name === '/dev/loop3')!.sizeBytes;
    expect(
      before.pvs
        .filter((p) => p.vgName === 'loopvg')
        .map((p) => p.name)
        .sort(),
    ).toEqual(['/dev/loop3', '/dev/loop4']);
    expect(size(after) - size(before)).toBe(100 * 1024 * 1024);
  });

  it('rejects output that is not the JSON report', () => {
    expect(() => parseFullReport('  Volume group "x" not found')).toThrow(ReportParseError);
    expect(() => parseFullReport('{"report":[{"vg":[{"vg_name":"a","vg_size":"1,5"}]}]}')).toThrow(/vg_size/);
  });
});

describe('zeroing', () => {
  it('reads zeroing from the pool attributes', () => {
    const report = parseFullReport(fixture('fullreport-zeroing.json'));
    expect(report.lvs.find((l) => l.name === 'zp')).toMatchObject({ zeroing: true, chunkSizeBytes: 65536 });
    expect(report.lvs.find((l) => l.name === 'thinpool')).toMatchObject({ zeroing: false });
  });
});
