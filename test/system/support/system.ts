import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, jest } from '@jest/globals';
import { execa } from 'execa';
import winston from 'winston';
import { stringify } from 'yaml';
import type { ThinPool, ThinPoolNode } from '../../../api/v1alpha1/types.js';
import type { EventObject } from '../../../operator/controller/kube-types.js';
import { DEFAULT_SETTINGS } from '../../../operator/controller/settings.js';
import { Operator } from '../../../operator/operator.js';
import { isNotFound, KubeClient } from '../../../common/kube/kube-client.js';
import {
  kubeconfigDocument,
  startApiServer,
  type RunningApiServer,
} from '../../support/kube-apiserver/index.js';
import { toolPath } from '../../tools/tools.js';
import { connectVm, type GuestVm } from '../../vm/guest-host.js';
import { VM_TEST_TIMEOUT_MS } from '../../vm/guest.js';
import { removeStaleLvmLinks } from './guest.js';
import { REPO_DIR } from './agent-process.js';
import { NodeKubelet, registerVmNode } from './node-kubelet.js';
import { waitFor } from '../../support/wait.js';
import { TcpProxy } from './tcp-proxy.js';

export { waitFor } from '../../support/wait.js';

/** Namespace of the operator's agent DaemonSets in the system tests. */
export const SYSTEM_NAMESPACE = 'thinpool-system';
/** The Node object that stands for the VM. */
export const VM_NODE = 'thinpool-vm';

const THINPOOLS = '/apis/thinpool.dev/v1alpha1/thinpools';
const THINPOOLNODES = '/apis/thinpool.dev/v1alpha1/thinpoolnodes';

/** Options of {@link SystemUnderTest.start}. */
export interface SystemOptions {
  /** Names the log directory (`test-results/system/<name>/`). */
  name: string;
  /** The VM broker socket (default `THINPOOL_VM_SOCKET`). */
  vmSocket?: string;
  /** Extra `thinpool-agent run` flags. */
  agentArgs?: string[];
  /** Put a cuttable TCP proxy between the agents and the API server. */
  proxy?: boolean;
}

function fileLogger(file: string): winston.Logger {
  return winston.createLogger({
    level: 'info',
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.File({ filename: file })],
  });
}

/**
 * The whole system on one machine: the API emulator (real HTTP, real client-node and kubectl), the
 * operator (its real code, in this process), and the VM as the one Node, whose agents run as processes of
 * the real `thinpool-agent run` code with the VM guest as their host (real LVM on virtio disks), started
 * and probed by a {@link NodeKubelet}.
 */
export class SystemUnderTest {
  private constructor(
    readonly api: RunningApiServer,
    readonly client: KubeClient,
    readonly kubeconfig: string,
    readonly operator: Operator,
    readonly kubelet: NodeKubelet,
    readonly logDir: string,
    readonly proxy?: TcpProxy,
  ) {}

  /** Starts the emulator, the Node, the operator and the node's kubelet stand-in. */
  static async start(options: SystemOptions): Promise<SystemUnderTest> {
    const vmSocket = options.vmSocket ?? process.env.THINPOOL_VM_SOCKET;
    if (!vmSocket) throw new Error('No VM broker socket (THINPOOL_VM_SOCKET)');
    // One directory per run: several runs of the suite may share the checkout.
    const logDir = path.join(REPO_DIR, 'test-results', 'system', `${options.name}-${process.pid}`);
    mkdirSync(logDir, { recursive: true });
    const api = await startApiServer({ crdDir: path.join(REPO_DIR, 'crds') });
    const kubeconfig = path.join(logDir, 'kubeconfig');
    await api.writeKubeconfig(kubeconfig);
    let agentKubeconfig = kubeconfig;
    let proxy: TcpProxy | undefined;
    if (options.proxy) {
      const url = new URL(api.url);
      proxy = new TcpProxy(url.hostname, Number(url.port));
      await proxy.listen();
      agentKubeconfig = path.join(logDir, 'agent-kubeconfig');
      await writeFile(agentKubeconfig, stringify(kubeconfigDocument(proxy.url)), { mode: 0o600 });
    }
    const client = new KubeClient(api.kubeConfig());
    const nodeLabels = await registerVmNode(client, SYSTEM_NAMESPACE, VM_NODE);
    const operator = new Operator({
      kubeConfig: api.kubeConfig(),
      settings: { ...DEFAULT_SETTINGS, namespace: SYSTEM_NAMESPACE },
      logger: fileLogger(path.join(logDir, 'operator.log')),
      informers: { relistPeriodMs: 0, watchTimeoutSeconds: [30, 60], thinPoolResyncPeriodMs: 0 },
    });
    await operator.start();
    const kubelet = new NodeKubelet({
      client,
      nodeName: VM_NODE,
      nodeLabels,
      namespace: SYSTEM_NAMESPACE,
      agentKubeconfig,
      vmSocket,
      logDir,
      agentArgs: options.agentArgs,
    });
    kubelet.start();
    return new SystemUnderTest(api, client, kubeconfig, operator, kubelet, logDir, proxy);
  }

