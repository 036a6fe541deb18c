import { describe, expect, it } from '@jest/globals';
import { renderStep } from '../../node-agent/plan/action.js';
import { plan } from '../../node-agent/plan/plan.js';
import { renderProfile } from '../../node-agent/plan/profile.js';
import type { Observed } from '../../node-agent/observe/observed.js';
import { agentSpec, MISSING, observedFrom } from './support/fixtures.js';

const commands = (p: ReturnType<typeof plan>) => p.actions.map((a) => renderStep(a.step));

const DOCS_SEQUENCE = [
  'pvcreate /dev/vda',
  'vgcreate --addtag thinpool.dev/managed docker /dev/vda',
  'lvcreate --wipesignatures y --addtag thinpool.dev/managed -n thinpool docker -l 95%VG',
  'lvcreate --wipesignatures y --addtag thinpool.dev/managed -n thinpoolmeta docker -l 1%VG',
  'lvconvert -y --zero n -c 512K --thinpool docker/thinpool --poolmetadata docker/thinpoolmeta',
  'write-file /etc/lvm/profile/docker-thinpool.profile',
  'lvchange --metadataprofile docker-thinpool docker/thinpool',
  'lvchange --monitor y docker/thinpool',
];

describe('plan: direct-lvm on a blank disk', () => {
  it('is the Docker direct-lvm procedure, step by step', () => {
    const observed = observedFrom({
      report: 'fullreport-blank.json',
      lsblk: 'lsblk-blank.json',
      devices: [{ path: '/dev/vda', wipefs: 'wipefs-blank.json' }],
    });
    const result = plan(agentSpec(), observed);
    expect(commands(result)).toEqual(DOCS_SEQUENCE);
    expect(result.complete).toBe(true);
    expect(result.devices).toMatchObject([{ path: '/dev/vda', state: 'Pending', reasons: [] }]);
    const profile = result.actions.find((a) => a.kind === 'write-profile')!.step;
    expect(profile).toMatchObject({ content: renderProfile(agentSpec()) });
    expect(renderProfile(agentSpec())).toContain(
      'thin_pool_autoextend_threshold=80\n    thin_pool_autoextend_percent=20',
    );
    expect(result.actions.every((a) => a.explanation.length > 0 && !a.explanation.includes('\n'))).toBe(true);
  });

  it('uses the spec path (by-id) in commands and the canonical path for checks', () => {
    const observed = observedFrom({
      report: 'fullreport-blank.json',
      lsblk: 'lsblk-blank.json',
      devices: [{ path: '/dev/disk/by-id/virtio-a', resolved: '/dev/vda', wipefs: 'wipefs-blank.json' }],
    });
    const result = plan(agentSpec({ devices: [{ path: '/dev/disk/by-id/virtio-a' }] }), observed);
    expect(commands(result).slice(0, 2)).toEqual([
      'pvcreate /dev/disk/by-id/virtio-a',
      'vgcreate --addtag thinpool.dev/managed docker /dev/disk/by-id/virtio-a',
    ]);
  });

  it('honours chunk size and zeroing', () => {
    const observed = observedFrom({
      report: 'fullreport-blank.json',
      lsblk: 'lsblk-blank.json',
      devices: [{ path: '/dev/vda', wipefs: 'wipefs-blank.json' }],
    });
    const result = plan(agentSpec({ chunkSize: '1Mi', zeroing: true }), observed);
    expect(commands(result)).toContain(
      'lvconvert -y --zero y -c 1024K --thinpool docker/thinpool --poolmetadata docker/thinpoolmeta',
    );
  });
});

