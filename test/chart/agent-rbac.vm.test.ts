import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { ThinPoolNode } from '../../api/v1alpha1/types.js';
import { KubeClient } from '../../common/kube/kube-client.js';
import { startApiServer, type RunningApiServer } from '../support/kube-apiserver/index.js';
import { AgentProcess } from '../system/support/agent-process.js';
import { removeStaleLvmLinks } from '../system/support/guest.js';
import { waitFor } from '../system/support/system.js';
import { describeVm, useGuest } from '../vm/guest.js';
import { CHART_DIR, findOne, renderChart } from './helm.js';
import { authorized, callOf, describeRequest, type PolicyRule } from './rbac.js';

/**
 * The agent's RBAC, proven by the agent itself: the real `thinpool-agent run` code serves a loop-lvm
 * ThinPool on the VM (real LVM) against the API emulator, alone (no operator, so it creates its own
 * ThinPoolNode as it does when it starts first), and every API request it makes must be allowed by the
 * agent ClusterRole the chart renders.
 */
describeVm('the chart agent RBAC against a real agent run', () => {
  const guest = useGuest({ reset: false });
  const POOL = 'rbac-loop';
  const NODE = 'thinpool-vm';
  let api: RunningApiServer;
  let agent: AgentProcess | undefined;
  let client: KubeClient;

  beforeAll(async () => {
    await guest.vm.reset();
    await removeStaleLvmLinks(guest.vm);
    api = await startApiServer({ crdDir: path.join(CHART_DIR, 'crds') });
    client = new KubeClient(api.kubeConfig());
    await client.create('/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: NODE, labels: { 'kubernetes.io/hostname': NODE } },
    });
    await client.create('/apis/thinpool.dev/v1alpha1/thinpools', {
      apiVersion: 'thinpool.dev/v1alpha1',
      kind: 'ThinPool',
      metadata: { name: POOL },
      spec: {
        volumeGroup: 'rbac',
        loop: { directory: '/var/lib/thinpool-rbac', dataSize: '1Gi', metadataSize: '64Mi' },
        runtime: { type: 'none' },
      },
    });
  });

  afterAll(async () => {
    if (agent?.running) await agent.stop();
    await api?.stop();
  });

  it('creates its ThinPoolNode, reports the pool Ready and records Events, using only what the chart grants', async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'thinpool-agent-rbac-'));
    const kubeconfig = path.join(directory, 'kubeconfig');
    await api.writeKubeconfig(kubeconfig);
    const vmSocket = process.env.THINPOOL_VM_SOCKET;
    if (!vmSocket) throw new Error('No VM broker socket (THINPOOL_VM_SOCKET)');

    api.requestLog.reset();
    agent = AgentProcess.start({
      env: {
        NODE_NAME: NODE,
        THINPOOL_NAME: POOL,
        POD_NAMESPACE: 'thinpool-system',
        POD_NAME: `${POOL}-agent`,
      },
      args: ['--kubeconfig', kubeconfig, '--metrics-bind-address', '127.0.0.1:0'],
      vmSocket,
      logFile: path.join(directory, 'agent.log'),
    });
    // The test reads the emulator's store directly, so that every logged request is the agent's.
    const store = api.server.store;
    const thinPoolNodes = store.mustFind('thinpool.dev', 'v1alpha1', 'thinpoolnodes');
    await waitFor(() => {
      const stored = store.find(thinPoolNodes, undefined, `${POOL}.${NODE}`);
      const tpn = stored ? (JSON.parse(stored.json) as ThinPoolNode) : undefined;
      return tpn?.status?.phase === 'Ready' ? tpn : undefined;
    }, 'the ThinPoolNode to report Ready');
    await waitFor(
      () =>
        store
          .storedIn('events')
          .some(
            (e) =>
              (JSON.parse(e.json) as { involvedObject?: { name?: string } }).involvedObject?.name === POOL,
          ),
      'an Event about the ThinPool',
    );
    await agent.stop();

    const rules = findOne(await renderChart(), 'ClusterRole', 'thinpool-operator-agent')
      .rules as PolicyRule[];
    const requests = api.requestLog.entries();
    expect(requests.length).toBeGreaterThan(0);
    const denied = requests.filter((request) => !authorized(request, rules, []));
    expect(denied.map(describeRequest)).toEqual([]);
    const used = new Set(requests.map(callOf));
    for (const call of [
      'watch thinpools',
      'watch nodes',
      'create thinpoolnodes',
      'patch thinpoolnodes/status',
      'create events',
    ]) {
      expect(used).toContain(call);
    }
  });
});
