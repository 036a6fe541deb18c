import { expect, it } from '@jest/globals';
import { runCli } from '../../node-agent/cli/cli.js';
import { describeVm } from '../vm/guest.js';
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

      const resumed = await agentCli(vm, ['apply'], yaml);
      expect(resumed.code).toBe(0);
      // The next run only runs steps the killed run had not finished, in order.
      const rest = planned.slice(step);
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
    },
  );
});