describe('plan: safety', () => {
  const blank = (
    device: { path: string; wipefs?: string; stat?: typeof MISSING },
    lsblk = 'lsblk-blank.json',
    report = 'fullreport-blank.json',
  ) => observedFrom({ report, lsblk, devices: [device] });

  it('refuses a disk with a filesystem, naming the signature, and plans nothing', () => {
    const result = plan(
      agentSpec({ devices: [{ path: '/dev/vdc' }] }),
      blank({ path: '/dev/vdc', wipefs: 'wipefs-ext4.json' }),
    );
    expect(result.actions).toEqual([]);
    expect(result.devices[0]).toMatchObject({ state: 'Refused', code: 'DeviceHasFilesystem' });
    expect(result.devices[0]!.reasons[0]).toMatch(/ext4 signature \(filesystem\)/);
    expect(result.findings[0]).toMatchObject({ code: 'DeviceHasFilesystem', blocking: true });
  });

  it('wipes the signature first when wipeSignatures is true', () => {
    const result = plan(
      agentSpec({ devices: [{ path: '/dev/vdc' }], wipeSignatures: true }),
      blank({ path: '/dev/vdc', wipefs: 'wipefs-ext4.json' }),
    );
    expect(commands(result).slice(0, 2)).toEqual(['wipefs --all /dev/vdc', 'pvcreate /dev/vdc']);
  });

  it('refuses a partition table unless wiping', () => {
    const result = plan(
      agentSpec({ devices: [{ path: '/dev/vdb' }] }),
      blank({ path: '/dev/vdb', wipefs: 'wipefs-dos.json' }),
    );
    expect(result.devices[0]).toMatchObject({ state: 'Refused', code: 'DeviceHasPartitionTable' });
  });

  it('refuses a device with partitions even with wipeSignatures', () => {
    const spec = agentSpec({ devices: [{ path: '/dev/vdd' }], wipeSignatures: true });
    const result = plan(
      spec,
      blank({ path: '/dev/vdd', wipefs: 'wipefs-dos.json' }, 'lsblk-partitioned.json'),
    );
    expect(result.actions).toEqual([]);
    expect(result.devices[0]!.reasons.join()).toMatch(/partitions or holders in use: \/dev\/vdd1/);
  });

  it('refuses a mounted device even with wipeSignatures', () => {
    const spec = agentSpec({ devices: [{ path: '/dev/vdc' }], wipeSignatures: true });
    const result = plan(spec, blank({ path: '/dev/vdc', wipefs: 'wipefs-ext4.json' }, 'lsblk-mounted.json'));
    expect(result.actions).toEqual([]);
    expect(result.devices[0]).toMatchObject({ state: 'Refused', code: 'DeviceMounted' });
    expect(result.devices[0]!.reasons[0]).toBe('/dev/vdc is mounted at /mnt/c');
  });

  it('refuses a PV of a foreign VG even with wipeSignatures', () => {
    const spec = agentSpec({ devices: [{ path: '/dev/vde' }], wipeSignatures: true });
    const result = plan(
      spec,
      blank(
        { path: '/dev/vde', wipefs: 'wipefs-lvm2-member.json' },
        'lsblk-used.json',
        'fullreport-used.json',
      ),
    );
    expect(commands(result).filter((c) => c.includes('/dev/vde'))).toEqual([]);
    expect(result.devices[0]).toMatchObject({ state: 'Refused', code: 'DeviceInOtherVolumeGroup' });
    expect(result.devices[0]!.reasons[0]).toMatch(/volume group foreign/);
  });

  it('reports a missing path clearly', () => {
    const result = plan(
      agentSpec({ devices: [{ path: '/dev/disk/by-id/nope' }] }),
      blank({ path: '/dev/disk/by-id/nope', stat: MISSING }),
    );
    expect(result.actions).toEqual([]);
    expect(result.devices[0]).toMatchObject({
      state: 'Missing',
      reasons: ['/dev/disk/by-id/nope does not exist'],
    });
  });

  it('refuses a path that is not a block device', () => {
    const observed = blank({
      path: '/dev/null',
      stat: { exists: true, type: 'character-device', sizeBytes: 0, mode: 0, mtimeMs: 0 },
    });
    const result = plan(agentSpec({ devices: [{ path: '/dev/null' }] }), observed);
    expect(result.devices[0]!.reasons[0]).toBe('/dev/null is not a block device (it is a character-device)');
  });

  it('builds no VG from a subset of the devices when one is refused', () => {
    const observed = observedFrom({
      report: 'fullreport-blank.json',
      lsblk: 'lsblk-blank.json',
      devices: [
        { path: '/dev/vda', wipefs: 'wipefs-blank.json' },
        { path: '/dev/vdc', wipefs: 'wipefs-ext4.json' },
      ],
    });
    const result = plan(agentSpec({ devices: [{ path: '/dev/vda' }, { path: '/dev/vdc' }] }), observed);
    expect(result.actions).toEqual([]);
    expect(result.devices.map((d) => d.state)).toEqual(['Pending', 'Refused']);
  });
});

