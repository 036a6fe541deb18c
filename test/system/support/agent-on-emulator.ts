/**
 * The in-cluster agent of ThinPool `docker` on node `n1`, run in this process against the API emulator with a
 * `Host` that answers from output recorded in the VM: what the agent tests that are about its dealings with
 * the API server share (test/system/agent-cluster.test.ts, agent-rollout-gate.test.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import winston from 'winston';
import { ThinPoolAgent, type ThinPoolAgentOptions } from '../../../node-agent/cluster/agent.js';
import { CommandError, type RunOptions, type RunResult } from '../../../node-agent/host/host.js';
import { AgentMetrics } from '../../../node-agent/metrics/agent-metrics.js';
import { KubeClient } from '../../../common/kube/kube-client.js';
import { startApiServer, type RunningApiServer } from '../../support/kube-apiserver/index.js';
import { waitFor } from '../../support/wait.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CRDS = path.resolve(HERE, '../../../crds');

/** A recorded fixture, `test/fixtures/<dir>/<name>`. */
export const fixture = (dir: string, name: string): string =>
  readFileSync(path.resolve(HERE, '../../fixtures', dir, name), 'utf8');

export const THINPOOLS = '/apis/thinpool.dev/v1alpha1/thinpools';
/** The ThinPoolNode of ThinPool `docker` on node `n1`. */
export const TPN = '/apis/thinpool.dev/v1alpha1/thinpoolnodes/docker.n1';
/** Labels of the agent's per-pool series. */
export const POOL_SERIES = { thinpool: 'docker', node: 'n1', vg: 'docker', lv: 'thinpool' };

/** What `/dev/vda` holds on a recorded node: a complete pool, or no PV but an ext4 filesystem. */
export type RecordedDisk = 'pool' | 'ext4';

/**
 * The answer recorded in the VM to one of the agent's reads of LVM and the disk (`lvm fullreport`, `lsblk`,
 * `losetup`, `realpath`, `wipefs --no-act`, `dmsetup info`); `dmsetup wait` never sees an event and returns
 * when the agent aborts it. Undefined for any other command.
 */
export async function recordedRead(
  argv: readonly string[],
  options: RunOptions,
  disk: RecordedDisk,
): Promise<RunResult | undefined> {
  const out = (stdout: string): RunResult => ({ argv, exitCode: 0, stdout, stderr: '', durationMs: 1 });
  const pool = disk === 'pool';
  const [program, first] = argv;
  if (program === 'lvm' && first === 'fullreport')
    return out(fixture('lvm', pool ? 'fullreport-used.json' : 'fullreport-blank.json'));
  if (program === 'lsblk') return out(fixture('lvm', pool ? 'lsblk-used.json' : 'lsblk-blank.json'));
  if (program === 'losetup') return out(fixture('lvm', 'losetup-none.json'));
  if (program === 'realpath') return out(`${argv.slice(3).join('\n')}\n`);
  if (program === 'wipefs') return out(fixture('lvm', pool ? 'wipefs-blank.json' : 'wipefs-ext4.json'));
  if (program === 'dmsetup' && first === 'info') return out('0\n');
  if (program === 'dmsetup' && first === 'wait') {
    await new Promise<void>((resolve) => options.signal?.addEventListener('abort', () => resolve()));
    throw new CommandError({ argv, exitCode: undefined, cause: 'aborted' });
  }
  return undefined;
}

/**
 * The API emulator with the project's CRDs, the Node `n1` and the ThinPool `docker` on `/dev/vda`, with
 * `spec` merged in (as a user writes it: the API server fills in the defaults).
 */
export async function startClusterWithPool(
  spec: Record<string, unknown> = {},
): Promise<{ api: RunningApiServer; client: KubeClient }> {
  const api = await startApiServer({ crdDir: CRDS });
  const client = new KubeClient(api.kubeConfig());
  await client.create('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
  await client.create(THINPOOLS, {
    apiVersion: 'thinpool.dev/v1alpha1',
    kind: 'ThinPool',
    metadata: { name: 'docker' },
    spec: { devices: [{ path: '/dev/vda' }], ...spec },
  });
  return { api, client };
}

/**
 * Starts the agent of ThinPool `docker` on node `n1` against `api`, reconciling only when triggered (its
 * interval is an hour), and waits for its first reconcile. `options` override the rest (its metrics, clock,
 * heartbeat).
 */
export async function startAgent(
  api: RunningApiServer,
  options: Pick<ThinPoolAgentOptions, 'host'> & Partial<ThinPoolAgentOptions>,
): Promise<ThinPoolAgent> {
  const agent = new ThinPoolAgent({
    client: new KubeClient(api.kubeConfig()),
    nodeName: 'n1',
    thinPoolName: 'docker',
    log: winston.createLogger({ silent: true }),
    metrics: new AgentMetrics({ thinpool: 'docker', node: 'n1' }),
    intervalMs: 3_600_000,
    informers: { backoff: { initialMs: 50, maxMs: 200 } },
    ...options,
  });
  await agent.start();
  await waitFor(() => agent.reconciles >= 1, 'the first reconcile', 20_000, 20);
  return agent;
}

/** Triggers one reconcile of `agent` and waits for it to end. */
export async function reconcileOnce(agent: ThinPoolAgent): Promise<void> {
  const done = agent.reconciles;
  agent.trigger('test');
  await waitFor(() => agent.reconciles > done, 'a reconcile', 20_000, 20);
}
