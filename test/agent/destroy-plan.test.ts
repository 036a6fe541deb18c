import { describe, expect, it } from '@jest/globals';
import { renderStep } from '../../node-agent/plan/action.js';
import { dmName, planDestroy } from '../../node-agent/plan/destroy.js';
import { agentSpec, observedFrom } from './support/fixtures.js';

const commands = (p: ReturnType<typeof planDestroy>) => p.actions.map((a) => renderStep(a.step));

describe('planDestroy', () => {
  it('removes the pool with its thin LVs, the VG, the PV label and the profile', () => {
    const observed = observedFrom({
      report: 'fullreport-used.json',
      lsblk: 'lsblk-used.json',
      devices: [{ path: '/dev/vda' }],
      profileContent: 'x',
    });
    expect(commands(planDestroy(agentSpec(), observed))).toEqual([
      'lvremove -y docker/thinpool',
      'vgremove -y docker',
      'pvremove -y /dev/vda',
      'rm -f -- /etc/lvm/profile/docker-thinpool.profile',
    ]);
  });

  it('resumes after a crash that removed the VG: only the orphan PV label is left', () => {
    const observed = observedFrom({
      report: 'fullreport-after-pvcreate.json',
      lsblk: 'lsblk-blank.json',
      devices: [{ path: '/dev/vda' }],
    });
    expect(commands(planDestroy(agentSpec(), observed))).toEqual(['pvremove -y /dev/vda']);
  });

  it('has nothing to do when nothing is left', () => {
    const observed = observedFrom({
      report: 'fullreport-blank.json',
      lsblk: 'lsblk-blank.json',
      devices: [{ path: '/dev/vda' }],
    });
    expect(planDestroy(agentSpec(), observed).actions).toEqual([]);
  });

  it('refuses when the VG holds LVs that are not the pool', () => {
    const observed = observedFrom({
      report: 'fullreport-used.json',
      lsblk: 'lsblk-used.json',
      devices: [{ path: '/dev/vde' }],
    });
    const result = planDestroy(
      agentSpec({ volumeGroup: 'foreign', devices: [{ path: '/dev/vde' }] }),
      observed,
    );
    expect(result.actions).toEqual([]);
    expect(result.findings[0]).toMatchObject({ code: 'VolumeGroupHasOtherVolumes', blocking: true });
  });

  it('refuses while a thin LV is open', () => {
    const observed = observedFrom({
      report: 'fullreport-used.json',
      lsblk: 'lsblk-used.json',
      devices: [{ path: '/dev/vda' }],
    });
    observed.lvm.lvs.find((l) => l.name === 'thin1')!.open = true;
    const result = planDestroy(agentSpec(), observed);
    expect(result.actions).toEqual([]);
    expect(result.findings[0]!.message).toMatch(/in use \(docker\/thin1\)/);
  });

  it('detaches loop devices and removes the backing files in loop mode', () => {
    const file = (path: string, role: 'data' | 'metadata', device: string) => ({
      role,
      path,
      device,
      stat: { exists: true as const, type: 'file' as const, sizeBytes: 1, mode: 0o600, mtimeMs: 0 },
    });
    const observed = observedFrom({
      report: 'fullreport-loop.json',
      lsblk: 'lsblk-loop.json',
      losetup: 'losetup-loop.json',
      loop: {
        directory: { exists: true, type: 'directory', sizeBytes: 0, mode: 0o700, mtimeMs: 0 },
        files: [
          file('/var/lib/tp/data.img', 'data', '/dev/loop3'),
          file('/var/lib/tp/meta.img', 'metadata', '/dev/loop4'),
        ],
      },
    });
    const spec = agentSpec({
      volumeGroup: 'loopvg',
      devices: undefined,
      loop: { directory: '/var/lib/tp', dataSize: '600Mi', metadataSize: '64Mi' },
    });
    expect(commands(planDestroy(spec, observed))).toEqual([
      'vgremove -y loopvg',
      'pvremove -y /dev/loop3',
      'losetup -d /dev/loop3',
      'rm -f -- /var/lib/tp/data.img',
      'pvremove -y /dev/loop4',
      'losetup -d /dev/loop4',
      'rm -f -- /var/lib/tp/meta.img',
    ]);
  });

  it('escapes device-mapper names', () => {
    expect(dmName('my-vg')).toBe('my--vg');
  });
});