describe('plan: resuming an interrupted run', () => {
  it('skips pvcreate for an orphan PV left by a crash', () => {
    const observed = observedFrom({
      report: 'fullreport-after-pvcreate.json',
      lsblk: 'lsblk-blank.json',
      devices: [{ path: '/dev/vda', wipefs: 'wipefs-lvm2-member.json' }],
    });
    expect(commands(plan(agentSpec(), observed))).toEqual(DOCS_SEQUENCE.slice(1));
  });

  it('converts the two tagged linear LVs left by a crash before lvconvert', () => {
    const observed = observedFrom({
      report: 'fullreport-linear.json',
      lsblk: 'lsblk-used.json',
      devices: [{ path: '/dev/vda' }],
    });
    expect(commands(plan(agentSpec(), observed))).toEqual(DOCS_SEQUENCE.slice(4));
  });

  it('leaves alone a linear LV with the pool name that the agent did not create', () => {
    const observed = observedFrom({
      report: 'fullreport-linear.json',
      lsblk: 'lsblk-used.json',
      devices: [{ path: '/dev/vda' }],
    });
    const lv = observed.lvm.lvs.find((l) => l.name === 'thinpool')!;
    lv.tags = [];
    const result = plan(agentSpec(), observed);
    expect(result.actions).toEqual([]);
    expect(result.findings[0]).toMatchObject({ code: 'LogicalVolumeNameTaken', blocking: true });
  });

  it('writes and attaches the profile after a crash that converted the pool', () => {
    const observed = observedFrom({
      report: 'fullreport-converted.json',
      lsblk: 'lsblk-used.json',
      devices: [{ path: '/dev/vda' }],
    });
    const result = plan(agentSpec(), observed);
    expect(commands(result)).toEqual(DOCS_SEQUENCE.slice(5, 7).concat(commands(result).slice(2)));
    expect(commands(result).slice(0, 2)).toEqual(DOCS_SEQUENCE.slice(5, 7));
  });
});

