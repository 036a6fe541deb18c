import { expect, it } from '@jest/globals';
import { toAgentSpec } from '../../node-agent/agent-spec.js';
import { runCli } from '../../node-agent/cli/cli.js';
import { ThinPoolEngine } from '../../node-agent/engine.js';
import type { GuestVm } from '../vm/guest-host.js';
import { describeVm } from '../vm/guest.js';
import { thinPoolSpec } from './support/fixtures.js';
import { agentCli, KillingHost, lvs, manifest, quietLog, useAgentGuest } from './support/guest-agent.js';

/** The eight mutating steps of a fresh direct-lvm apply (see apply.vm.test.ts). */
const STEPS = 8;

describeVm('thinpool-agent apply killed (SIGKILL) after each mutating step', () => {
  const guest = useAgentGuest();

  it.each(Array.from({ length: STEPS }, (_, i) => i + 1))(
    'converges on the next run after being killed after step %i',
    async (step) => {
      const { vm } = guest;
      const device = vm.disk('disk2').byIdPath;
      const yaml = manifest({ devices: [{ path: device }] });
      const planned = (await agentCli(vm, ['apply', '--dry-run', '--output', 'json'], yaml)).json!.plan.map(
        (s) => s.command,
      );
      expect(planned).toHaveLength(STEPS);

      const killing = new KillingHost(vm, step);
      const killedCode = await runCli(['apply', '-f', '/m.yaml'], {
        host: () => killing,
        log: quietLog,
        stdout: () => undefined,
        stderr: () => undefined,
        readManifest: async () => yaml,
      });
      expect(killing.killed).toBe(true);
      expect(killedCode).toBe(1);

      await expectConvergence(vm, yaml, planned.slice(step));
    },
  );

  it.each(Array.from({ length: STEPS }, (_, i) => i + 1))(
    'converges on the next run after being killed after step %i that ran as its own process (no lvm shell)',
    async (step) => {
      const { vm } = guest;
      const device = vm.disk('disk2').byIdPath;
      const yaml = manifest({ devices: [{ path: device }] });
      const planned = (await agentCli(vm, ['apply', '--dry-run', '--output', 'json'], yaml)).json!.plan.map(
        (s) => s.command,
      );
      const killing = new KillingHost(vm, step);
      const engine = new ThinPoolEngine({
        host: killing,
        spec: toAgentSpec('docker', thinPoolSpec({ devices: [{ path: device }] })),
        log: quietLog,
        lvmShell: false,
      });
      const killed = await engine.apply();
      expect(killing.killed).toBe(true);
      expect(killed.outcome).toBe('failed');
      expect(killed.failure?.message).toMatch(/killed/);

      await expectConvergence(vm, yaml, planned.slice(step));
    },
  );
});

/** The next run only runs the steps the killed run had not finished, in order, and builds the pool. */
async function expectConvergence(vm: GuestVm, yaml: string, rest: string[]): Promise<void> {
  const resumed = await agentCli(vm, ['apply'], yaml);
  expect(resumed.code).toBe(0);
  expect(resumed.mutations.filter((m) => !rest.includes(m))).toEqual([]);
  expect(resumed.mutations).toEqual(rest.filter((m) => resumed.mutations.includes(m)));

  const pool = await lvs(vm, 'docker/thinpool');
  expect(pool).toMatchObject({
    chunk_size: String(512 * 1024),
    lv_profile: 'docker-thinpool',
    seg_monitor: 'monitored',
  });
  expect(pool.lv_attr.startsWith('twi-a')).toBe(true);
  const settled = await agentCli(vm, ['apply'], yaml);
  expect(settled.mutations).toEqual([]);
}
