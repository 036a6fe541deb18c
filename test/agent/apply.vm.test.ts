import { expect, it } from '@jest/globals';
import { describeVm } from '../vm/guest.js';
import { agentCli, guestScript, lvs, manifest, vgs, useAgentGuest } from './support/guest-agent.js';

describeVm('thinpool-agent apply on a real disk (direct-lvm)', () => {
  const guest = useAgentGuest();

  it('builds the pool the docs describe, prints exactly the commands it then runs, and a second run changes nothing', async () => {
    const { vm } = guest;
    const device = vm.disk('disk2').byIdPath;
    const yaml = manifest({ devices: [{ path: device }] });

    const dryRun = await agentCli(vm, ['apply', '--dry-run', '--output', 'json'], yaml);
    expect(dryRun.code).toBe(0);
    expect(dryRun.mutations).toEqual([]);
    const printed = dryRun.json!.plan.map((step) => step.command);
    expect(printed).toEqual([
      `pvcreate ${device}`,
      `vgcreate --addtag thinpool.dev/managed docker ${device}`,
      'lvcreate --wipesignatures y --addtag thinpool.dev/managed -n thinpool docker -l 95%VG',
      'lvcreate --wipesignatures y --addtag thinpool.dev/managed -n thinpoolmeta docker -l 1%VG',
      'lvconvert -y --zero n -c 512K --thinpool docker/thinpool --poolmetadata docker/thinpoolmeta',
      'write-file /etc/lvm/profile/docker-thinpool.profile',
      'lvchange --metadataprofile docker-thinpool docker/thinpool',
      'lvchange --monitor y docker/thinpool',
    ]);

    const apply = await agentCli(vm, ['apply', '--output', 'json'], yaml);
    expect(apply.code).toBe(0);
    expect(apply.json!.outcome).toBe('applied');
    expect(apply.mutations).toEqual(printed);
    expect(apply.json!.status.phase).toBe('Ready');

    const vg = await vgs(vm, 'docker');
    const extent = Number(vg.vg_extent_size);
    const pool = await lvs(vm, 'docker/thinpool');
    expect(Math.abs(Number(pool.lv_size) - 0.95 * Number(vg.vg_size))).toBeLessThanOrEqual(extent);
    expect(Math.abs(Number(pool.lv_metadata_size) - 0.01 * Number(vg.vg_size))).toBeLessThanOrEqual(extent);
    expect(pool.chunk_size).toBe(String(512 * 1024));
    expect(pool.lv_attr).toMatch(/^twi-a-t-[-]/); // 8th character: no "z", zeroing off
    expect(pool.lv_profile).toBe('docker-thinpool');
    expect(pool.seg_monitor).toBe('monitored');
    const profile = await vm.readFile('/etc/lvm/profile/docker-thinpool.profile');
    expect(profile).toMatch(
      /activation \{\n\s+thin_pool_autoextend_threshold=80\n\s+thin_pool_autoextend_percent=20\n\}/,
    );
    const config = await vm.run([
      'lvmconfig',
      '--metadataprofile',
      'docker-thinpool',
      'activation/thin_pool_autoextend_threshold',
    ]);
    expect(config.stdout.trim()).toBe('thin_pool_autoextend_threshold=80');

    const again = await agentCli(vm, ['apply'], yaml);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('No changes.');
    expect(again.mutations).toEqual([]);
  });

  it('prints the state with status', async () => {
    const { vm } = guest;
    const yaml = manifest({ devices: [{ path: vm.disk('disk4').byIdPath }] });
    const before = await agentCli(vm, ['status'], yaml);
    expect(before.code).toBe(0);
    expect(before.stdout).toMatch(/ThinPool docker on node vm: Pending[\s\S]*pool\s+absent/);
    expect(before.mutations).toEqual([]);
    await agentCli(vm, ['apply'], yaml);
    const after = await agentCli(vm, ['status', '--output', 'json'], yaml);
    const status = (
      JSON.parse(after.stdout) as {
        status: { phase: string; pool: { active: boolean; monitored: boolean; chunkSizeBytes: number } };
      }
    ).status;
    expect(status).toMatchObject({
      phase: 'Ready',
      pool: { active: true, monitored: true, chunkSizeBytes: 524288 },
    });
  });
});

describeVm('thinpool-agent apply refuses unsafe devices (direct-lvm)', () => {
  const guest = useAgentGuest();

  it('refuses a disk with ext4 and a file, naming the signature; the file reads back; wipeSignatures proceeds', async () => {
    const { vm } = guest;
    const device = vm.disk('disk3').byIdPath;
    await vm.run(['mkfs.ext4', '-q', device]);
    await guestScript(
      vm,
      `mkdir -p /scratch/m && mount ${device} /scratch/m && echo precious > /scratch/m/file && umount /scratch/m`,
    );

    const refused = await agentCli(vm, ['apply'], manifest({ devices: [{ path: device }] }));
    expect(refused.code).toBe(3);
    expect(refused.stdout).toMatch(
      /Refused: DeviceHasFilesystem: Refused .* has an ext4 signature \(filesystem\)/,
    );
    expect(refused.mutations).toEqual([]);
    const read = await guestScript(
      vm,
      `mount -o ro ${device} /scratch/m && cat /scratch/m/file; umount /scratch/m`,
    );
    expect(read.stdout).toBe('precious\n');

    const wiped = await agentCli(
      vm,
      ['apply'],
      manifest({ devices: [{ path: device }], wipeSignatures: true }),
    );
    expect(wiped.code).toBe(0);
    expect(wiped.mutations.slice(0, 2)).toEqual([`wipefs --all ${device}`, `pvcreate ${device}`]);
    expect((await lvs(vm, 'docker/thinpool')).seg_monitor).toBe('monitored');
  });

  it('refuses a mounted device and a PV of a foreign VG even with wipeSignatures, and a missing path', async () => {
    const { vm } = guest;
    const mounted = vm.disk('disk3').byIdPath;
    const foreign = vm.disk('disk4').byIdPath;
    await vm.run(['mkfs.ext4', '-q', mounted]);
    await guestScript(vm, `mkdir -p /scratch/busy && mount ${mounted} /scratch/busy`);
    await vm.run(['pvcreate', '-q', foreign]);
    await vm.run(['vgcreate', '-q', 'foreign', foreign]);
    await vm.run(['lvcreate', '-q', '-n', 'keep', '-L', '8M', 'foreign']);

    const m = await agentCli(vm, ['apply'], manifest({ devices: [{ path: mounted }], wipeSignatures: true }));
    expect(m.code).toBe(3);
    expect(m.stdout).toMatch(/DeviceMounted: Refused .* is mounted at \/scratch\/busy/);
    expect(m.mutations).toEqual([]);

    const f = await agentCli(vm, ['apply'], manifest({ devices: [{ path: foreign }], wipeSignatures: true }));
    expect(f.code).toBe(3);
    expect(f.stdout).toMatch(
      /DeviceInOtherVolumeGroup: Refused .* is a physical volume of volume group foreign/,
    );
    expect(f.mutations).toEqual([]);
    expect((await lvs(vm, 'foreign/keep')).lv_name).toBe('keep');

    const missing = await agentCli(
      vm,
      ['apply'],
      manifest({ devices: [{ path: '/dev/disk/by-id/virtio-nope' }] }),
    );
    expect(missing.code).toBe(3);
    expect(missing.stdout).toContain('/dev/disk/by-id/virtio-nope does not exist');
    expect(missing.mutations).toEqual([]);
  });
});
