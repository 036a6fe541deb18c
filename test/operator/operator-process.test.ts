/**
 * The `thinpool-operator` executable as a process: flags, /metrics, /healthz, /readyz, JSON logs, two
 * replicas with leader election (one reconciles; killing it with SIGKILL hands over within the lease
 * duration), and a graceful SIGTERM that releases the Lease.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { OPERATOR_METRICS } from '../../common/metric-catalog.js';
import type { Lease } from '../../operator/runtime/leader-election.js';
import { TestCluster, eventually } from './support/harness.js';
import { OperatorProcess } from './support/operator-process.js';

jest.setTimeout(120_000);

const LEASE = '/apis/coordination.k8s.io/v1/namespaces/thinpool-system/leases/thinpool-operator-leader';
const ENABLED = { 'thinpool.dev/enabled': 'true' };

let cluster: TestCluster;
let workDir: string;
let kubeconfig: string;
const processes: OperatorProcess[] = [];

beforeAll(async () => {
  cluster = await TestCluster.start();
  workDir = await mkdtemp(path.join(tmpdir(), 'operator-process-'));
  kubeconfig = path.join(workDir, 'kubeconfig');
  await cluster.api.writeKubeconfig(kubeconfig);
  await cluster.createNode('n1', ENABLED);
});

afterAll(async () => {
  for (const p of processes) if (p.child.exitCode === null) p.signal('SIGKILL');
  await Promise.all(processes.map((p) => p.exited));
  await cluster?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** A replica; `viaEnv` passes the kubeconfig as `$KUBECONFIG` instead of `--kubeconfig`. */
function startReplica(viaEnv = false): OperatorProcess {
  const replica = new OperatorProcess(
    [
      ...(viaEnv ? [] : [`--kubeconfig=${kubeconfig}`]),
      '--namespace=thinpool-system',
      '--agent-image=registry.example/thinpool-operator:e2e',
      '--metrics-bind-address=127.0.0.1:0',
      '--health-probe-bind-address=127.0.0.1:0',
      '--leader-elect-lease-duration=4s',
      '--leader-elect-renew-deadline=3s',
      '--leader-elect-retry-period=500ms',
    ],
    viaEnv ? { KUBECONFIG: kubeconfig } : {},
  );
  processes.push(replica);
  return replica;
}

async function holder(): Promise<Lease['spec'] | undefined> {
  try {
    return (await cluster.client.get<Lease>(LEASE)).spec;
  } catch {
    return undefined;
  }
}

describe('thinpool-operator', () => {
  it('prints its help, and refuses bad flags with a clear error and exit code 2', async () => {
    const help = new OperatorProcess(['--help']);
    const bad = new OperatorProcess(['--agent-image-pull-policy=Sometimes', '--workers=x']);
    expect(await help.exited).toBe(0);
    expect(help.logs.map((l) => l.message).join('\n')).toContain('--leader-elect-lease-duration');
    expect(await bad.exited).toBe(2);
    const output = bad.logs.map((l) => l.message).join('\n');
    expect(output).toContain('--agent-image-pull-policy: Unsupported value "Sometimes"');
    expect(output).toContain('--workers: Invalid value "x"');
  });

  it('runs two replicas with one leader, fails over when the leader is killed, and releases the Lease on SIGTERM', async () => {
    const a = startReplica();
    const b = startReplica(true);
    await eventually(
      async () => (await a.get('/readyz').catch(() => undefined))?.status === 200,
      'replica a ready',
    );
    await eventually(
      async () => (await b.get('/readyz').catch(() => undefined))?.status === 200,
      'replica b ready',
    );
    expect((await a.get('/healthz')).body).toBe('ok\n');

    const first = await eventually(async () => (await holder())?.holderIdentity, 'a leader');
    const [leader, standby] = first === a.identity ? [a, b] : [b, a];
    expect([a.identity, b.identity]).toContain(first);

    const leaderMetrics = (await leader.get('/metrics')).body;
    for (const metric of Object.values(OPERATOR_METRICS))
      expect(leaderMetrics).toContain(`# TYPE ${metric.name} ${metric.type}`);
    expect(leaderMetrics).toMatch(/^thinpool_operator_leader 1$/m);
    expect((await standby.get('/metrics')).body).toMatch(/^thinpool_operator_leader 0$/m);

    await cluster.createThinPool('loop', {
      nodeSelector: ENABLED,
      loop: { directory: '/var/lib/thinpool', dataSize: '2Gi', metadataSize: '64Mi' },
    });
    await eventually(() => cluster.getDaemonSet('loop'), 'the DaemonSet from the leader');
    await eventually(
      async () => (await cluster.listThinPoolNodes('loop')).length === 1,
      'the ThinPoolNode of n1',
    );
    expect(leader.find('Created DaemonSet')).toBeDefined();
    await eventually(
      async () =>
        (await leader.get('/metrics')).body.includes(
          'thinpool_operator_pool_nodes{thinpool="loop",state="desired"} 1',
        ),
      'the per-ThinPool gauges',
    );
    expect(standby.find('Created DaemonSet')).toBeUndefined();
    expect(standby.find('Started reconciling ThinPools')).toBeUndefined();

    const transitions = (await holder())?.leaseTransitions ?? 0;
    const killedAt = Date.now();
    leader.signal('SIGKILL');
    await eventually(
      async () => (await holder())?.holderIdentity === standby.identity,
      'the standby to take over',
    );
    const failoverMs = Date.now() - killedAt;
    process.stdout.write(
      `operator failover after SIGKILL: ${failoverMs} ms (lease duration 4000 ms, retry period 500 ms)\n`,
    );
    expect((await holder())?.leaseTransitions).toBe(transitions + 1);
    await eventually(() => standby.find('Started reconciling ThinPools'), 'the standby to start reconciling');

    await cluster.createNode('n2', ENABLED);
    await eventually(
      async () => (await cluster.listThinPoolNodes('loop')).length === 2,
      'the new leader to reconcile n2',
    );
    await eventually(
      async () => /^thinpool_operator_leader 1$/m.test((await standby.get('/metrics')).body),
      'leader gauge 1',
    );

    standby.signal('SIGTERM');
    expect(await standby.exited).toBe(0);
    expect(standby.find('Released leader Lease')).toBeDefined();
    expect((await holder())?.holderIdentity).toBe('');
    for (const line of standby.logs) expect(line.level).not.toBe('raw');
  });
});
