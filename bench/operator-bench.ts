/**
 * Operator benchmark at cluster scale, against the API emulator (in this process) and the compiled
 * `thinpool-operator` (a child process, so its RSS is its own):
 *
 *   npx tsx bench/operator-bench.ts [--sizes 500,1000,2000,5000] [--steady-seconds 60] [--samples 20]
 *
 * Per cluster size N (N Nodes, N Ready agent Pods, one ThinPool selecting every node) it measures:
 * - provisioning: ThinPool created -> N ThinPoolNodes and the DaemonSet exist;
 * - single update latency: one ThinPoolNode status PATCH answered -> the ThinPool status reflects it;
 * - burst latency: all N agents report at once; the last PATCH answered -> the ThinPool status reflects all;
 * - full resync: a cold operator start (list everything, reconcile, zero writes) and a 410-forced re-list;
 * - operator RSS (current and peak) and reconcile duration;
 * - API calls in steady state with nothing changing, per verb, extrapolated to an hour.
 * It prints a markdown table. Setup objects go straight into the emulator's store (not measured).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Watch } from '@kubernetes/client-node';
import type { ThinPool, ThinPoolNodeStatus } from '../api/v1alpha1/types.js';
import { agentLabels } from '../operator/controller/daemon-set.js';
import { daemonSetName } from '../operator/controller/names.js';
import { KubeClient } from '../common/kube/kube-client.js';
import { startApiServer, type RunningApiServer } from '../test/support/kube-apiserver/index.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NS = 'thinpool-system';
const TP_PATH = '/apis/thinpool.dev/v1alpha1/thinpools';
const TPN_PATH = '/apis/thinpool.dev/v1alpha1/thinpoolnodes';
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '500,1000,2000,5000' },
    'steady-seconds': { type: 'string', default: '60' },
    samples: { type: 'string', default: '20' },
    'skip-build': { type: 'boolean', default: false },
    'operator-node-options': { type: 'string', default: '' },
  },
});
const SIZES = values.sizes.split(',').map(Number);
const STEADY_SECONDS = Number(values['steady-seconds']);
const SAMPLES = Number(values.samples);

type LogLine = Record<string, unknown> & { message: string; timestamp?: string };

/** The compiled operator as a child process, with its JSON logs. */
class OperatorChild {
  readonly logs: Array<LogLine & { at: number }> = [];
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private tail = '';
  readonly startedAt = performance.now();

  constructor(kubeconfig: string) {
    this.child = spawn(
      process.execPath,
      [
        path.join(REPO, 'dist/operator/main.js'),
        `--kubeconfig=${kubeconfig}`,
        `--namespace=${NS}`,
        '--agent-image=registry.example/thinpool-operator:bench',
        '--metrics-bind-address=127.0.0.1:0',
        '--health-probe-bind-address=127.0.0.1:0',
      ],
      {
        env: { ...process.env, LOG_LEVEL: 'debug', NODE_OPTIONS: values['operator-node-options'] },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (this.tail + chunk).split('\n');
      this.tail = lines.pop() ?? '';
      for (const line of lines) {
        try {
          this.logs.push({ ...(JSON.parse(line) as LogLine), at: performance.now() });
        } catch {
          this.logs.push({ message: line, at: performance.now() });
        }
      }
    });
    this.exited = new Promise((resolve) => this.child.once('exit', resolve));
  }

  /** Resident and peak memory in MiB, from /proc. */
  memory(): { rssMiB: number; peakMiB: number } {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
  }

  /** CPU seconds used so far (user + system). */
  cpuSeconds(): number {
    const fields = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  }

  since(index: number, message: string): Array<LogLine & { at: number }> {
    return this.logs.slice(index).filter((l) => l.message === message);
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    await this.exited;
  }
}

async function until<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 600_000,
  intervalMs = 5,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

async function parallel<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await task(items[next++]);
    }),
  );
}

function nodeName(i: number): string {
  return `node-${String(i).padStart(5, '0')}`;
}

function agentStatus(usedBytes: number): ThinPoolNodeStatus {
  return {
    phase: 'Ready',
    observedGeneration: 1,
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'PoolReady',
        message: 'Thin pool docker/thinpool is ready',
        lastTransitionTime: '2025-01-01T00:00:00Z',
      },
    ],
    pool: {
      dataSizeBytes: 10 * GiB,
      dataUsedBytes: usedBytes,
      metadataSizeBytes: 100 * MiB,
      metadataUsedBytes: MiB,
      chunkSizeBytes: 524288,
      active: true,
      monitored: true,
    },
  };
}

