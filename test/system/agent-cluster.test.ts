import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { ThinPoolNode } from '../../api/v1alpha1/types.js';
import type { ThinPoolAgent } from '../../node-agent/cluster/agent.js';
import {
  CommandError,
  type FileStat,
  type Host,
  type RunOptions,
  type RunResult,
} from '../../node-agent/host/host.js';
import { renderProfile } from '../../node-agent/plan/profile.js';
import type { EventObject } from '../../operator/controller/kube-types.js';
import type { KubeClient } from '../../common/kube/kube-client.js';
import type { RunningApiServer } from '../support/kube-apiserver/index.js';
import { agentSpec } from '../agent/support/fixtures.js';
import { waitFor } from '../support/wait.js';
import {
  reconcileOnce,
  recordedRead,
  startAgent as startAgentOn,
  startClusterWithPool,
  THINPOOLS,
  TPN,
  type RecordedDisk,
} from './support/agent-on-emulator.js';

/**
 * A `Host` that answers the agent's reads with output recorded from real LVM in the VM (test/fixtures/lvm)
 * and fails any change: these tests are about the agent's dealings with the API server; every LVM behaviour
 * is tested for real in the VM suites.
 */
class RecordedNode implements Host {
  readonly kind = 'recorded';
  readonly mutations: string[] = [];
  state: RecordedDisk = 'pool';

  async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const recorded = await recordedRead(argv, options, this.state);
    if (recorded) return recorded;
    this.mutations.push(argv.join(' '));
    throw new CommandError({ argv, exitCode: 5, stderr: 'this recorded node accepts no changes' });
  }

  async readFile(file: string): Promise<string | undefined> {
    return file === agentSpec().profilePath && this.state === 'pool' ? renderProfile(agentSpec()) : undefined;
  }

  async writeFile(file: string): Promise<void> {
    this.mutations.push(`write-file ${file}`);
    throw new Error('this recorded node accepts no changes');
  }

  async stat(): Promise<FileStat> {
    return { exists: true, type: 'block-device', sizeBytes: 0, mode: 0o660, mtimeMs: 0 };
  }
}