describe('plan: a configured pool', () => {
  const configured = (report = 'fullreport-pool.json') =>
    observedFrom({
      report,
      lsblk: 'lsblk-used.json',
      devices: [{ path: '/dev/vda' }],
      profileContent: renderProfile(agentSpec()),
    });

  it('has nothing to do', () => {
    const result = plan(agentSpec(), configured());
    expect(result.actions).toEqual([]);
    expect(result.findings).toEqual([]);
    expect(result.devices[0]).toMatchObject({ state: 'InUse' });
  });

  it('rewrites a profile whose thresholds changed, without re-attaching it', () => {
    const result = plan(
      agentSpec({ autoExtend: { thresholdPercent: 70, extendPercent: 10, metadata: true } }),
      configured(),
    );
    expect(commands(result)).toEqual(['write-file /etc/lvm/profile/docker-thinpool.profile']);
  });

  it('activates an inactive pool after a reboot and plans the rest after it', () => {
    const result = plan(agentSpec(), configured('fullreport-inactive.json'));
    expect(commands(result)).toEqual(['lvchange -ay docker/thinpool']);
    expect(result.complete).toBe(false);
  });

  it('turns monitoring back on, or reports it off when retrying is not allowed', () => {
    const observed = configured();
    observed.lvm.lvs.find((l) => l.name === 'thinpool')!.monitor = 'not monitored';
    expect(commands(plan(agentSpec(), observed))).toEqual(['lvchange --monitor y docker/thinpool']);
    const quiet = plan(agentSpec(), observed, { autoExtend: true, retryMonitoring: false });
    expect(quiet.actions).toEqual([]);
    expect(quiet.findings).toMatchObject([{ code: 'MonitoringOff', blocking: false }]);
  });

  it('reports a chunk size it cannot change and changes zeroing', () => {
    const result = plan(agentSpec({ chunkSize: '64Ki', zeroing: true }), configured());
    expect(commands(result)).toEqual(['lvchange --zero y docker/thinpool']);
    expect(result.findings.map((f) => f.code)).toEqual(['ChunkSizeImmutable']);
  });

  it('reports a PV of the VG that the spec no longer lists, and never removes it', () => {
    const observed = configured();
    const result = plan(agentSpec({ devices: [{ path: '/dev/vdb' }] }), {
      ...observed,
      devices: [
        {
          path: '/dev/vdb',
          resolved: '/dev/vdb',
          stat: { exists: true, type: 'block-device', sizeBytes: 0, mode: 0, mtimeMs: 0 },
          signatures: [],
        },
      ],
    });
    expect(result.findings.map((f) => f.code)).toContain('DeviceNotInSpec');
    expect(commands(result)).toEqual(['pvcreate /dev/vdb', 'vgextend docker /dev/vdb']);
    expect(result.complete).toBe(false);
  });
});

function withPool(
  observed: Observed,
  change: { dataPercent?: number; metadataPercent?: number; extentCount?: number; freeExtents?: number },
) {
  const lv = observed.lvm.lvs.find((l) => l.name === 'thinpool' && l.vgName === 'docker')!;
  const vg = observed.lvm.vgs.find((v) => v.name === 'docker')!;
  if (change.dataPercent !== undefined) lv.dataPercent = change.dataPercent;
  if (change.metadataPercent !== undefined) lv.metadataPercent = change.metadataPercent;
  if (change.extentCount !== undefined) vg.extentCount = change.extentCount;
  if (change.freeExtents !== undefined) vg.freeExtents = change.freeExtents;
  return observed;
}

