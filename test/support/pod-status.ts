import type { KubeClient } from '../../common/kube/kube-client.js';

/**
 * Patches a Pod's status the way a kubelet reports its one container ready or not: phase Running and a
 * `Ready` condition (with kubelet's reason and message when not ready). The tests play the kubelet, which
 * the API emulator does not have.
 */
export async function patchPodReady(
  client: KubeClient,
  namespace: string,
  podName: string,
  ready: boolean,
): Promise<void> {
  await client.patch(`/api/v1/namespaces/${namespace}/pods/${podName}/status`, {
    status: {
      phase: 'Running',
      conditions: [
        {
          type: 'Ready',
          status: ready ? 'True' : 'False',
          lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
          ...(ready
            ? {}
            : { reason: 'ContainersNotReady', message: 'containers with unready status: [agent]' }),
        },
      ],
    },
  });
}
