/**
 * The in-cluster agent in steady state at its default settings (10 s interval, 10 min heartbeat): CPU per
 * hour and resident memory of the `thinpool-agent run` process, its API requests per hour while nothing
 * changes, and the latency of a `/metrics` scrape.
 *
 *   npx tsx bench/agent-cluster-steady-state.ts [minutes] [scrapes]   (THINPOOL_VM_SOCKET: a running test VM)
 *   AGENT_NODE_FLAGS="--max-semi-space-size=1 --optimize-for-size" npx tsx bench/agent-cluster-steady-state.ts
 *     (V8 flags for the agent's node, as the DaemonSet's command line would pass them)
 *
 * The agent runs as its own process, compiled to JavaScript and run by plain `node` as in the image (the
 * product's `run` code with the VM guest as its node: test/system/support/agent-main.ts, compiled into
 * test-results/bench-build/), against the API emulator, on a ready direct-lvm pool. CPU is the process's
 * user+system time over the window (its LVM commands run in the guest and are not counted here;
 * bench/agent-observe.ts measures one observation). Scrapes go over HTTP with keep-alive, one at a time;
 * the render time of the registry alone is measured in this process on the same series. Prints a markdown
 * table.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { ThinPoolNode } from '../api/v1alpha1/types.js';
import { AgentMetrics, poolGauges } from '../node-agent/metrics/agent-metrics.js';
import { toAgentSpec } from '../node-agent/agent-spec.js';
import { observe } from '../node-agent/observe/observe.js';
import { thinPoolSpec } from '../test/agent/support/fixtures.js';
import { KubeClient } from '../common/kube/kube-client.js';
import { startApiServer } from '../test/support/kube-apiserver/index.js';
import { AgentProcess, metricValue } from '../test/system/support/agent-process.js';
import { removeStaleLvmLinks } from '../test/system/support/guest.js';
import { waitFor } from '../test/support/wait.js';
import type { OwnedVm } from '../test/vm/vm.js';
import { benchGuest, median } from './agent-vm.js';

const minutes = Number(process.argv[2] ?? 5);
const scrapes = Number(process.argv[3] ?? 2000);
const nodeFlags = (process.env.AGENT_NODE_FLAGS ?? '').split(/\s+/).filter((flag) => flag !== '');
const CLOCK_TICKS = 100;

/** The process and its descendants (the tsx launcher starts node as a child). */
function processTree(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++)
    for (const [pid, ppid] of parents) if (ppid === tree[i]) tree.push(pid);
  return tree;
}

/** User+system CPU seconds of a set of processes. */
function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / CLOCK_TICKS;
}

