import path from 'node:path';
import { fileURLToPath } from 'node:url';
import winston from 'winston';
import type {
  ThinPool,
  ThinPoolNode,
  ThinPoolNodeStatus,
  ThinPoolSpec,
} from '../../../api/v1alpha1/types.js';
import { agentLabels } from '../../../operator/controller/daemon-set.js';
import type {
  DaemonSetObject,
  NodeObject,
  PodObject,
  Taint,
} from '../../../operator/controller/kube-types.js';
import { daemonSetName } from '../../../operator/controller/names.js';
import type { OperatorSettings } from '../../../operator/controller/settings.js';
import { KubeClient, isNotFound } from '../../../common/kube/kube-client.js';
import type { LeaderElectionTimings } from '../../../operator/runtime/leader-election.js';
import { Operator, type InformerTuning } from '../../../operator/operator.js';
import {
  startApiServer,
  type ApiServerOptions,
  type RunningApiServer,
} from '../../support/kube-apiserver/index.js';
import { waitFor } from '../../support/wait.js';
import { TEST_SETTINGS } from './fixtures.js';
import { patchPodReady } from '../../support/pod-status.js';

/** The repository's generated CRDs. */
export const CRD_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../crds');

const TP = '/apis/thinpool.dev/v1alpha1/thinpools';
const TPN = '/apis/thinpool.dev/v1alpha1/thinpoolnodes';
const NS = TEST_SETTINGS.namespace;

