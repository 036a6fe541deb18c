import { expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { describeVm } from '../vm/guest.js';
import { metricValue } from './support/agent-process.js';
import { disableDmeventd, guestSh, lvs } from './support/guest.js';
import { useSystem, VM_NODE, waitFor } from './support/system.js';

/**
 * The whole system on a direct-lvm pool, one story told in order (each step starts from the previous
 * one's end state, as on a real node): apply with kubectl, fill, reboot, delete.
 */
describeVm('system: direct-lvm ThinPool through kubectl, operator, agent and real LVM', () => {
  const ctx = useSystem({ name: 'direct-lvm' });
  const POOL = 'docker';
  const labels = { thinpool: POOL, node: VM_NODE, vg: 'docker', lv: 'thinpool' };

  it('applies a direct-lvm ThinPool with kubectl: Ready, and status, metrics and kubectl get match lvs to the byte', async () => {
    const manifest = stringify({
      apiVersion: 'thinpool.dev/v1alpha1',
      kind: 'ThinPool',
      metadata: { name: POOL },
      spec: {
        devices: [{ path: ctx.vm.disk('disk2').byIdPath }],
        dataPercent: 25,
        deletionPolicy: 'Delete',
      },
    });
    expect(await ctx.system.apply(manifest)).toContain('thinpool.thinpool.dev/docker created');
    const ready = await ctx.system.waitForCondition(POOL, 'Ready', 'True');
    expect(ready.status?.nodes).toEqual({ desired: 1, ready: 1, failed: 0 });

    const lv = (await lvs(ctx.vm, 'docker/thinpool'))!;
    expect(lv.lv_attr.startsWith('twi-a')).toBe(true);
    const dataSize = Number(lv.lv_size);
    const metadataSize = Number(lv.lv_metadata_size);
    const tpn = await waitFor(async () => {
      const t = await ctx.system.thinPoolNode(POOL);
      return t?.status?.pool?.dataSizeBytes === dataSize ? t : undefined;
    }, 'ThinPoolNode status with the pool size');
    expect(tpn.status?.phase).toBe('Ready');
    expect(tpn.status?.pool).toMatchObject({
      dataSizeBytes: dataSize,
      metadataSizeBytes: metadataSize,
      dataUsedPercent: Number(lv.data_percent),
      metadataUsedPercent: Number(lv.metadata_percent),
      chunkSizeBytes: 512 * 1024,
      active: true,
    });
    const pool = await ctx.system.thinPool(POOL);
    expect(pool?.status?.capacity?.dataSizeBytes).toBe(dataSize);
    expect(pool?.status?.capacity?.metadataSizeBytes).toBe(metadataSize);

    const jsonpath = await ctx.system.kubectl([
      'get',
      'thinpoolnode',
      `${POOL}.${VM_NODE}`,
      '-o',
      'jsonpath={.status.pool.dataSizeBytes} {.status.pool.metadataSizeBytes}',
    ]);
    expect(jsonpath.stdout).toBe(`${dataSize} ${metadataSize}`);
    const wide = await ctx.system.kubectl(['get', 'thinpools,thinpoolnodes', '-o', 'wide']);
    expect(wide.exitCode).toBe(0);
    const row = wide.stdout
      .split('\n')
      .find((l) => l.startsWith(`thinpoolnode.thinpool.dev/${POOL}.${VM_NODE}`));
    const header = wide.stdout.split('\n').find((l, i, all) => all[i + 1] === row)!;
    const columns = header.split(/\s{2,}/);
    const cells = row!.split(/\s{2,}/);
    expect(cells[columns.indexOf('PHASE')]).toBe('Ready');
    expect(Number(cells[columns.indexOf('DATA%')])).toBe(Number(lv.data_percent));
    expect(Number(cells[columns.indexOf('METADATA%')])).toBe(Number(lv.metadata_percent));

    const metrics = (await ctx.system.kubelet.agent(POOL).get('/metrics')).body;
    expect(metricValue(metrics, 'thinpool_data_size_bytes', labels)).toBe(dataSize);
    expect(metricValue(metrics, 'thinpool_metadata_size_bytes', labels)).toBe(metadataSize);
    expect(metricValue(metrics, 'thinpool_active', labels)).toBe(1);

    const created = (await ctx.system.events('ThinPool', POOL)).find((e) => e.reason === 'CreatedThinPool');
    expect(created?.message).toMatch(/^Created thin pool docker\/thinpool \(\d+\.\d MiB\)$/);
    expect((await ctx.system.events('Node', VM_NODE)).some((e) => e.reason === 'CreatedThinPool')).toBe(true);
  });

  it('extends the pool when a thin LV fills it: status, an Event and thinpool_extensions_total show it', async () => {
    const { vm } = ctx;
    await disableDmeventd(vm, 'docker/thinpool');
    const before = Number((await lvs(vm, 'docker/thinpool'))!.lv_size);
    await vm.run(['lvcreate', '-q', '-V', '1G', '-T', 'docker/thinpool', '-n', 'fill']);
    // 88% of the pool, past the 80% threshold.
    const fillMiB = Math.ceil((before * 0.88) / 2 ** 20);
    await guestSh(vm, `dd if=/dev/zero of=/dev/docker/fill bs=1M count=${fillMiB} oflag=direct status=none`);

    const after = await waitFor(async () => {
      const lv = await lvs(vm, 'docker/thinpool');
      return lv && Number(lv.lv_size) > before ? Number(lv.lv_size) : undefined;
    }, 'the agent to extend the pool');
    expect(after).toBeGreaterThanOrEqual(before * 1.2 - 4 * 2 ** 20);

    const tpn = await waitFor(async () => {
      const t = await ctx.system.thinPoolNode(POOL);
      return t?.status?.pool?.dataSizeBytes === after ? t : undefined;
    }, 'ThinPoolNode status with the extended size');
    expect(tpn.status?.lastExtension).toMatchObject({
      kind: 'data',
      trigger: 'threshold',
      fromBytes: before,
      toBytes: after,
    });
    // dmeventd is gone: the status says so with a reason an admin can act on; the agent extended instead.
    expect(tpn.status?.conditions?.find((c) => c.type === 'Monitored')).toMatchObject({
      status: 'False',
      reason: 'MonitoringOff',
    });
    const extended = await waitFor(
      async () => (await ctx.system.events('ThinPool', POOL)).find((e) => e.reason === 'ExtendedThinPool'),
      'the ExtendedThinPool Event',
    );
    expect(extended.type).toBe('Normal');
    expect(extended.message).toContain('Extended thin pool data docker/thinpool');
    expect(extended.message).toMatch(/passed 80%/);
    const metrics = (await ctx.system.kubelet.agent(POOL).get('/metrics')).body;
    expect(
      metricValue(metrics, 'thinpool_extensions_total', { ...labels, kind: 'data', trigger: 'threshold' }),
    ).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics, 'thinpool_data_size_bytes', labels)).toBe(after);
  });

  it('is Ready again after a reboot (VG deactivated, agent restarted) without any human step', async () => {
    const { vm } = ctx;
    await ctx.system.kubelet.stopAgent(POOL);
    await ctx.system.waitForCondition(POOL, 'Ready', 'False');
    await vm.run(['vgchange', '-an', 'docker']);
    expect((await lvs(vm, 'docker/thinpool'))!.lv_attr[4]).not.toBe('a');

    ctx.system.kubelet.startAgent(POOL);
    await ctx.system.waitForCondition(POOL, 'Ready', 'True');
    expect((await lvs(vm, 'docker/thinpool'))!.lv_attr[4]).toBe('a');
    const restarted = ctx.system.kubelet.agentHistory(POOL).at(-1)!;
    expect(restarted.completedCommands()).toContain('lvchange -ay docker/thinpool');
    const tpn = await ctx.system.thinPoolNode(POOL);
    expect(tpn?.status?.pool?.active).toBe(true);
    expect(tpn?.status?.phase).toBe('Ready');
  });

  it('deletes with deletionPolicy Delete: the pool is gone from the host and the finalizer released', async () => {
    const { vm } = ctx;
    const deleted = await ctx.system.kubectl(['delete', 'thinpool', POOL, '--wait=false']);
    expect(deleted.exitCode).toBe(0);
    await waitFor(async () => (await ctx.system.thinPool(POOL)) === undefined, 'the ThinPool to be gone');
    expect(await lvs(vm, 'docker/thinpool')).toBeUndefined();
    const pvs = await vm.run(['pvs', '--noheadings', '-o', 'pv_name']);
    expect(pvs.stdout.trim()).toBe('');
    const signatures = await vm.run(['wipefs', '--no-act', '--json', vm.disk('disk2').devicePath]);
    expect((JSON.parse(signatures.stdout) as { signatures: unknown[] }).signatures).toEqual([]);
    expect(await vm.readFile('/etc/lvm/profile/docker-thinpool.profile')).toBeUndefined();
    const removed = (await ctx.system.events('ThinPool', POOL)).map((e) => e.reason);
    expect(removed).toEqual(
      expect.arrayContaining(['RemovedThinPool', 'RemovedVolumeGroup', 'RemovedPhysicalVolume']),
    );
  });
});
