import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { DaemonSetObject, EnvVar } from '../../../operator/controller/kube-types.js';
import { daemonSetName } from '../../../operator/controller/names.js';
import { matchesNodeSelector } from '../../../operator/controller/node-selection.js';
import { isNotFound, type KubeClient } from '../../../common/kube/kube-client.js';
import { AgentProcess } from './agent-process.js';
import { patchPodReady } from '../../support/pod-status.js';

/** Options of {@link NodeKubelet}. */
export interface NodeKubeletOptions {
  client: KubeClient;
  /** The node this kubelet plays (the VM). */
  nodeName: string;
  nodeLabels: Record<string, string>;
  /** Namespace of the agent DaemonSets. */
  namespace: string;
  /** Kubeconfig the agents use (it may point at a proxy in front of the API server). */
  agentKubeconfig: string;
  vmSocket: string;
  /** Directory for the agents' log files. */
  logDir: string;
  /** Extra `thinpool-agent run` flags for every agent. */
  agentArgs?: string[];
}

interface RunningPod {
  daemonSet: string;
  thinPool: string;
  podName: string;
  process?: AgentProcess;
  ready: boolean;
  /** Held stopped by the test (a "reboot"). */
  held: boolean;
  /** Every process this pod ran, oldest first. */
  history: AgentProcess[];
}

function resolveEnv(env: readonly EnvVar[], pod: { name: string; namespace: string; nodeName: string }) {
  const fields: Record<string, string> = {
    'spec.nodeName': pod.nodeName,
    'metadata.name': pod.name,
    'metadata.namespace': pod.namespace,
  };
  const out: Record<string, string> = {};
  for (const variable of env) {
    const value = variable.value ?? fields[variable.valueFrom?.fieldRef?.fieldPath ?? ''];
    if (value !== undefined) out[variable.name] = value;
  }
  return out;
}

/**
 * Plays the DaemonSet controller and the kubelet for the one node of the system tests (the VM), since the
 * API emulator runs no controllers for workloads: for each agent DaemonSet whose node selector matches, it
 * creates the Pod, runs its container as an {@link AgentProcess} with the environment the DaemonSet gives
 * (NODE_NAME from the downward API, THINPOOL_NAME, ...), probes `/readyz` and keeps the Pod's `Ready`
 * condition current (what the operator reads as the agent's liveness), restarts a container that exits,
 * and stops the agent (SIGTERM) and deletes the Pod when the DaemonSet goes.
 */
export class NodeKubelet {
  private readonly pods = new Map<string, RunningPod>();
  private stopped = false;
  private loop?: Promise<void>;

  constructor(private readonly options: NodeKubeletOptions) {}