/** A logger that prints nothing unless `OPERATOR_TEST_LOGS=1`. */
export function testLogger(): winston.Logger {
  return winston.createLogger({
    silent: process.env.OPERATOR_TEST_LOGS !== '1',
    format: winston.format.json(),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}

/** Informer timings short enough for tests. */
export const FAST_INFORMERS: InformerTuning = {
  relistPeriodMs: 0,
  watchTimeoutSeconds: [30, 60],
  thinPoolResyncPeriodMs: 0,
};

/**
 * {@link waitFor} with the emulator's pace: polls every 20 ms, gives up after `timeoutMs` (20 s), well inside
 * a test's own timeout so that the failure names what never happened.
 */
export function eventually<T>(
  check: () => T | undefined | false | null | Promise<T | undefined | false | null>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  return waitFor(check, what, timeoutMs, 20);
}

/** A cluster made of the API emulator, and helpers that play the nodes, the DaemonSet controller and the agents. */
export class TestCluster {
  readonly client: KubeClient;
  private readonly operators: Operator[] = [];

  private constructor(readonly api: RunningApiServer) {
    this.client = new KubeClient(api.kubeConfig());
  }

  /** Starts an emulator with the project's CRDs and the operator's namespace. */
  static async start(options: ApiServerOptions = {}): Promise<TestCluster> {
    const api = await startApiServer({ crdDir: CRD_DIR, ...options });
    const cluster = new TestCluster(api);
    await cluster.client.create('/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: NS },
    });
    return cluster;
  }

  /** Starts an operator against this cluster (stopped by {@link stop}). */
  async startOperator(
    options: {
      settings?: Partial<OperatorSettings>;
      leaderElection?: { leaseName: string; identity?: string; timings?: LeaderElectionTimings };
      informers?: InformerTuning;
      wait?: boolean;
    } = {},
  ): Promise<Operator> {
    const operator = new Operator({
      kubeConfig: this.api.kubeConfig(),
      settings: { ...TEST_SETTINGS, ...options.settings },
      logger: testLogger(),
      leaderElection: options.leaderElection,
      informers: options.informers ?? FAST_INFORMERS,
    });
    this.operators.push(operator);
    const started = operator.start();
    if (options.wait !== false) await started;
    return operator;
  }

  /** Stops every operator and the emulator. */
  async stop(): Promise<void> {
    await Promise.all(this.operators.map((o) => o.stop()));
    await this.api.stop();
  }

  async createNode(name: string, labels: Record<string, string> = {}, taints?: Taint[]): Promise<void> {
    await this.client.create('/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels },
      ...(taints ? { spec: { taints } } : {}),
    });
  }

  async labelNode(name: string, labels: Record<string, string | null>): Promise<void> {
    await this.client.patch(`/api/v1/nodes/${name}`, { metadata: { labels } });
  }

  async deleteNode(name: string): Promise<void> {
    await this.client.delete(`/api/v1/nodes/${name}`);
  }

  async createThinPool(
    name: string,
    spec: Partial<ThinPoolSpec> & Record<string, unknown>,
  ): Promise<ThinPool> {
    return this.client.create<ThinPool>(TP, {
      apiVersion: 'thinpool.dev/v1alpha1',
      kind: 'ThinPool',
      metadata: { name },
      spec,
    });
  }

  async patchThinPoolSpec(name: string, spec: Record<string, unknown>): Promise<ThinPool> {
    return this.client.patch<ThinPool>(`${TP}/${name}`, { spec });
  }

  async deleteThinPool(name: string): Promise<void> {
    await this.client.delete(`${TP}/${name}`);
  }

  async getThinPool(name: string): Promise<ThinPool | undefined> {
    try {
      return await this.client.get<ThinPool>(`${TP}/${name}`);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async listThinPoolNodes(pool?: string): Promise<ThinPoolNode[]> {
    const list = await this.client.list<ThinPoolNode>(TPN);
    return list.items.filter((t) => !pool || t.spec.thinPool === pool);
  }

  async getDaemonSet(pool: string): Promise<DaemonSetObject | undefined> {
    try {
      return await this.client.get<DaemonSetObject>(
        `/apis/apps/v1/namespaces/${NS}/daemonsets/${daemonSetName(pool)}`,
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Plays the agent: writes the ThinPoolNode status of `pool` on `node`. */
  async reportAgentStatus(pool: string, node: string, status: ThinPoolNodeStatus): Promise<void> {
    await this.client.patch(`${TPN}/${pool}.${node}/status`, { status });
  }

  /** Plays the DaemonSet controller and the kubelet: an agent Pod of `pool` on `node` with a Ready condition. */
  async runAgentPod(pool: string, node: string, ready: boolean): Promise<void> {
    const name = `${daemonSetName(pool)}-${node}`;
    const path = `/api/v1/namespaces/${NS}/pods`;
    try {
      await this.client.create<PodObject>(path, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: NS, labels: agentLabels(pool) },
        spec: { nodeName: node, containers: [{ name: 'agent', image: TEST_SETTINGS.agentImage }] },
      });
    } catch (err) {
      if (!String(err).includes('409')) throw err;
    }
    await this.setAgentPodReady(pool, node, ready);
  }

  async setAgentPodReady(pool: string, node: string, ready: boolean): Promise<void> {
    await patchPodReady(this.client, NS, `${daemonSetName(pool)}-${node}`, ready);
  }

  async deleteAgentPod(pool: string, node: string): Promise<void> {
    await this.client.delete(`/api/v1/namespaces/${NS}/pods/${daemonSetName(pool)}-${node}`);
  }

  async listNodes(): Promise<NodeObject[]> {
    return (await this.client.list<NodeObject>('/api/v1/nodes')).items;
  }

  async listEvents(): Promise<
    Array<{ reason: string; message: string; type: string; count: number; involvedObject: { name: string } }>
  > {
    const list = await this.client.list<{
      reason: string;
      message: string;
      type: string;
      count: number;
      involvedObject: { name: string };
    }>('/api/v1/namespaces/default/events');
    return list.items;
  }
}

/** The Ready condition status of a ThinPool. */
export function readyOf(tp: ThinPool | undefined): string | undefined {
  return tp?.status?.conditions?.find((c) => c.type === 'Ready')?.status;
}

/** A condition of a ThinPool. */
export function conditionOf(tp: ThinPool | undefined, type: string) {
  return tp?.status?.conditions?.find((c) => c.type === type);
}
