import { expect, it } from '@jest/globals';
import { describeVm } from '../vm/guest.js';
import { guestSh, lvs } from './support/guest.js';
import { useSystem, waitFor } from './support/system.js';

describeVm('system: graceful shutdown of the agent', () => {
  const ctx = useSystem({ name: 'graceful-shutdown' });
  const POOL = 'docker';

  it('waits on SIGTERM for a running LVM command to finish and never kills it mid-way', async () => {
    const { vm } = ctx;
    await ctx.system.applyThinPool(POOL, { devices: [{ path: vm.disk('disk3').byIdPath }], dataPercent: 25 });
    await ctx.system.waitForCondition(POOL, 'Ready', 'True');
    expect((await lvs(vm, 'docker/thinpool'))!.zero).not.toBe('zero');
    const agent = ctx.system.kubelet.agent(POOL);

    // A reader holds the VG lock: LVM reports still run, but the next change of the VG waits for it.
    const lockHolder = guestSh(vm, 'flock --shared /run/lock/lvm/V_docker sleep 601; true', 700_000).catch(
      (err: unknown) => err,
    );
    await waitFor(
      async () => (await guestSh(vm, 'pgrep -x -f "sleep 601" || true')).stdout.trim(),
      'the lock holder',
    );
    await ctx.system.kubectl([
      'patch',
      'thinpool',
      POOL,
      '--type',
      'merge',
      '-p',
      '{"spec":{"zeroing":true}}',
    ]);
    // The step runs inside an `lvm` shell process (ADR 0044): the agent's log names it, pgrep sees `lvm`.
    await waitFor(
      () =>
        agent.logs.find(
          (r) => r.message === 'Started host command' && r.command === 'lvchange --zero y docker/thinpool',
        ),
      'the agent to start lvchange --zero y',
    );
    await waitFor(async () => (await guestSh(vm, 'pgrep -x lvm || true')).stdout.trim(), 'the lvm process');

    const stopped = ctx.system.kubelet.stopAgent(POOL);
    await waitFor(
      () =>
        agent.logs.find(
          (r) => r.message === 'Waiting for running LVM command before stopping thin pool agent',
        ),
      'the agent to wait for its command',
    );
    expect(agent.running).toBe(true);
    expect((await guestSh(vm, 'pgrep -x lvm || true')).stdout.trim()).not.toBe('');

    // The lock is held by flock's child (sleep), which inherited the locked descriptor.
    await guestSh(vm, 'pkill -x -f "sleep 601"; true');
    await lockHolder;
    expect(await stopped).toBe(0);

    const messages = agent.logs.map((r) =>
      r.message === 'Completed host command' ? `ran ${String(r.command)}` : r.message,
    );
    const waiting = messages.indexOf('Waiting for running LVM command before stopping thin pool agent');
    const completed = messages.indexOf('ran lvchange --zero y docker/thinpool');
    const finished = messages.indexOf('Finished running LVM command before stopping thin pool agent');
    const exited = messages.indexOf('Stopped thin pool agent');
    expect(waiting).toBeGreaterThan(-1);
    expect(completed).toBeGreaterThan(waiting);
    expect(finished).toBeGreaterThan(completed);
    expect(exited).toBeGreaterThan(finished);
    expect((await lvs(vm, 'docker/thinpool'))!.zero).toBe('zero');
    expect(agent.completedCommands().filter((c) => c.startsWith('lvchange --zero'))).toHaveLength(1);
  });
});