/** Fills the store directly (fast setup): N Nodes and N Ready agent Pods of pool `bench`. */
function seed(api: RunningApiServer, n: number): void {
  const store = api.server.store;
  const nodes = store.mustFind('', 'v1', 'nodes');
  const pods = store.mustFind('', 'v1', 'pods');
  const namespaces = store.mustFind('', 'v1', 'namespaces');
  store.create(namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  for (let i = 0; i < n; i++) {
    const name = nodeName(i);
    store.create(nodes, undefined, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name, 'thinpool.dev/enabled': 'true' } },
      status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.31.0' } },
    });
    const pod = `${daemonSetName('bench')}-${name}`;
    store.create(pods, NS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: pod, namespace: NS, labels: agentLabels('bench') },
      spec: {
        nodeName: name,
        containers: [{ name: 'agent', image: 'registry.example/thinpool-operator:bench' }],
      },
    });
    const stored = store.get(pods, NS, pod);
    store.update(
      pods,
      NS,
      pod,
      {
        ...stored.obj,
        status: {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2025-01-01T00:00:00Z' }],
        },
      },
      { subresource: 'status' },
    );
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface Result {
  n: number;
  provisionMs: number;
  singleP50: number;
  singleP95: number;
  singleMax: number;
  burstReportMs: number;
  burstLastToStatusMs: number;
  coldResyncMs: number;
  coldListMs: number;
  relistMs: number;
  reconcileMs: number;
  planMs: number;
  rssMiB: number;
  peakMiB: number;
  steadyPerHour: Record<string, number>;
  steadyWritesPerHour: number;
  steadyCpuSecondsPerHour: number;
}

async function benchOne(n: number, workDir: string): Promise<Result> {
  const api = await startApiServer({
    crdDir: path.join(REPO, 'crds'),
    retainedEvents: Math.max(1000, 3 * n),
  });
  const client = new KubeClient(api.kubeConfig());
  const kubeconfig = path.join(workDir, `kubeconfig-${n}`);
  await api.writeKubeconfig(kubeconfig);
  seed(api, n);

  // The ThinPool as the bench process sees it through a real watch.
  let latest: ThinPool | undefined;
  const watch = await new Watch(api.kubeConfig()).watch(
    TP_PATH,
    {},
    (type, obj: ThinPool) => {
      if (type === 'ADDED' || type === 'MODIFIED') latest = obj;
    },
    () => undefined,
  );
  const statusReached = (predicate: (tp: ThinPool) => boolean) =>
    until(() => latest !== undefined && predicate(latest), 'the ThinPool status');

  let operator = new OperatorChild(kubeconfig);
  await until(
    () => operator.logs.some((l) => l.message === 'Started reconciling ThinPools'),
    'the operator to lead',
  );

  const created = performance.now();
  await client.create(TP_PATH, {
    apiVersion: 'thinpool.dev/v1alpha1',
    kind: 'ThinPool',
    metadata: { name: 'bench' },
    spec: {
      nodeSelector: { 'thinpool.dev/enabled': 'true' },
      loop: { directory: '/var/lib/thinpool', dataSize: '10Gi', metadataSize: '100Mi' },
    },
  });
  await until(
    async () => (await client.list(TPN_PATH)).items.length === n,
    `${n} ThinPoolNodes`,
    600_000,
    100,
  );
  await until(() => operator.logs.some((l) => l.message === 'Created DaemonSet'), 'the DaemonSet');
  const provisionMs = performance.now() - created;

  // Burst: every agent reports Ready at once.
  const used = new Map<string, number>();
  const burstStart = performance.now();
  let lastAnswered = 0;
  await parallel(
    Array.from({ length: n }, (_, i) => nodeName(i)),
    32,
    async (node) => {
      used.set(node, GiB);
      await client.patch(`${TPN_PATH}/bench.${node}/status`, { status: agentStatus(GiB) });
      lastAnswered = performance.now();
    },
  );
  const burstReportMs = lastAnswered - burstStart;
  await statusReached((tp) => tp.status?.nodes?.ready === n && tp.status.capacity?.dataUsedBytes === n * GiB);
  const burstLastToStatusMs = performance.now() - lastAnswered;

  // Single updates, one at a time.
  const single: number[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    const node = nodeName(Math.floor(Math.random() * n));
    const next = (used.get(node) ?? 0) + MiB;
    used.set(node, next);
    const expected = [...used.values()].reduce((a, b) => a + b, 0);
    await client.patch(`${TPN_PATH}/bench.${node}/status`, { status: agentStatus(next) });
    const answered = performance.now();
    await statusReached((tp) => tp.status?.capacity?.dataUsedBytes === expected);
    single.push(performance.now() - answered);
  }

  // Steady state: nothing changes for STEADY_SECONDS.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  api.requestLog.reset();
  const cpuBefore = operator.cpuSeconds();
  await new Promise((resolve) => setTimeout(resolve, STEADY_SECONDS * 1000));
  const cpuAfter = operator.cpuSeconds();
  const scale = 3600 / STEADY_SECONDS;
  const steadyPerHour: Record<string, number> = {};
  for (const e of api.requestLog.entries()) {
    const key = `${e.verb} ${e.resource}${e.subresource ? `/${e.subresource}` : ''}`;
    steadyPerHour[key] = (steadyPerHour[key] ?? 0) + scale;
  }
  const steadyWritesPerHour =
    api.requestLog
      .entries()
      .filter((e) => ['create', 'update', 'patch', 'delete'].includes(e.verb) && e.resource !== 'leases')
      .length * scale;
  const { rssMiB, peakMiB } = operator.memory();

  // A 410-forced re-list of every informer in the running operator.
  const mark = operator.logs.length;
  const relistStart = performance.now();
  api.faults.compact();
  api.faults.dropWatches();
  await until(
    () =>
      ['Node', 'Pod', 'ThinPoolNode'].every((k) => operator.since(mark, `Listed ${k} objects`).length > 0),
    're-lists',
  );
  const relistMs =
    Math.max(
      ...['Node', 'Pod', 'ThinPoolNode'].map((k) => operator.since(mark, `Listed ${k} objects`)[0].at),
    ) - relistStart;

  const reconciles = operator.logs
    .filter((l) => l.message === 'Reconciled ThinPool')
    .map((l) => Number(l.durationMs));
  const reconcileMs = percentile(reconciles.slice(-SAMPLES), 50);
  const plans = operator.logs
    .filter((l) => l.message === 'Updated ThinPool status')
    .map((l) => Number(l.planMs));
  const planMs = percentile(plans.slice(-SAMPLES), 50);

  // Cold start: a fresh operator lists everything and reconciles with zero writes.
  await operator.stop();
  api.requestLog.reset();
  operator = new OperatorChild(kubeconfig);
  await until(
    () => operator.logs.some((l) => l.message === 'Reconciled ThinPool'),
    'the first reconcile after a cold start',
  );
  const coldResyncMs =
    operator.logs.find((l) => l.message === 'Reconciled ThinPool')!.at - operator.startedAt;
  const listed = operator.logs.filter((l) => String(l.message).startsWith('Listed '));
  const coldListMs = Math.max(...listed.map((l) => Number(l.durationMs)));
  const coldWrites = api.requestLog
    .entries()
    .filter((e) => ['create', 'update', 'patch', 'delete'].includes(e.verb) && e.resource !== 'leases');
  if (coldWrites.length > 0)
    throw new Error(
      `Cold resync wrote ${coldWrites.length} times: ${JSON.stringify(coldWrites.slice(0, 3))}`,
    );

  await operator.stop();
  watch.abort();
  await api.stop();
  return {
    n,
    provisionMs,
    singleP50: percentile(single, 50),
    singleP95: percentile(single, 95),
    singleMax: Math.max(...single),
    burstReportMs,
    burstLastToStatusMs,
    coldResyncMs,
    coldListMs,
    relistMs,
    reconcileMs,
    planMs,
    rssMiB,
    peakMiB,
    steadyPerHour,
    steadyWritesPerHour,
    steadyCpuSecondsPerHour: (cpuAfter - cpuBefore) * scale,
  };
}

