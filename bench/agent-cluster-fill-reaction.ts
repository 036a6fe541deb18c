/**
 * Reaction to a filling pool: the time from the write that takes data use past the autoextend threshold to
 * the extension of the pool, for dmeventd (monitoring on, no agent) and for the agent (`thinpool-agent run`
 * code with the VM guest as its node, dmeventd stopped), on the same workload in the same VM run.
 *
 *   npx tsx bench/agent-cluster-fill-reaction.ts [rounds]     (THINPOOL_VM_SOCKET: use a running test VM)
 *
 * Each round, in the guest: write the thin volume to 2 points under the threshold, wait 3 s, write just
 * past it (t0, when that dd returns), then poll the pool's device-mapper table every 20 ms until its length
 * changes (t1). Both clocks are the guest's, so the host-guest link costs nothing extra to either side. Every
 * round starts from the pool the previous one extended. Prints a markdown table.
 */
import winston from 'winston';
import { toAgentSpec } from '../node-agent/agent-spec.js';
import { startAgent, type RunningAgent } from '../node-agent/cluster/run.js';
import { parseRunArgs } from '../node-agent/cluster/options.js';
import { ThinPoolEngine } from '../node-agent/engine.js';
import { KubeClient } from '../common/kube/kube-client.js';
import { thinPoolSpec } from '../test/agent/support/fixtures.js';
import { startApiServer } from '../test/support/kube-apiserver/index.js';
import { disableDmeventd, guestSh, removeStaleLvmLinks } from '../test/system/support/guest.js';
import type { GuestVm } from '../test/vm/guest-host.js';
import { benchGuest, median } from './agent-vm.js';

const rounds = Number(process.argv[2] ?? 5);
const quiet = winston.createLogger({ silent: true });
const THRESHOLD = 80;

/** One round in the guest: fill to just under, then just past the threshold; milliseconds to the extension. */
const ROUND_SCRIPT = `
set -euo pipefail
dev=docker-thinpool-tpool
read -r _ len _ <<<"$(dmsetup table $dev)"
chunk_sectors=1024
used_blocks() { dmsetup status $dev | awk '{split($6,a,"/"); print a[1]}'; }
total_blocks=$((len / chunk_sectors))
below=$(( total_blocks * (${THRESHOLD} - 2) / 100 ))
past=$(( total_blocks * (${THRESHOLD} + 1) / 100 + 1 ))
used=$(used_blocks)
offset_mib=$(( used / 2 ))
if [ "$below" -gt "$used" ]; then
  dd if=/dev/zero of=/dev/docker/fill bs=1M seek=$offset_mib count=$(( (below - used) / 2 )) oflag=direct status=none
  offset_mib=$(( offset_mib + (below - used) / 2 ))
fi
sleep 3
[ "$(dmsetup table $dev | cut -d' ' -f2)" = "$len" ] || { echo "extended before the threshold" >&2; exit 3; }
used=$(used_blocks)
dd if=/dev/zero of=/dev/docker/fill bs=1M seek=$offset_mib count=$(( (past - used) / 2 + 1 )) oflag=direct status=none
t0=$(date +%s%N)
while [ "$(dmsetup table $dev | cut -d' ' -f2)" = "$len" ]; do
  sleep 0.02
  [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 120000 ] || { echo "no extension within 120 s" >&2; exit 4; }
done
t1=$(date +%s%N)
echo $(( (t1 - t0) / 1000000 ))
`;

async function freshPool(vm: GuestVm): Promise<void> {
  await vm.reset();
  await removeStaleLvmLinks(vm);
  const spec = toAgentSpec(
    'docker',
    thinPoolSpec({ devices: [{ path: vm.disk('disk1').byIdPath }], dataPercent: 12 }),
  );
  const report = await new ThinPoolEngine({ host: vm, spec, log: quiet }).apply();
  if (report.outcome !== 'applied') throw new Error(`The pool was not built: ${report.failure?.message}`);
  // A thin volume to fill; creating it reloads the pool's table, which sets the low-water mark from the profile.
  await vm.run(['lvcreate', '-q', '-V', '3G', '-T', 'docker/thinpool', '-n', 'fill']);
}

async function measure(vm: GuestVm): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const { stdout } = await guestSh(vm, ROUND_SCRIPT, 300_000);
    times.push(Number(stdout.trim()));
  }
  return times;
}

async function withAgent<T>(vm: GuestVm, work: () => Promise<T>): Promise<T> {
  const api = await startApiServer({ crdDir: 'crds' });
  const client = new KubeClient(api.kubeConfig());
  await client.create('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'bench' } });
  await client.create('/apis/thinpool.dev/v1alpha1/thinpools', {
    apiVersion: 'thinpool.dev/v1alpha1',
    kind: 'ThinPool',
    metadata: { name: 'docker' },
    spec: { devices: [{ path: vm.disk('disk1').byIdPath }], dataPercent: 12 },
  });
  const kubeconfig = `/tmp/thinpool-bench-${process.pid}.kubeconfig`;
  await api.writeKubeconfig(kubeconfig);
  const parsed = parseRunArgs(['--kubeconfig', kubeconfig, '--metrics-bind-address', '127.0.0.1:0'], {
    NODE_NAME: 'bench',
    THINPOOL_NAME: 'docker',
  });
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  let running: RunningAgent | undefined;
  try {
    running = await startAgent(parsed.options, { env: {}, host: () => vm, log: quiet });
    const agent = running.agent;
    while (agent.reconciles < 2) await new Promise((resolve) => setTimeout(resolve, 200));
    return await work();
  } finally {
    await running?.stop();
    await api.stop();
  }
}

const { vm, done } = await benchGuest();
try {
  await freshPool(vm);
  const dmeventd = await measure(vm);

  await freshPool(vm);
  await disableDmeventd(vm, 'docker/thinpool');
  const agent = await withAgent(vm, () => measure(vm));

  const row = (name: string, t: number[]) =>
    `| ${name} | ${t.length} | ${median(t)} | ${Math.min(...t)} | ${Math.max(...t)} | ${t.join(', ')} |`;
  process.stdout.write(
    [
      `Threshold ${THRESHOLD}%, extension 20%; the same guest, pool (512 MiB at the start) and writes for both.`,
      '',
      '| reacting | rounds | median ms | min ms | max ms | all ms |',
      '|---|---|---|---|---|---|',
      row('dmeventd (monitoring on, no agent)', dmeventd),
      row('agent (`dmsetup wait`, dmeventd stopped)', agent),
      '',
      `Agent / dmeventd (medians): ${(median(agent) / median(dmeventd)).toFixed(2)}x`,
      '',
    ].join('\n'),
  );
} finally {
  await vm.reset().catch(() => undefined);
  await done();
}