describe('the in-cluster agent against the API emulator', () => {
  let api: RunningApiServer;
  let client: KubeClient;
  let node: RecordedNode;
  let agent: ThinPoolAgent;
  let clock: Date;

  async function startAgent(heartbeatMs = 600_000): Promise<void> {
    agent = await startAgentOn(api, { host: node, heartbeatMs, now: () => clock });
  }

  const reconcile = () => reconcileOnce(agent);

  const statusPatches = () =>
    api.requestLog.count({ verb: 'patch', resource: 'thinpoolnodes', subresource: 'status', status: 200 });
  const events = async (kind: string, reason: string) =>
    (await client.list<EventObject>('/api/v1/namespaces/default/events')).items.filter(
      (e) => e.involvedObject.kind === kind && e.reason === reason,
    );

  beforeEach(async () => {
    clock = new Date('2026-03-01T10:00:00Z');
    node = new RecordedNode();
    ({ api, client } = await startClusterWithPool());
  });

  afterEach(async () => {
    await agent?.stop();
    await api.stop();
  });

  it('creates its ThinPoolNode when the operator has not, and writes the status once while nothing changes', async () => {
    await startAgent();
    const tpn = await client.get<ThinPoolNode>(TPN);
    expect(tpn.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'ThinPool',
      name: 'docker',
      controller: true,
    });
    expect(tpn.status?.phase).toBe('Ready');
    expect(tpn.status?.pool?.dataUsedPercent).toBe(6.61);
    expect(tpn.status?.lastHeartbeatTime).toBe('2026-03-01T10:00:00Z');
    expect(statusPatches()).toBe(1);
    for (let i = 0; i < 5; i++) {
      clock = new Date(clock.getTime() + 10_000);
      await reconcile();
    }
    expect(statusPatches()).toBe(1);
    expect(node.mutations).toEqual([]);
    expect(agent.ready).toBe(true);
  });

  it('writes a heartbeat when the interval has passed, and nothing else changes', async () => {
    await startAgent(600_000);
    const before = await client.get<ThinPoolNode>(TPN);
    clock = new Date(clock.getTime() + 599_000);
    await reconcile();
    expect(statusPatches()).toBe(1);
    clock = new Date(clock.getTime() + 1_000);
    await reconcile();
    expect(statusPatches()).toBe(2);
    const after = await client.get<ThinPoolNode>(TPN);
    expect(after.status?.lastHeartbeatTime).toBe('2026-03-01T10:10:00Z');
    expect({ ...after.status, lastHeartbeatTime: undefined }).toEqual({
      ...before.status,
      lastHeartbeatTime: undefined,
    });
  });

  it('reacts to a spec change of its ThinPool at once', async () => {
    await startAgent();
    const done = agent.reconciles;
    await client.patch(`${THINPOOLS}/docker`, { spec: { autoExtend: { thresholdPercent: 90 } } });
    await waitFor(() => agent.reconciles > done, 'a reconcile after the spec change', 20_000, 20);
    expect(agent.lastReconcile?.triggers).toContain('thinpool-changed');
    // The profile on the node no longer matches: the agent tries to rewrite it (and this node refuses).
    expect(node.mutations).toEqual(['write-file /etc/lvm/profile/docker-thinpool.profile']);
    const tpn = await client.get<ThinPoolNode>(TPN);
    expect(tpn.status?.observedGeneration).toBe(2);
    expect(tpn.status?.phase).toBe('Failed');
    expect(agent.ready).toBe(false);
  });

  it('records a refusal once on the ThinPool and the Node, and bumps the count when it comes back', async () => {
    node.state = 'ext4';
    await startAgent();
    const tpn = await client.get<ThinPoolNode>(TPN);
    expect(tpn.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'DeviceHasFilesystem',
    });
    await reconcile();
    await reconcile();
    const [onPool] = await events('ThinPool', 'DeviceHasFilesystem');
    const [onNode] = await events('Node', 'DeviceHasFilesystem');
    expect(onPool).toMatchObject({
      type: 'Warning',
      count: 1,
      source: { component: 'thinpool-agent', host: 'n1' },
    });
    expect(onPool!.message).toMatch(/^Refused \/dev\/vda has an ext4 signature/);
    expect(onNode).toMatchObject({ count: 1, involvedObject: { kind: 'Node', name: 'n1' } });

    node.state = 'pool';
    await reconcile();
    node.state = 'ext4';
    await reconcile();
    expect(await events('ThinPool', 'DeviceHasFilesystem')).toEqual([expect.objectContaining({ count: 2 })]);
    expect(node.mutations).toEqual([]);
  });

  it('holds Events while the API server fails and delivers them, in order, when it answers again', async () => {
    await startAgent();
    api.faults.setErrorRate({ rate: 1, code: 503 });
    node.state = 'ext4';
    await reconcile();
    await reconcile();
    expect(agent.eventBacklog).toBe(2);
    const patchedDuringOutage = statusPatches();
    api.faults.clearErrors();
    clock = new Date(clock.getTime() + 42_000);
    await reconcile();
    expect(statusPatches()).toBe(patchedDuringOutage + 1);
    expect(agent.eventBacklog).toBe(0);
    const [refused] = await events('ThinPool', 'DeviceHasFilesystem');
    expect(refused).toMatchObject({ count: 1, firstTimestamp: '2026-03-01T10:00:00Z' });
    expect((await client.get<ThinPoolNode>(TPN)).status?.phase).toBe('Failed');
    const [reconnected] = await events('Node', 'Reconnected');
    expect(reconnected?.message).toBe(
      'The API server was unreachable for 42 s; the agent kept reconciling and delivered 2 held Events and the current status',
    );
  });
});
