import { expect, it } from '@jest/globals';
import { describeVm } from '../vm/guest.js';
import { metricValue } from './support/agent-process.js';
import { disableDmeventd, guestSh, lvs } from './support/guest.js';
import { useSystem, VM_NODE, waitFor } from './support/system.js';

/** How long the API server stays unreachable for the agent. */
const OUTAGE_MS = 60_000;

describeVm('system: the API server unreachable for a minute', () => {
  const ctx = useSystem({ name: 'api-outage', proxy: true });
  const POOL = 'docker';
  const labels = { thinpool: POOL, node: VM_NODE, vg: 'docker', lv: 'thinpool' };

  it('keeps autoextending and serving metrics, and reports the backlog when the API returns', async () => {
    const { vm } = ctx;
    await ctx.system.applyThinPool(POOL, { devices: [{ path: vm.disk('disk2').byIdPath }], dataPercent: 25 });
    await ctx.system.waitForCondition(POOL, 'Ready', 'True');
    await disableDmeventd(vm, 'docker/thinpool');
    await vm.run(['lvcreate', '-q', '-V', '1G', '-T', 'docker/thinpool', '-n', 'fill']);
    const before = Number((await lvs(vm, 'docker/thinpool'))!.lv_size);
    await waitFor(
      async () => (await ctx.system.thinPoolNode(POOL))?.status?.pool?.dataSizeBytes === before,
      'the status before the outage',
    );
    const agent = ctx.system.kubelet.agent(POOL);

    await ctx.system.proxy!.cut();
    const cutAt = Date.now();
    const fillMiB = Math.ceil((before * 0.88) / 2 ** 20);
    await guestSh(vm, `dd if=/dev/zero of=/dev/docker/fill bs=1M count=${fillMiB} oflag=direct status=none`);
    const after = await waitFor(async () => {
      const lv = await lvs(vm, 'docker/thinpool');
      return lv && Number(lv.lv_size) > before ? Number(lv.lv_size) : undefined;
    }, 'the agent to extend the pool while the API server is unreachable');

    // Served from the agent's last observation, so it follows the reconcile that extended the pool.
    const metrics = await waitFor(async () => {
      const scraped = await agent.get('/metrics');
      return metricValue(scraped.body, 'thinpool_data_size_bytes', labels) === after ? scraped : undefined;
    }, 'the metrics of the extended pool');
    expect(metrics.status).toBe(200);
    expect(
      metricValue(metrics.body, 'thinpool_extensions_total', {
        ...labels,
        kind: 'data',
        trigger: 'threshold',
      }),
    ).toBe(1);
    expect((await agent.get('/readyz')).status).toBe(200);
    expect(agent.logs.some((r) => r.message?.startsWith('Lost contact with the API server'))).toBe(true);
    // The API server has not heard of it: the agent really worked on its own.
    expect((await ctx.system.thinPoolNode(POOL))?.status?.pool?.dataSizeBytes).toBe(before);
    expect((await ctx.system.events('ThinPool', POOL)).some((e) => e.reason === 'ExtendedThinPool')).toBe(
      false,
    );

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, cutAt + OUTAGE_MS - Date.now())));
    expect(agent.running).toBe(true);
    await ctx.system.proxy!.restore();
    const restoredAt = Date.now();

    const tpn = await waitFor(async () => {
      const t = await ctx.system.thinPoolNode(POOL);
      return t?.status?.pool?.dataSizeBytes === after ? t : undefined;
    }, 'the status written after the outage');
    expect(tpn.status?.lastExtension).toMatchObject({
      kind: 'data',
      trigger: 'threshold',
      fromBytes: before,
      toBytes: after,
    });
    expect(Date.parse(tpn.status!.lastExtension!.time)).toBeLessThan(restoredAt);
    const extended = await waitFor(
      async () => (await ctx.system.events('ThinPool', POOL)).find((e) => e.reason === 'ExtendedThinPool'),
      'the held ExtendedThinPool Event',
    );
    expect(Date.parse(extended.firstTimestamp!)).toBeLessThan(restoredAt);
    const reconnected = await waitFor(
      async () => (await ctx.system.events('Node', VM_NODE)).find((e) => e.reason === 'Reconnected'),
      'the Reconnected Event',
    );
    expect(reconnected.message).toMatch(
      /^The API server was unreachable for \d+ s; the agent kept reconciling and delivered [1-9]\d* held Events?/,
    );
    const log = agent.logs.find((r) => r.message?.startsWith('Reconnected to the API server'));
    expect(Number(log?.unreachableSeconds)).toBeGreaterThan(0);
    expect(Number(log?.events)).toBeGreaterThanOrEqual(2);
  });
});
