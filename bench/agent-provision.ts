/**
 * Provisioning a fresh direct-lvm pool: the agent against the manual procedure from the Docker docs run as
 * a shell script, side by side on the same disk in one VM run, alternating which goes first.
 *
 *   npx tsx bench/agent-provision.ts [rounds]        (THINPOOL_VM_SOCKET: use a running test VM)
 *
 * Two timings per round, each on a freshly reset guest:
 * - `manual`: the docs' commands as one bash script in the guest (what an admin would run);
 * - `engine`: the agent's engine on the host, every command sent to the guest (how the tests run it).
 * The compiled CLI is not timed inside the guest: node's start and the manifest validation are pure CPU
 * work, which TCG emulation slows 5-30x (about a minute there, 1 s on the host), so it would measure the
 * emulator, not the agent. Prints one JSON object; BENCHMARKS.md quotes it.
 */
import winston from 'winston';
import type { ThinPoolSpec } from '../api/v1alpha1/types.js';
import { toAgentSpec } from '../node-agent/agent-spec.js';
import { ThinPoolEngine } from '../node-agent/engine.js';
import { benchGuest, median } from './agent-vm.js';

const rounds = Number(process.argv[2] ?? 3);

const PROFILE = [
  'activation {',
  '    thin_pool_autoextend_threshold=80',
  '    thin_pool_autoextend_percent=20',
  '}',
  '',
].join('\n');

/** The Docker direct-lvm procedure, as an admin types it. */
const manualScript = (device: string) =>
  [
    'set -euo pipefail',
    `pvcreate ${device}`,
    `vgcreate docker ${device}`,
    'lvcreate --wipesignatures y -n thinpool docker -l 95%VG',
    'lvcreate --wipesignatures y -n thinpoolmeta docker -l 1%VG',
    'lvconvert -y --zero n -c 512K --thinpool docker/thinpool --poolmetadata docker/thinpoolmeta',
    'mkdir -p /etc/lvm/profile',
    `printf '%s' '${PROFILE}' > /etc/lvm/profile/docker-thinpool.profile`,
    'lvchange --metadataprofile docker-thinpool docker/thinpool',
    'lvchange --monitor y docker/thinpool',
    'lvs -o+seg_monitor docker/thinpool',
  ].join('\n');

const spec = (device: string): ThinPoolSpec => ({
  volumeGroup: 'docker',
  thinPoolName: 'thinpool',
  devices: [{ path: device }],
  wipeSignatures: false,
  dataPercent: 95,
  metadataPercent: 1,
  chunkSize: '512Ki',
  zeroing: false,
  autoExtend: { thresholdPercent: 80, extendPercent: 20, metadata: true },
  runtime: { type: 'none', drain: { enabled: false, maxUnavailable: 1 } },
  mode: 'Apply',
  deletionPolicy: 'Retain',
  paused: false,
});

type Variant = 'manual' | 'engine';

const { vm, done } = await benchGuest();
const log = winston.createLogger({ silent: true });
const times: Record<Variant, number[]> = { manual: [], engine: [] };
try {
  const disk = vm.disk('disk2').byIdPath;
  const runs: Record<Variant, () => Promise<void>> = {
    manual: async () => {
      await vm.run(['bash', '-c', manualScript(disk)]);
    },
    engine: async () => {
      const engine = new ThinPoolEngine({ host: vm, spec: toAgentSpec('docker', spec(disk)), log });
      const report = await engine.apply();
      if (report.outcome !== 'applied') {
        throw new Error(`Agent apply ended ${report.outcome}: ${report.failure?.message ?? ''}`);
      }
    },
  };
  const variants: Variant[] = ['manual', 'engine'];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? variants : [...variants].reverse();
    for (const name of order) {
      await vm.reset();
      // A reset in the udev-less guest can leave /dev/docker behind (see test/agent/support/guest-agent.ts).
      await vm.run(['rm', '-rf', '/dev/docker']);
      const started = performance.now();
      await runs[name]();
      times[name].push((performance.now() - started) / 1000);
      const monitored = await vm.run(['lvs', '--noheadings', '-o', 'seg_monitor', 'docker/thinpool']);
      if (monitored.stdout.trim() !== 'monitored') throw new Error(`${name}: the pool is not monitored`);
    }
  }
  const manual = median(times.manual);
  const ratio = (v: Variant) => +(median(times[v]) / manual).toFixed(2);
  console.log(
    JSON.stringify(
      {
        rounds,
        medianSeconds: Object.fromEntries(variants.map((v) => [v, +median(times[v]).toFixed(2)])),
        ratioToManual: Object.fromEntries(variants.filter((v) => v !== 'manual').map((v) => [v, ratio(v)])),
        seconds: Object.fromEntries(variants.map((v) => [v, times[v].map((t) => +t.toFixed(2))])),
      },
      null,
      2,
    ),
  );
} finally {
  await vm.reset().catch(() => undefined);
  await done();
}
