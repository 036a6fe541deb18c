import { expect, it } from '@jest/globals';
import { describeVm } from '../vm/guest.js';
import { deviceWrites, lvs } from './support/guest.js';
import { useSystem, waitFor } from './support/system.js';

describeVm('system: Plan mode', () => {
  const ctx = useSystem({ name: 'plan-mode' });
  const POOL = 'plan';

  it('lists the exact commands in status and changes nothing on the host; Apply then runs exactly those', async () => {
    const { vm } = ctx;
    const disk = vm.disk('disk4');
    const writesBefore = await deviceWrites(vm, disk.devicePath);
    await ctx.system.applyThinPool(POOL, {
      mode: 'Plan',
      volumeGroup: 'planvg',
      devices: [{ path: disk.byIdPath }],
    });
    const planned = await waitFor(async () => {
      const tpn = await ctx.system.thinPoolNode(POOL);
      return tpn?.status?.phase === 'Planned' ? tpn : undefined;
    }, 'the Planned phase');
    const expected = [
      `pvcreate ${disk.byIdPath}`,
      `vgcreate --addtag thinpool.dev/managed planvg ${disk.byIdPath}`,
      'lvcreate --wipesignatures y --addtag thinpool.dev/managed -n thinpool planvg -l 95%VG',
      'lvcreate --wipesignatures y --addtag thinpool.dev/managed -n thinpoolmeta planvg -l 1%VG',
      'lvconvert -y --zero n -c 512K --thinpool planvg/thinpool --poolmetadata planvg/thinpoolmeta',
      'write-file /etc/lvm/profile/planvg-thinpool.profile',
      'lvchange --metadataprofile planvg-thinpool planvg/thinpool',
      'lvchange --monitor y planvg/thinpool',
    ];
    expect(planned.status?.plan).toEqual(expected);
    const event = (await ctx.system.events('ThinPool', POOL)).find((e) => e.reason === 'Planned');
    expect(event?.message).toContain('8 steps planned and not applied');

    const agent = ctx.system.kubelet.agent(POOL);
    expect(agent.mutations()).toEqual([]);
    expect(await deviceWrites(vm, disk.devicePath)).toBe(writesBefore);
    expect((await vm.run(['pvs', '--noheadings'])).stdout.trim()).toBe('');
    expect(await vm.readFile('/etc/lvm/profile/planvg-thinpool.profile')).toBeUndefined();

    const patched = await ctx.system.kubectl([
      'patch',
      'thinpool',
      POOL,
      '--type',
      'merge',
      '-p',
      '{"spec":{"mode":"Apply"}}',
    ]);
    expect(patched.exitCode).toBe(0);
    await ctx.system.waitForCondition(POOL, 'Ready', 'True');
    expect(agent.mutations()).toEqual(expected);
    expect((await lvs(vm, 'planvg/thinpool'))?.lv_attr.startsWith('twi-a')).toBe(true);
    const tpn = await ctx.system.thinPoolNode(POOL);
    expect(tpn?.status?.plan).toBeUndefined();
    expect(tpn?.status?.phase).toBe('Ready');
  });
});
