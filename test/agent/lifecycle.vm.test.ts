import { expect, it } from '@jest/globals';
import type { GuestVm } from '../vm/guest-host.js';
import { describeVm } from '../vm/guest.js';
import { agentCli, guestScript, lvs, manifest, vgs, useAgentGuest } from './support/guest-agent.js';

const MiB = 1024 * 1024;

/** Creates a thin LV in the pool, fills 16 MiB with random data and returns its checksum. */
async function writeThinData(vm: GuestVm): Promise<string> {
  await vm.run(['lvcreate', '-q', '-V', '64M', '-T', 'docker/thinpool', '-n', 'data']);
  await vm.run([
    'dd',
    'if=/dev/urandom',
    'of=/dev/docker/data',
    'bs=1M',
    'count=16',
    'oflag=direct',
    'status=none',
  ]);
  return checksum(vm);
}

async function checksum(vm: GuestVm): Promise<string> {
  const { stdout } = await guestScript(vm, 'head -c 16777216 /dev/docker/data | sha256sum');
  return stdout.split(' ')[0]!;
}

describeVm('thinpool-agent after a reboot', () => {
  const guest = useAgentGuest();

  it('re-activates a deactivated direct-lvm pool, monitored again, data intact', async () => {
    const { vm } = guest;
    const yaml = manifest({ devices: [{ path: vm.disk('disk2').byIdPath }] });
    expect(await agentCli(vm, ['apply'], yaml)).toMatchObject({ code: 0 });
    const sum = await writeThinData(vm);
    await vm.run(['vgchange', '-an', 'docker']);
    expect((await lvs(vm, 'docker/thinpool')).lv_attr[4]).toBe('-');

    const after = await agentCli(vm, ['apply'], yaml);
    expect(after.code).toBe(0);
    expect(after.mutations[0]).toBe('lvchange -ay docker/thinpool');
    const pool = await lvs(vm, 'docker/thinpool');
    expect(pool.lv_attr[4]).toBe('a');
    expect(pool.seg_monitor).toBe('monitored');
    await vm.run(['lvchange', '-ay', 'docker/data']);
    expect(await checksum(vm)).toBe(sum);
  });

  it('re-attaches the same loop files after losetup -D, data intact; destroy then removes everything', async () => {
    const { vm } = guest;
    const spec = { loop: { directory: '/scratch/thinpool', dataSize: '512Mi', metadataSize: '64Mi' } };
    const yaml = manifest(spec);
    expect(await agentCli(vm, ['apply'], yaml)).toMatchObject({ code: 0 });
    const files = [
      '/scratch/thinpool/docker-thinpool-data.img',
      '/scratch/thinpool/docker-thinpool-metadata.img',
    ];
    const attached = async () => {
      const { stdout } = await vm.run(['losetup', '--list', '--json']);
      const doc = (stdout.trim() ? JSON.parse(stdout) : { loopdevices: [] }) as {
        loopdevices: { 'back-file': string }[];
      };
      return doc.loopdevices.map((d) => d['back-file']).sort();
    };
    expect(await attached()).toEqual(files);
    const sum = await writeThinData(vm);

    await vm.run(['vgchange', '-an', 'docker']);
    await vm.run(['losetup', '-D']);
    expect(await attached()).toEqual([]);
    const after = await agentCli(vm, ['apply'], yaml);
    expect(after.code).toBe(0);
    expect(after.mutations.filter((m) => m.startsWith('losetup'))).toHaveLength(2);
    expect(await attached()).toEqual(files);
    const pool = await lvs(vm, 'docker/thinpool');
    expect(pool.lv_attr[4]).toBe('a');
    expect(pool.seg_monitor).toBe('monitored');
    await vm.run(['lvchange', '-ay', 'docker/data']);
    expect(await checksum(vm)).toBe(sum);

    const retained = await agentCli(vm, ['destroy', '--yes-destroy-data'], yaml);
    expect(retained.code).toBe(2);
    const destroy = await agentCli(
      vm,
      ['destroy', '--yes-destroy-data'],
      manifest({ ...spec, deletionPolicy: 'Delete' }),
    );
    expect(destroy.code).toBe(0);
    expect(destroy.mutations[0]).toBe('lvremove -y docker/thinpool');
    expect((await vm.run(['vgs', '--noheadings', '-o', 'vg_name'])).stdout.trim()).toBe('');
    expect(await attached()).toEqual([]);
    for (const file of files) expect(await vm.stat(file)).toEqual({ exists: false });
    expect(await vm.stat('/etc/lvm/profile/docker-thinpool.profile')).toEqual({ exists: false });
  });
});

describeVm('thinpool-agent growth', () => {
  const guest = useAgentGuest();

  it('adds a second disk: data keeps its share of the VG, metadata grows, data intact', async () => {
    const { vm } = guest;
    const first = vm.disk('disk3').byIdPath;
    const second = vm.disk('disk4').byIdPath;
    expect(await agentCli(vm, ['apply'], manifest({ devices: [{ path: first }] }))).toMatchObject({
      code: 0,
    });
    const sum = await writeThinData(vm);
    const before = await lvs(vm, 'docker/thinpool');

    const grown = await agentCli(vm, ['apply'], manifest({ devices: [{ path: first }, { path: second }] }));
    expect(grown.code).toBe(0);
    expect(grown.mutations.slice(0, 2)).toEqual([`pvcreate ${second}`, `vgextend docker ${second}`]);
    const vg = await vgs(vm, 'docker');
    const after = await lvs(vm, 'docker/thinpool');
    expect(vg.pv_count).toBe('2');
    expect(Math.abs(Number(after.lv_size) - 0.95 * Number(vg.vg_size))).toBeLessThanOrEqual(
      Number(vg.vg_extent_size),
    );
    expect(Number(after.lv_size)).toBeGreaterThan(Number(before.lv_size));
    expect(Number(after.lv_metadata_size)).toBeGreaterThan(Number(before.lv_metadata_size));
    expect(await checksum(vm)).toBe(sum);
    expect(
      (await agentCli(vm, ['apply'], manifest({ devices: [{ path: first }, { path: second }] }))).mutations,
    ).toEqual([]);
  });

  it('grows a loop pool when dataSize grows, and never shrinks it', async () => {
    const { vm } = guest;
    const spec = (dataSize: string) =>
      manifest({ loop: { directory: '/scratch/grow', dataSize, metadataSize: '64Mi' } });
    expect(await agentCli(vm, ['apply'], spec('512Mi'))).toMatchObject({ code: 0 });
    const before = Number((await lvs(vm, 'docker/thinpool')).lv_size);
    const grown = await agentCli(vm, ['apply'], spec('768Mi'));
    expect(grown.code).toBe(0);
    expect(grown.mutations.slice(0, 3)).toEqual([
      `truncate -s ${768 * MiB} -- /scratch/grow/docker-thinpool-data.img`,
      expect.stringMatching(/^losetup -c \/dev\/loop\d+$/),
      expect.stringMatching(/^pvresize \/dev\/loop\d+$/),
    ]);
    const vg = await vgs(vm, 'docker');
    const after = Number((await lvs(vm, 'docker/thinpool')).lv_size);
    expect(after).toBeGreaterThan(before);
    expect(Math.abs(after - 0.95 * Number(vg.vg_size))).toBeLessThanOrEqual(Number(vg.vg_extent_size));
    const shrink = await agentCli(vm, ['apply'], spec('512Mi'));
    expect(shrink.code).toBe(0);
    expect(shrink.mutations).toEqual([]);
    expect(shrink.stdout).toMatch(/Note: ShrinkNotSupported: .* shrinking is never done/);
  });
});