describe('plan: growth and autoextend', () => {
  // fullreport-used: VG 255 extents of 4 MiB, 9 free; data 242 extents; metadata 2 extents, spare 2.
  const used = () =>
    observedFrom({
      report: 'fullreport-used.json',
      lsblk: 'lsblk-used.json',
      devices: [{ path: '/dev/vda' }],
      profileContent: renderProfile(agentSpec()),
    });
  const MiB = 1024 * 1024;

  it('extends data by extendPercent when use passes the threshold, capped by VG free space', () => {
    const result = plan(agentSpec(), withPool(used(), { dataPercent: 85 }));
    expect(commands(result)).toEqual(['lvextend -l 251 docker/thinpool']);
    expect(result.actions[0]!.extension).toMatchObject({
      kind: 'data',
      trigger: 'threshold',
      fromBytes: 968 * MiB,
      toBytes: 1004 * MiB,
    });
    expect(result.actions[0]!.explanation).toMatch(/85\.00% passed 80%/);
  });

  it('extends by the full step when the VG has room', () => {
    const result = plan(agentSpec(), withPool(used(), { dataPercent: 85, freeExtents: 700 }));
    // 20% of 242 extents = 48.4 -> 49 extents
    expect(commands(result)).toEqual(['lvextend -l 291 docker/thinpool']);
  });

  it('stops at maxDataSize', () => {
    const spec = agentSpec({
      autoExtend: { thresholdPercent: 80, extendPercent: 20, metadata: true, maxDataSize: '1000Mi' },
    });
    const grown = plan(spec, withPool(used(), { dataPercent: 85, freeExtents: 700 }));
    expect(commands(grown)).toEqual(['lvextend -l 250 docker/thinpool']);
    const atMax = plan(
      agentSpec({
        autoExtend: { thresholdPercent: 80, extendPercent: 20, metadata: true, maxDataSize: '968Mi' },
      }),
      withPool(used(), { dataPercent: 85, freeExtents: 700 }),
    );
    expect(atMax.actions).toEqual([]);
    expect(atMax.findings).toMatchObject([{ code: 'MaxDataSizeReached', blocking: false }]);
  });

  it('reports a full VG instead of extending', () => {
    const result = plan(agentSpec(), withPool(used(), { dataPercent: 90, freeExtents: 0 }));
    expect(result.actions).toEqual([]);
    expect(result.findings).toMatchObject([{ code: 'VolumeGroupFull' }]);
  });

  it('does nothing at the threshold when autoextend is disabled (100) or not allowed this round', () => {
    const disabled = agentSpec({ autoExtend: { thresholdPercent: 100, extendPercent: 20, metadata: true } });
    expect(
      plan(disabled, withPool(used(), { dataPercent: 99 })).actions.filter((a) => a.kind === 'extend-data'),
    ).toEqual([]);
    expect(
      plan(agentSpec(), withPool(used(), { dataPercent: 99 }), { autoExtend: false, retryMonitoring: true })
        .actions,
    ).toEqual([]);
  });

  it('extends metadata first when its use leads, counting the spare copy twice', () => {
    const result = plan(
      agentSpec(),
      withPool(used(), { dataPercent: 81, metadataPercent: 90, freeExtents: 700 }),
    );
    expect(result.actions.map((a) => a.kind)).toEqual(['extend-metadata', 'extend-data']);
    // metadata: 8 MiB + 20% rounded up to one 4 MiB extent
    expect(commands(result)[0]).toBe(`lvextend --poolmetadatasize ${12 * MiB}b docker/thinpool`);
  });

  it('extends data first when data leads', () => {
    const result = plan(
      agentSpec(),
      withPool(used(), { dataPercent: 90, metadataPercent: 85, freeExtents: 700 }),
    );
    expect(result.actions.map((a) => a.kind)).toEqual(['extend-data', 'extend-metadata']);
  });

  it('grows data and metadata to their share of a VG that grew (a device was added)', () => {
    const result = plan(agentSpec(), withPool(used(), { extentCount: 510, freeExtents: 264 }));
    // data 95% of 510 = 484 extents; metadata 1% of 510 = 5 extents = 20 MiB
    expect(commands(result)).toEqual([
      `lvextend --poolmetadatasize ${20 * MiB}b docker/thinpool`,
      'lvextend -l 484 docker/thinpool',
    ]);
    expect(result.actions.map((a) => a.extension!.trigger)).toEqual(['spec-size', 'spec-size']);
  });
});