async function main(): Promise<void> {
  if (!values['skip-build']) {
    // tsc exits non-zero on type errors anywhere in the tree but still emits; only the output matters here.
    try {
      execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: REPO, stdio: 'ignore' });
    } catch {
      /* checked below */
    }
  }
  readFileSync(path.join(REPO, 'dist/operator/main.js'));
  const workDir = await mkdtemp(path.join(tmpdir(), 'operator-bench-'));
  const results: Result[] = [];
  try {
    for (const n of SIZES) {
      process.stderr.write(`bench: ${n} nodes...\n`);
      results.push(await benchOne(n, workDir));
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  const ms = (v: number) => `${Math.round(v)}`;
  console.log(
    `\nOperator benchmark (${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${SAMPLES} single-update samples, ${STEADY_SECONDS} s steady window)\n`,
  );
  console.log(
    '| nodes | provision ms | update->status p50 / p95 / max ms | burst: N reports ms | burst: last report->status ms | cold full resync ms (longest list) | 410 re-list ms | reconcile / plan p50 ms | RSS / peak MiB | steady writes/h | steady CPU s/h |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(
      `| ${r.n} | ${ms(r.provisionMs)} | ${ms(r.singleP50)} / ${ms(r.singleP95)} / ${ms(r.singleMax)} | ${ms(r.burstReportMs)} | ${ms(r.burstLastToStatusMs)} | ${ms(r.coldResyncMs)} (${ms(r.coldListMs)}) | ${ms(r.relistMs)} | ${r.reconcileMs.toFixed(1)} / ${r.planMs.toFixed(1)} | ${r.rssMiB.toFixed(0)} / ${r.peakMiB.toFixed(0)} | ${ms(r.steadyWritesPerHour)} | ${r.steadyCpuSecondsPerHour.toFixed(1)} |`,
    );
  }
  console.log('\nAPI calls per hour in steady state (measured window, extrapolated):\n');
  console.log('| nodes | calls |');
  console.log('|---|---|');
  for (const r of results) {
    const calls = Object.entries(r.steadyPerHour)
      .sort()
      .map(([k, v]) => `${k}: ${Math.round(v)}`)
      .join(', ');
    console.log(`| ${r.n} | ${calls || 'none'} |`);
  }
}

await main();