/** VmRSS and VmHWM (peak) in MiB of the largest process of a set. */
function memoryMiB(pids: readonly number[]): { rss: number; peak: number } {
  let best = { rss: 0, peak: 0 };
  for (const pid of pids) {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    if (kib('VmRSS') > best.rss * 1024) best = { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
  }
  return best;
}

const BUILD = 'test-results/bench-build';

/** Compiles the launcher and everything it imports, for plain `node` (no tsx in the measured process). */
async function compileLauncher(): Promise<string> {
  rmSync(BUILD, { recursive: true, force: true });
  await execa('npx', [
    'tsc',
    '--strict',
    '--outDir',
    BUILD,
    '--rootDir',
    '.',
    '--module',
    'NodeNext',
    '--moduleResolution',
    'NodeNext',
    '--target',
    'ES2022',
    '--lib',
    'ES2023',
    '--skipLibCheck',
    '--esModuleInterop',
    '--resolveJsonModule',
    '--types',
    'node',
    'test/system/support/agent-main.ts',
  ]);
  return `${BUILD}/test/system/support/agent-main.js`;
}

/** One GET over a keep-alive connection; milliseconds. */
function timedGet(agent: http.Agent, port: number, path: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(performance.now() - started)
            : reject(new Error(`${res.statusCode}`)),
        );
      })
      .on('error', reject);
  });
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const { vm, done } = await benchGuest();
const api = await startApiServer({ crdDir: 'crds' });
let agent: AgentProcess | undefined;
try {
  await vm.reset();
  await removeStaleLvmLinks(vm);
  const dir = mkdtempSync(path.join(tmpdir(), 'thinpool-bench-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  await api.writeKubeconfig(kubeconfig);
  const client = new KubeClient(api.kubeConfig());
  await client.create('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'bench' } });
  await client.create('/apis/thinpool.dev/v1alpha1/thinpools', {
    apiVersion: 'thinpool.dev/v1alpha1',
    kind: 'ThinPool',
    metadata: { name: 'docker' },
    spec: { devices: [{ path: vm.disk('disk2').byIdPath }], dataPercent: 25 },
  });
  const launcher = await compileLauncher();
  agent = AgentProcess.start({
    launcher: ['node', ...nodeFlags, launcher],
    env: { NODE_NAME: 'bench', THINPOOL_NAME: 'docker' },
    args: ['--kubeconfig', kubeconfig, '--metrics-bind-address', '127.0.0.1:0'],
    vmSocket: (vm as Partial<OwnedVm>).socketPath ?? process.env.THINPOOL_VM_SOCKET ?? '',
    logFile: path.join(dir, 'agent.log'),
  });
  await waitFor(async () => {
    const tpn = await client
      .get<ThinPoolNode>('/apis/thinpool.dev/v1alpha1/thinpoolnodes/docker.bench')
      .catch(() => undefined);
    return tpn?.status?.phase === 'Ready';
  }, 'the pool to be Ready');
  // Let the creation settle (its Events, the first usage write) before the window.
  await new Promise((resolve) => setTimeout(resolve, 30_000));

  const pids = processTree(agent.pid!);
  const lastReconcile = async () =>
    metricValue((await agent!.get('/metrics')).body, 'thinpool_agent_last_reconcile_timestamp_seconds')!;
  api.requestLog.reset();
  const cpuBefore = cpuSeconds(pids);
  const reconcileBefore = await lastReconcile();
  const started = Date.now();
  await new Promise((resolve) => setTimeout(resolve, minutes * 60_000));
  const windowSeconds = (Date.now() - started) / 1000;
  const cpu = cpuSeconds(pids) - cpuBefore;
  const reconcileAfter = await lastReconcile();
  const requests = api.requestLog.entries();
  const memory = memoryMiB(pids);

  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const port = await agent.port;
  const latencies: number[] = [];
  for (let i = 0; i < scrapes; i++) latencies.push(await timedGet(keepAlive, port, '/metrics'));
  keepAlive.destroy();

  // The registry alone, on the same series (this process): what a scrape costs without HTTP.
  const spec = toAgentSpec(
    'docker',
    thinPoolSpec({ devices: [{ path: vm.disk('disk2').byIdPath }], dataPercent: 25 }),
  );
  const registry = new AgentMetrics({ thinpool: 'docker', node: 'bench' });
  registry.recordObservation(spec, poolGauges(spec, await observe(vm, spec)));
  registry.recordRuntime(true);
  registry.recordReconcile(true, new Date());
  const renders: number[] = [];
  for (let i = 0; i < scrapes; i++) {
    const t = performance.now();
    await registry.render();
    renders.push(performance.now() - t);
  }

  const perHour = (n: number) => Math.round((n * 3600) / windowSeconds);
  const writes = requests.filter((r) => !['get', 'list', 'watch'].includes(r.verb)).length;
  process.stdout.write(
    [
      `Window ${minutes} min at the default interval (10 s) and heartbeat (10 min), pool Ready and idle; node flags: ${nodeFlags.join(' ') || 'none'}.`,
      '',
      '| measure | value |',
      '|---|---|',
      `| agent CPU per hour (user+system, extrapolated from the window) | ${((cpu * 3600) / windowSeconds).toFixed(1)} s (${((cpu / windowSeconds) * 100).toFixed(2)}% of one core) |`,
      `| agent RSS at the end / peak (plain node, compiled) | ${memory.rss.toFixed(1)} MiB / ${memory.peak.toFixed(1)} MiB |`,
      `| reconciles seen (last reconcile advanced) | ${reconcileAfter > reconcileBefore ? 'yes' : 'no'}, every ~10 s |`,
      `| API requests in the window, all / writes (per hour) | ${requests.length} / ${writes} (${perHour(requests.length)} / ${perHour(writes)}) |`,
      `| /metrics scrape over HTTP (keep-alive), ${scrapes} one after another: p50 / p99 / max | ${median(latencies).toFixed(2)} ms / ${percentile(latencies, 99).toFixed(2)} ms / ${Math.max(...latencies).toFixed(2)} ms |`,
      `| registry render alone (same series, in process): p50 / p99 | ${median(renders).toFixed(3)} ms / ${percentile(renders, 99).toFixed(3)} ms |`,
      '',
      'By design, beyond what a short window shows: each of the two watches (ThinPool, Node) is re-opened at',
      'its server timeout (5-10 min), and the status heartbeat is one write every 10 min (6 an hour).',
      '',
    ].join('\n'),
  );
} finally {
  await agent?.stop(20_000);
  await api.stop();
  await vm.reset().catch(() => undefined);
  await done();
}
