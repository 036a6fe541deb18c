import { expect, it } from '@jest/globals';
import type { Host } from '../../node-agent/host/host.js';
import type { NodeObject } from '../../operator/controller/kube-types.js';
import {
  DOCKER,
  cleanRuntimeFiles,
  saveRuntimeFiles,
  startDockerWithInitScript,
} from '../runtime/guest-runtime.js';
import { describeVm } from '../vm/guest.js';
import { useSystem, VM_NODE, waitFor } from './support/system.js';

/**
 * The runtime rollout end to end: the real operator drains the VM's Node, the real agent (a
 * `thinpool-agent run` process whose host is the VM) waits for its turn and then switches the real Docker
 * in the VM to devicemapper on the pool it made. A PodDisruptionBudget holds the drain, and with it the
 * switch, until a replica runs elsewhere.
 */
describeVm('system: the runtime switch waits for the drain, then Docker runs on the pool', () => {
  const ctx = useSystem({ name: 'runtime-rollout', agentArgs: ['--interval', '2s'] });
  const POOL = 'docker';
  const APPS = 'apps';

  async function dockerInfo(vm: Host) {
    const { stdout } = await vm.run([DOCKER, 'info', '--format', '{{json .}}']);
    const info = JSON.parse(stdout) as { Driver: string; DriverStatus: [string, string][] | null };
    return { driver: info.Driver, poolName: info.DriverStatus?.find(([k]) => k === 'Pool Name')?.[1] };
  }

  async function runPod(name: string, nodeName: string): Promise<void> {
    const { client } = ctx.system;
    await client.create(`/api/v1/namespaces/${APPS}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: APPS, labels: { app: 'db' } },
      spec: { nodeName, containers: [{ name: 'db', image: 'registry.example/db:1' }] },
    });
    await client.patch(`/api/v1/namespaces/${APPS}/pods/${name}/status`, {
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }],
      },
    });
  }

  it('holds the switch while a PodDisruptionBudget holds the drain, then switches, verifies and uncordons', async () => {
    const { vm, system } = ctx;
    const saved = await saveRuntimeFiles(vm);
    try {
      await vm.run(['mkdir', '-p', '/etc/docker']);
      await vm.writeFile(
        '/etc/docker/daemon.json',
        '{\n  "log-level": "warn",\n  "storage-driver": "vfs"\n}\n',
      );
      await startDockerWithInitScript(vm);
      await system.client.create('/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: APPS },
      });
      await system.client.create('/api/v1/nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: 'other', labels: { 'kubernetes.io/hostname': 'other' } },
      });
      await runPod('db-0', VM_NODE);
      await system.client.create(`/apis/policy/v1/namespaces/${APPS}/poddisruptionbudgets`, {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: 'db', namespace: APPS },
        spec: { minAvailable: 1, selector: { matchLabels: { app: 'db' } } },
      });

      await system.applyThinPool(POOL, {
        nodeSelector: { 'kubernetes.io/hostname': VM_NODE },
        volumeGroup: 'dock-vg',
        devices: [{ path: vm.disk('disk1').byIdPath }],
        // The guest has no udev: Docker refuses devicemapper there unless told to skip the udev sync check.
        runtime: { type: 'docker', docker: { overrideUdevSyncCheck: true }, drain: { enabled: true } },
      });

      // The pool is made, the node cordoned, the eviction refused: the agent waits and Docker is untouched.
      const waiting = await waitFor(async () => {
        const tpn = await system.thinPoolNode(POOL);
        const runtime = tpn?.status?.conditions?.find((c) => c.type === 'RuntimeConfigured');
        return runtime?.reason === 'AwaitingRollout' && tpn?.spec.runtimeSwitch === 'Draining'
          ? tpn
          : undefined;
      }, 'the agent awaiting its turn while the node drains');
      expect(waiting.status?.phase).toBe('Ready');
      expect(waiting.status?.conditions?.find((c) => c.type === 'RuntimeConfigured')?.message).toMatch(
        /^Switching Docker to pool dock--vg-thinpool .* waits for the operator's rollout/,
      );
      const node = await system.client.get<NodeObject>(`/api/v1/nodes/${VM_NODE}`);
      expect(node.spec?.unschedulable).toBe(true);
      await waitFor(
        () => system.api.requestLog.count({ subresource: 'eviction', name: 'db-0', status: 429 }) >= 2,
        'the eviction of db-0 refused twice',
      );
      expect(await dockerInfo(vm)).toEqual({ driver: 'vfs', poolName: undefined });

      // A replica elsewhere: the eviction passes, the agent is allowed and switches Docker.
      await runPod('db-1', 'other');
      const done = await system.waitForCondition(POOL, 'RuntimeRollout', 'True', 'Complete');
      expect(done.status?.conditions?.find((c) => c.type === 'RuntimeRollout')?.message).toBe(
        '1/1 nodes have the runtime configured',
      );
      expect(await dockerInfo(vm)).toEqual({ driver: 'devicemapper', poolName: 'dock--vg-thinpool' });
      const daemonJson = JSON.parse((await vm.readFile('/etc/docker/daemon.json')) ?? '{}') as Record<
        string,
        unknown
      >;
      expect(daemonJson['log-level']).toBe('warn');
      await waitFor(
        async () => !(await system.client.get<NodeObject>(`/api/v1/nodes/${VM_NODE}`)).spec?.unschedulable,
        'the node uncordoned',
      );
      const tpn = await system.thinPoolNode(POOL);
      expect(tpn?.spec.runtimeSwitch).toBeUndefined();
      expect(tpn?.status?.conditions?.find((c) => c.type === 'RuntimeConfigured')).toMatchObject({
        status: 'True',
        reason: 'Configured',
      });
      const reasons = (await system.events('ThinPool', POOL)).map((e) => e.reason);
      expect(reasons).toEqual(
        expect.arrayContaining([
          'Cordoned',
          'EvictionDeferred',
          'Evicted',
          'RuntimeSwitchAllowed',
          'Uncordoned',
        ]),
      );
    } finally {
      await system.kubelet.stop();
      await cleanRuntimeFiles(vm, saved);
    }
  });
});