  /** Starts syncing every 500 ms. */
  start(): void {
    this.loop ??= (async () => {
      while (!this.stopped) {
        try {
          await this.sync();
        } catch {
          // The API server may be unreachable for a while in a test; the next round tries again.
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    })();
  }

  /** The current agent process of a ThinPool's pod on this node. */
  agent(thinPool: string): AgentProcess {
    const process = this.pods.get(daemonSetName(thinPool))?.process;
    if (!process) throw new Error(`No agent runs for ThinPool ${thinPool}`);
    return process;
  }

  /** Every agent process a ThinPool's pod ran on this node, oldest first. */
  agentHistory(thinPool: string): AgentProcess[] {
    return this.pods.get(daemonSetName(thinPool))?.history ?? [];
  }

  /** Waits until an agent runs for the ThinPool and listens; returns it. */
  async waitForAgent(thinPool: string, timeoutMs = 120_000): Promise<AgentProcess> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const process = this.pods.get(daemonSetName(thinPool))?.process;
      if (process?.running) {
        await process.port;
        return process;
      }
      if (Date.now() > deadline) throw new Error(`No agent started for ThinPool ${thinPool}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Stops a ThinPool's agent (SIGTERM) and keeps it stopped until {@link startAgent}, like a node that is down. */
  async stopAgent(thinPool: string): Promise<number | null | undefined> {
    const pod = this.pods.get(daemonSetName(thinPool));
    if (!pod) throw new Error(`No pod for ThinPool ${thinPool}`);
    pod.held = true;
    const code = await pod.process?.stop();
    pod.process = undefined;
    await this.setReady(pod, false);
    return code;
  }

  /** Lets a stopped agent run again (the next sync starts it). */
  startAgent(thinPool: string): void {
    const pod = this.pods.get(daemonSetName(thinPool));
    if (pod) pod.held = false;
  }

  /** Stops every agent (SIGKILL after 20 s) and the sync loop; the pods stay in the API (the node went away). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await Promise.all([...this.pods.values()].map((pod) => pod.process?.stop(20_000)));
  }

  private async sync(): Promise<void> {
    const { client, namespace, nodeLabels } = this.options;
    const list = await client.list<DaemonSetObject>(`/apis/apps/v1/namespaces/${namespace}/daemonsets`);
    const wanted = new Map<string, DaemonSetObject>();
    for (const ds of list.items) {
      if (ds.metadata.deletionTimestamp) continue;
      if (matchesNodeSelector(nodeLabels, ds.spec.template.spec.nodeSelector))
        wanted.set(ds.metadata.name!, ds);
    }
    for (const [name, pod] of this.pods) {
      if (wanted.has(name)) continue;
      this.pods.delete(name);
      await pod.process?.stop();
      await client.delete(`/api/v1/namespaces/${namespace}/pods/${pod.podName}`).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    }
    for (const [name, ds] of wanted) {
      let pod = this.pods.get(name);
      if (!pod) {
        pod = await this.createPod(ds);
        this.pods.set(name, pod);
      }
      if (!pod.held && !pod.process?.running) pod.process = this.run(ds, pod);
      await this.probe(pod);
    }
  }

  private async createPod(ds: DaemonSetObject): Promise<RunningPod> {
    const { client, namespace, nodeName } = this.options;
    const podName = `${ds.metadata.name}-${randomBytes(3).toString('hex').slice(0, 5)}`;
    const template = ds.spec.template;
    await client.create(`/api/v1/namespaces/${namespace}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: podName,
        namespace,
        labels: template.metadata?.labels,
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'DaemonSet',
            name: ds.metadata.name,
            uid: ds.metadata.uid,
            controller: true,
          },
        ],
      },
      spec: { ...template.spec, nodeName },
    });
    const thinPool = resolveEnv(template.spec.containers[0]!.env ?? [], {
      name: podName,
      namespace,
      nodeName,
    }).THINPOOL_NAME!;
    const pod: RunningPod = {
      daemonSet: ds.metadata.name!,
      thinPool,
      podName,
      ready: true,
      held: false,
      history: [],
    };
    await this.setReady(pod, false);
    return pod;
  }

  private run(ds: DaemonSetObject, pod: RunningPod): AgentProcess {
    const { namespace, nodeName, agentKubeconfig, vmSocket, logDir } = this.options;
    const container = ds.spec.template.spec.containers[0]!;
    const env = resolveEnv(container.env ?? [], { name: pod.podName, namespace, nodeName });
    const process = AgentProcess.start({
      env,
      args: [
        '--kubeconfig',
        agentKubeconfig,
        '--metrics-bind-address',
        '127.0.0.1:0',
        ...(this.options.agentArgs ?? []),
      ],
      vmSocket,
      logFile: path.join(logDir, `agent-${pod.thinPool}.log`),
    });
    pod.history.push(process);
    return process;
  }

  private async probe(pod: RunningPod): Promise<void> {
    let ready = false;
    if (pod.process?.running) {
      try {
        const port = await Promise.race([
          pod.process.port,
          new Promise<undefined>((r) => setTimeout(() => r(undefined), 100)),
        ]);
        if (port !== undefined) {
          const response = await fetch(`http://127.0.0.1:${port}/readyz`, {
            signal: AbortSignal.timeout(2000),
          });
          ready = response.status === 200;
        }
      } catch {
        ready = false;
      }
    }
    await this.setReady(pod, ready);
  }

  private async setReady(pod: RunningPod, ready: boolean): Promise<void> {
    if (pod.ready === ready) return;
    await patchPodReady(this.options.client, this.options.namespace, pod.podName, ready);
    pod.ready = ready;
  }
}

/**
 * Registers the VM as a Node (labelled like a kubelet would) and creates the namespace of the agent
 * DaemonSets; returns the Node's labels.
 */
export async function registerVmNode(
  client: KubeClient,
  namespace: string,
  nodeName: string,
): Promise<Record<string, string>> {
  await client.create('/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: namespace },
  });
  const labels = { 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': nodeName };
  await client.create('/api/v1/nodes', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: nodeName, labels },
  });
  return labels;
}