  /** Runs the real `kubectl` against the emulator. */
  async kubectl(
    args: string[],
    input?: string,
  ): Promise<{ stdout: string; stderr: string; exitCode: number }> {
    const result = await execa(toolPath('kubectl'), ['--kubeconfig', this.kubeconfig, ...args], {
      input,
      reject: false,
    });
    return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? -1 };
  }

  /** `kubectl apply -f -` of a manifest; throws with kubectl's output when it fails. */
  async apply(manifest: string): Promise<string> {
    const result = await this.kubectl(['apply', '-f', '-'], manifest);
    if (result.exitCode !== 0) throw new Error(`kubectl apply failed: ${result.stderr}`);
    return result.stdout;
  }

  /** `kubectl apply` of a ThinPool with this name and spec. */
  applyThinPool(name: string, spec: Record<string, unknown>): Promise<string> {
    return this.apply(
      stringify({ apiVersion: 'thinpool.dev/v1alpha1', kind: 'ThinPool', metadata: { name }, spec }),
    );
  }

  /** The ThinPool, or `undefined` when it does not exist. */
  thinPool(name: string): Promise<ThinPool | undefined> {
    return this.getOrUndefined<ThinPool>(`${THINPOOLS}/${name}`);
  }

  /** The ThinPoolNode of the pool on the VM node, or `undefined`. */
  thinPoolNode(pool: string): Promise<ThinPoolNode | undefined> {
    return this.getOrUndefined<ThinPoolNode>(`${THINPOOLNODES}/${pool}.${VM_NODE}`);
  }

  /** Events about an object of `kind` and `name`. */
  async events(kind: string, name: string): Promise<EventObject[]> {
    const list = await this.client.list<EventObject>('/api/v1/namespaces/default/events');
    return list.items.filter((e) => e.involvedObject.kind === kind && e.involvedObject.name === name);
  }

  /** Waits for the ThinPool's condition `type` to have `status` (and `reason`, when given). */
  waitForCondition(
    pool: string,
    type: string,
    status: 'True' | 'False',
    reason?: string,
    timeoutMs = 300_000,
  ) {
    return waitFor(
      async () => {
        const tp = await this.thinPool(pool);
        const condition = tp?.status?.conditions?.find((c) => c.type === type);
        return condition?.status === status && (!reason || condition.reason === reason) ? tp : undefined;
      },
      `ThinPool ${pool} ${type}=${status}${reason ? ` (${reason})` : ''}`,
      timeoutMs,
    );
  }

  /** Stops the kubelet (and the agents), the operator, the proxy and the emulator. */
  async stop(): Promise<void> {
    await this.kubelet.stop();
    await this.operator.stop();
    await this.proxy?.close();
    await this.api.stop();
  }

  private async getOrUndefined<T>(objectPath: string): Promise<T | undefined> {
    try {
      return await this.client.get<T>(objectPath);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}

/** The VM and the system of a system test file (see {@link useSystem}). */
export interface SystemHandle {
  readonly vm: GuestVm;
  readonly system: SystemUnderTest;
}

/**
 * The VM (with its lease) and a fresh system for the enclosing suite, in one `beforeAll` and one `afterAll`
 * so the order is certain: the guest is reset before the system starts, and the agents are stopped before
 * the lease goes to the next test file (an agent left running would rebuild its pool in the next file's VM).
 */
export function useSystem(options: Omit<SystemOptions, 'vmSocket'>): SystemHandle {
  let vm: GuestVm | undefined;
  let system: SystemUnderTest | undefined;
  jest.setTimeout(VM_TEST_TIMEOUT_MS);
  beforeAll(async () => {
    vm = await connectVm();
    await vm.acquire();
    await vm.reset();
    await removeStaleLvmLinks(vm);
    system = await SystemUnderTest.start(options);
  });
  afterAll(async () => {
    try {
      await system?.stop();
    } finally {
      await vm?.release();
      await vm?.close();
    }
  });
  return {
    get vm(): GuestVm {
      if (!vm) throw new Error('useSystem(): the VM is only available inside tests and hooks');
      return vm;
    },
    get system(): SystemUnderTest {
      if (!system) throw new Error('useSystem(): the system is only available inside tests and hooks');
      return system;
    },
  };
}