describe('plan: loop-lvm', () => {
  const loopSpec = () =>
    agentSpec({
      devices: undefined,
      loop: { directory: '/var/lib/tp', dataSize: '600Mi', metadataSize: '64Mi' },
    });
  const file = (path: string, role: 'data' | 'metadata', sizeBytes?: number, device?: string) => ({
    role,
    path,
    stat:
      sizeBytes === undefined
        ? MISSING
        : { exists: true as const, type: 'file' as const, sizeBytes, mode: 0o600, mtimeMs: 0 },
    device,
  });
  const DIR = { exists: true as const, type: 'directory' as const, sizeBytes: 0, mode: 0o700, mtimeMs: 0 };
  const MiB = 1024 * 1024;

  it('creates sparse files, attaches them to free loop devices and builds the pool on them in one plan', () => {
    const observed = observedFrom({
      report: 'fullreport-blank.json',
      lsblk: 'lsblk-blank.json',
      loop: {
        directory: MISSING,
        files: [
          file('/var/lib/tp/docker-thinpool-data.img', 'data'),
          file('/var/lib/tp/docker-thinpool-metadata.img', 'metadata'),
        ],
      },
    });
    const result = plan(loopSpec(), observed);
    expect(commands(result).slice(0, 8)).toEqual([
      'mkdir -p -- /var/lib/tp',
      `truncate -s ${600 * MiB} -- /var/lib/tp/docker-thinpool-data.img`,
      'losetup /dev/loop0 /var/lib/tp/docker-thinpool-data.img',
      `truncate -s ${64 * MiB} -- /var/lib/tp/docker-thinpool-metadata.img`,
      'losetup /dev/loop1 /var/lib/tp/docker-thinpool-metadata.img',
      'pvcreate /dev/loop0',
      'pvcreate /dev/loop1',
      'vgcreate --addtag thinpool.dev/managed docker /dev/loop0 /dev/loop1',
    ]);
    expect(result.complete).toBe(true);
    expect(commands(result).slice(8)).toEqual(DOCS_SEQUENCE.slice(2));
  });

  it('re-attaches existing files after a reboot and plans the rest once LVM sees them', () => {
    const observed = observedFrom({
      report: 'fullreport-blank.json',
      lsblk: 'lsblk-blank.json',
      loop: {
        directory: DIR,
        files: [
          file('/var/lib/tp/docker-thinpool-data.img', 'data', 600 * MiB),
          file('/var/lib/tp/docker-thinpool-metadata.img', 'metadata', 64 * MiB),
        ],
      },
    });
    const result = plan(loopSpec(), observed);
    expect(commands(result)).toEqual([
      'losetup /dev/loop0 /var/lib/tp/docker-thinpool-data.img',
      'losetup /dev/loop1 /var/lib/tp/docker-thinpool-metadata.img',
    ]);
    expect(result.complete).toBe(false);
  });

  it('grows the data file, the loop device and the PV when dataSize grew, and never shrinks', () => {
    const observed = observedFrom({
      report: 'fullreport-loop.json',
      lsblk: 'lsblk-loop.json',
      losetup: 'losetup-loop.json',
      loop: {
        directory: DIR,
        files: [
          file('/var/lib/tp/data.img', 'data', 600 * MiB, '/dev/loop3'),
          file('/var/lib/tp/meta.img', 'metadata', 64 * MiB, '/dev/loop4'),
        ],
      },
    });
    const spec = {
      ...agentSpec({
        volumeGroup: 'loopvg',
        devices: undefined,
        loop: { directory: '/var/lib/tp', dataSize: '800Mi', metadataSize: '32Mi' },
      }),
    };
    spec.loop = { ...spec.loop!, dataFile: '/var/lib/tp/data.img', metadataFile: '/var/lib/tp/meta.img' };
    const result = plan(spec, observed);
    expect(commands(result).slice(0, 3)).toEqual([
      `truncate -s ${800 * MiB} -- /var/lib/tp/data.img`,
      'losetup -c /dev/loop3',
      'pvresize /dev/loop3',
    ]);
    expect(result.findings.map((f) => f.code)).toEqual(['ShrinkNotSupported']);
    expect(result.complete).toBe(false);
  });

  it('refuses to recreate a missing backing file of an existing VG', () => {
    const observed = observedFrom({
      report: 'fullreport-loop.json',
      lsblk: 'lsblk-loop.json',
      losetup: 'losetup-loop.json',
      loop: {
        directory: DIR,
        files: [
          file('/var/lib/tp/x-data.img', 'data'),
          file('/var/lib/tp/meta.img', 'metadata', 64 * MiB, '/dev/loop4'),
        ],
      },
    });
    const result = plan(
      agentSpec({
        volumeGroup: 'loopvg',
        devices: undefined,
        loop: { directory: '/var/lib/tp', dataSize: '600Mi', metadataSize: '64Mi' },
      }),
      observed,
    );
    expect(result.actions).toEqual([]);
    expect(result.findings[0]).toMatchObject({ code: 'LoopFileMissing', blocking: true });
  });
});
