/**
 * Benchmarks of the test VM (test/vm/): boot to the first command, exec round trip through the broker,
 * file operations, a clean reset(), and the one-shot runner end to end. Prints a markdown table for
 * BENCHMARKS.md. Run: `npx tsx bench/vm-bench.ts [--boots N] [--round-trips N]`.
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_DIR } from '../test/vm/image.js';
import { STANDARD_DISKS, startVm, type OwnedVm } from '../test/vm/vm.js';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const BOOTS = option('--boots', 3);
const ROUND_TRIPS = option('--round-trips', 20);

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function timed(action: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

async function repeat(times: number, action: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) samples.push(await timed(action));
  return samples;
}

interface Row {
  what: string;
  samples: number[];
}

const rows: Row[] = [];
const bootToFirst: number[] = [];
const bootToReady: number[] = [];
const kernelToAgent: number[] = [];
const agentStartup: number[] = [];
let measured: OwnedVm | undefined;

for (let i = 0; i < BOOTS; i++) {
  let vm: OwnedVm | undefined;
  bootToFirst.push(
    await timed(async () => {
      vm = await startVm({ disks: STANDARD_DISKS });
      await vm.run(['true']);
    }),
  );
  bootToReady.push(vm!.info.bootMs);
  const agentStarted = Number(await vm!.readFile('/run/thinpool-vm/agent-started-uptime')) * 1000;
  kernelToAgent.push(agentStarted);
  agentStartup.push(vm!.info.guestUptimeAtReadyMs - agentStarted);
  if (i < BOOTS - 1) await vm!.stop();
  else measured = vm;
}
rows.push({ what: 'boot to first command (`startVm()` + `run(true)`, 4 disks, 4G)', samples: bootToFirst });
rows.push({ what: 'qemu start to guest agent ready (part of the above)', samples: bootToReady });
rows.push({ what: 'guest clock: kernel start to the init starting the agent', samples: kernelToAgent });
rows.push({ what: 'guest clock: node start-up of the agent', samples: agentStartup });

const vm = measured!;
rows.push({
  what: 'exec round trip: `run(["true"])`',
  samples: await repeat(ROUND_TRIPS, () => vm.run(['true'])),
});
rows.push({
  what: 'LVM command: `run(["lvs"])`',
  samples: await repeat(Math.min(ROUND_TRIPS, 10), () => vm.run(['lvs'])),
});
rows.push({
  what: 'file read: `readFile("/etc/os-release")`',
  samples: await repeat(ROUND_TRIPS, () => vm.readFile('/etc/os-release')),
});
rows.push({
  what: 'atomic file write: `writeFile(scratch file)`',
  samples: await repeat(ROUND_TRIPS, () => vm.writeFile(`${vm.info.scratchDir}/bench.txt`, 'x\n')),
});
rows.push({ what: '`reset()` of a clean guest', samples: await repeat(5, () => vm.reset()) });
const resetAfterPool: number[] = [];
for (let i = 0; i < 3; i++) {
  await vm.run(['vgcreate', '-y', 'bench', vm.disk('disk2').byIdPath]);
  await vm.run(['lvcreate', '-y', '--type', 'thin-pool', '-L', '256M', '-n', 'pool', 'bench']);
  resetAfterPool.push(await timed(() => vm.reset()));
}
rows.push({ what: '`reset()` after a thin pool on one disk', samples: resetAfterPool });
await vm.stop();

const oneShot = await repeat(BOOTS, () =>
  promisify(execFile)(path.join(REPO_DIR, 'test/vm/run'), ['--memory', '768M', '--', 'true']),
);
rows.push({
  what: 'one-shot `test/vm/run -- true`, end to end (tsx, boot, run, power-off)',
  samples: oneShot,
});

const format = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const [load1] = os.loadavg();
console.log(
  `VM harness (test/vm/), TCG, ${os.cpus().length} host cores, load average ${load1!.toFixed(1)} at the end`,
);
console.log('');
console.log('| measurement | median | min | max | runs |');
console.log('|---|---|---|---|---|');
for (const row of rows) {
  const { samples } = row;
  console.log(
    `| ${row.what} | ${format(median(samples))} | ${format(Math.min(...samples))} | ${format(Math.max(...samples))} | ${samples.length} |`,
  );
}
