/**
 * Provisioning a fresh direct-lvm pool: the agent against the manual procedure from the Docker docs run as
 * a shell script, side by side on the same disk in one VM run, rotating which goes first.
 *
 *   npx tsx bench/agent-provision.ts [rounds]        (default 5; THINPOOL_VM_SOCKET: use a running test VM)
 *
 * Three timings per round, each on a freshly reset guest:
 * - `manual`: the docs' commands as one bash script in the guest (what an admin would run), each command
 *   timed in the guest (`EPOCHREALTIME`);
 * - `engine`: the agent's engine on the host, every command sent to the guest (how the tests run it), each
 *   LVM step and its re-observation in one `lvm` shell process (`lvmShell: true`, ADR 0044);
 * - `engine-separate`: the same with every command as its own process (the engine's default).
 * The compiled CLI is not timed inside the guest: node's start and the manifest validation are pure CPU
 * work, which TCG emulation slows 5-30x (about a minute there, 1 s on the host), so it would measure the
 * emulator, not the agent. For the engine, where the time went (medians): the first observation (wall
 * time until the first change), the steps (their commands, with the re-observation when it ran in the
 * same shell), separate re-observations, and the rest (planning, parsing, the host's round trips). Prints
 * one JSON object with the load average before and after; BENCHMARKS.md quotes it.
 */
import winston from 'winston';
import type { ThinPoolSpec } from '../api/v1alpha1/types.js';
import { toAgentSpec } from '../node-agent/agent-spec.js';
import { ThinPoolEngine } from '../node-agent/engine.js';
import type { FileStat, Host, RunOptions, RunResult, WriteFileOptions } from '../node-agent/host/host.js';
import { isMutatingRun } from '../node-agent/host/logged-host.js';
import { loadavg } from 'node:os';
import { benchGuest, median } from './agent-vm.js';

const rounds = Number(process.argv[2] ?? 5);

const PROFILE = [
  'activation {',
  '    thin_pool_autoextend_threshold=80',
  '    thin_pool_autoextend_percent=20',
  '}',
  '',
].join('\n');

/** The Docker direct-lvm procedure, as an admin types it. */
const MANUAL_STEPS = (device: string) => [
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
];

/** The script, each command timed with bash's clock (a builtin: no process) onto stderr. */
const manualScript = (device: string) =>
  [
    'set -euo pipefail',
    ...MANUAL_STEPS(device).map(
      (step, i) => `t=$EPOCHREALTIME; ${step}; echo "step ${i} $t $EPOCHREALTIME" >&2`,
    ),
  ].join('\n');

/** Seconds per manual command, from the script's stderr. */
function manualSteps(stderr: string): number[] {
  return [...stderr.matchAll(/^step (\d+) ([\d.]+) ([\d.]+)$/gm)].map((m) => Number(m[3]) - Number(m[2]));
}

/** One timed host operation of an engine run. */
interface Operation {
  startMs: number;
  endMs: number;
  mutating: boolean;
}

/** Passes everything to the guest and times each operation. */
class TimingHost implements Host {
  readonly kind: string;
  readonly operations: Operation[] = [];

  constructor(private readonly inner: Host) {
    this.kind = inner.kind;
  }

  private async time<T>(mutating: boolean, operation: () => Promise<T>): Promise<T> {
    const startMs = performance.now();
    try {
      return await operation();
    } finally {
      this.operations.push({ startMs, endMs: performance.now(), mutating });
    }
  }

  run(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    const mutating = isMutatingRun(argv, options);
    return this.time(mutating, () => this.inner.run(argv, options));
  }

  readFile(path: string): Promise<string | undefined> {
    return this.time(false, () => this.inner.readFile(path));
  }

  writeFile(path: string, content: string, options?: WriteFileOptions): Promise<void> {
    return this.time(true, () => this.inner.writeFile(path, content, options));
  }

  stat(path: string): Promise<FileStat> {
    return this.time(false, () => this.inner.stat(path));
  }
}

/** Where an engine run's wall time went, in seconds. */
interface Breakdown {
  firstObservation: number;
  steps: number;
  reobservations: number;
  rest: number;
}

function breakdown(operations: readonly Operation[], startMs: number, endMs: number): Breakdown {
  const firstChange = Math.min(...operations.filter((o) => o.mutating).map((o) => o.startMs));
  const busy = (ops: Operation[]) => ops.reduce((sum, o) => sum + (o.endMs - o.startMs), 0);
  const firstObservation = firstChange - startMs;
  const steps = busy(operations.filter((o) => o.mutating));
  const reobservations = busy(operations.filter((o) => !o.mutating && o.startMs >= firstChange));
  const rest = endMs - startMs - firstObservation - steps - reobservations;
  return { firstObservation, steps, reobservations, rest };
}

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

type Variant = 'manual' | 'engine' | 'engine-separate';
const VARIANTS: Variant[] = ['manual', 'engine', 'engine-separate'];

const round2 = (x: number) => +x.toFixed(2);
const { vm, done } = await benchGuest();
const log = winston.createLogger({ silent: true });
const times: Record<Variant, number[]> = { manual: [], engine: [], 'engine-separate': [] };
const manualCommands: number[][] = [];
const breakdowns: Partial<Record<Variant, Breakdown[]>> = {};
const loadBefore = loadavg().map(round2);
try {
  const disk = vm.disk('disk2').byIdPath;
  const engineRun = (lvmShell: boolean) => async () => {
    const host = new TimingHost(vm);
    const engine = new ThinPoolEngine({ host, spec: toAgentSpec('docker', spec(disk)), log, lvmShell });
    const startMs = performance.now();
    const report = await engine.apply();
    if (report.outcome !== 'applied') {
      throw new Error(`Agent apply ended ${report.outcome}: ${report.failure?.message ?? ''}`);
    }
    (breakdowns[lvmShell ? 'engine' : 'engine-separate'] ??= []).push(
      breakdown(host.operations, startMs, performance.now()),
    );
  };
  const runs: Record<Variant, () => Promise<void>> = {
    manual: async () => {
      const { stderr } = await vm.run(['bash', '-c', manualScript(disk)]);
      manualCommands.push(manualSteps(stderr));
    },
    engine: engineRun(true),
    'engine-separate': engineRun(false),
  };
  for (let round = 0; round < rounds; round++) {
    const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]!);
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
  const medianBreakdown = (list: Breakdown[] = []) =>
    Object.fromEntries(
      (['firstObservation', 'steps', 'reobservations', 'rest'] as const).map((k) => [
        k,
        round2(median(list.map((b) => b[k])) / 1000),
      ]),
    );
  console.log(
    JSON.stringify(
      {
        rounds,
        medianSeconds: Object.fromEntries(VARIANTS.map((v) => [v, round2(median(times[v]))])),
        ratioToManual: Object.fromEntries(
          VARIANTS.filter((v) => v !== 'manual').map((v) => [v, round2(median(times[v]) / manual)]),
        ),
        engineBreakdownSeconds: {
          engine: medianBreakdown(breakdowns.engine),
          'engine-separate': medianBreakdown(breakdowns['engine-separate']),
        },
        manualCommandSeconds: MANUAL_STEPS('DISK').map((step, i) => [
          step.split(' ').slice(0, 2).join(' '),
          round2(median(manualCommands.map((c) => c[i] ?? 0))),
        ]),
        seconds: Object.fromEntries(VARIANTS.map((v) => [v, times[v].map(round2)])),
        loadAverage: { before: loadBefore, after: loadavg().map(round2) },
      },
      null,
      2,
    ),
  );
} finally {
  await vm.reset().catch(() => undefined);
  await done();
}
