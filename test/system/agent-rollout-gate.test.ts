import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { ThinPoolNode } from '../../api/v1alpha1/types.js';
import type { ThinPoolAgent } from '../../node-agent/cluster/agent.js';
import type { FileStat, Host, RunOptions, RunResult } from '../../node-agent/host/host.js';
import { AgentMetrics } from '../../node-agent/metrics/agent-metrics.js';
import { renderProfile } from '../../node-agent/plan/profile.js';
import { desiredStorageOptions, mergeDaemonJson } from '../../node-agent/runtime/index.js';
import type { KubeClient } from '../../common/kube/kube-client.js';
import type { RunningApiServer } from '../support/kube-apiserver/index.js';
import { agentSpec } from '../agent/support/fixtures.js';
import {
  fixture,
  POOL_SERIES,
  reconcileOnce,
  recordedRead,
  startAgent as startAgentOn,
  startClusterWithPool,
  THINPOOLS,
  TPN,
} from './support/agent-on-emulator.js';
import { metricValue } from './support/agent-process.js';

const PLAIN_DAEMON_JSON = '{\n  "log-level": "warn"\n}\n';
/** What the agent writes into daemon.json for the ThinPool of these tests (defaults of runtime.docker). */
const CONFIGURED_DAEMON_JSON = mergeDaemonJson(
  { 'log-level': 'warn' },
  PLAIN_DAEMON_JSON,
  desiredStorageOptions('docker', 'thinpool', {
    deferredRemoval: true,
    deferredDeletion: true,
    minFreeSpacePercent: 10,
    overrideUdevSyncCheck: false,
    extraStorageOptions: [],
  }),
).content;

const DIRECTORY: FileStat = { exists: true, type: 'directory', sizeBytes: 4096, mode: 0o755, mtimeMs: 0 };
const FILE: FileStat = { exists: true, type: 'file', sizeBytes: 100, mode: 0o755, mtimeMs: 0 };
const BLOCK: FileStat = { exists: true, type: 'block-device', sizeBytes: 0, mode: 0o660, mtimeMs: 0 };

/**
 * A node with a complete pool (LVM output recorded in the VM, test/fixtures/lvm) and Docker 20.10 running
 * with the vfs driver (its recorded `docker info`), or already on our pool. It records every change and
 * pretends it worked (the host-side one-shot is launched, never run): every runtime switch itself is
 * tested for real against the daemons in the VM suites.
 */
class DockerNode implements Host {
  readonly kind = 'recorded';
  readonly mutations: string[] = [];
  docker: 'vfs' | 'pool' = 'vfs';
  /** Files of the agent's state directory (the one-shot's result and request). */
  readonly stateFiles = new Map<string, string>();

  async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const out = (stdout: string, exitCode = 0): RunResult => ({
      argv,
      exitCode,
      stdout,
      stderr: '',
      durationMs: 1,
    });
    const recorded = await recordedRead(argv, options, 'pool');
    if (recorded) return recorded;
    const [program, first] = argv;
    if (program === 'pgrep') return argv.at(-1) === 'dockerd' ? out('4242\n') : out('', 1);
    if (program === 'cat' && first === '/proc/4242/cmdline') return out('/usr/sbin/dockerd\0-H\0fd://\0');
    if (program === 'cat' && first === '/proc/4242/environ') return out('PATH=/usr/bin\0');
    if (program === 'stat' && first === '-L') return out('2049\n2049\n');
    // No one-shot process is alive.
    if (program === 'test' && first === '-d') return out('', 1);
    if (program === '/usr/bin/docker' && first === 'info') {
      const info = JSON.parse(fixture('runtime', 'docker-info-devicemapper.json')) as {
        DriverStatus: string[][];
      };
      info.DriverStatus[0] = ['Pool Name', 'docker-thinpool'];
      return out(this.docker === 'pool' ? JSON.stringify(info) : fixture('runtime', 'docker-info-vfs.json'));
    }
    this.mutations.push(argv.join(' '));
    return out('');
  }

  async readFile(file: string): Promise<string | undefined> {
    if (file === agentSpec().profilePath) return renderProfile(agentSpec());
    if (file === '/etc/docker/daemon.json')
      return this.docker === 'pool' ? CONFIGURED_DAEMON_JSON : PLAIN_DAEMON_JSON;
    return this.stateFiles.get(file);
  }

  async writeFile(file: string): Promise<void> {
    this.mutations.push(`write-file ${file}`);
  }

  async stat(file: string): Promise<FileStat> {
    if (file.startsWith('/dev/')) return BLOCK;
    if (file === '/usr/sbin/dockerd' || file === '/etc/init.d/docker') return FILE;
    if (file === '/var/lib/docker') return DIRECTORY;
    return { exists: false };
  }
}

describe("the agent's runtime switch waits for the operator's rollout", () => {
  let api: RunningApiServer;
  let client: KubeClient;
  let node: DockerNode;
  let agent: ThinPoolAgent;
  let metrics: AgentMetrics;

  async function startAgent(): Promise<void> {
    metrics = new AgentMetrics({ thinpool: 'docker', node: 'n1' });
    agent = await startAgentOn(api, { host: node, metrics, dmEvents: false });
  }

  const reconcile = () => reconcileOnce(agent);

  const runtimeGauges = async () => {
    const text = await metrics.render();
    return {
      configured: metricValue(text, 'thinpool_runtime_configured', POOL_SERIES),
      awaitingRollout: metricValue(text, 'thinpool_runtime_awaiting_rollout', POOL_SERIES),
    };
  };

  const runtimeCondition = async () =>
    (await client.get<ThinPoolNode>(TPN)).status?.conditions?.find((c) => c.type === 'RuntimeConfigured');

  beforeEach(async () => {
    node = new DockerNode();
    ({ api, client } = await startClusterWithPool({ runtime: { type: 'docker' } }));
  });

  afterEach(async () => {
    await agent?.stop();
    await api.stop();
  });

  it('reports AwaitingRollout with what it would do, changes nothing, and switches once Allowed', async () => {
    await startAgent();
    const waiting = await runtimeCondition();
    expect(waiting).toMatchObject({ status: 'False', reason: 'AwaitingRollout' });
    expect(waiting?.message).toMatch(
      /^Switching Docker to pool docker-thinpool \(switch [0-9a-f]{12}\) waits for the operator's rollout to allow this node \(ThinPoolNode spec\.runtimeSwitch Allowed\)\. Would run: /,
    );
    expect(waiting?.message).toContain('/etc/docker/daemon.json');
    const tpn = await client.get<ThinPoolNode>(TPN);
    expect(tpn.status?.runtime).toMatchObject({ type: 'docker', configured: false });
    expect(tpn.status?.phase).toBe('Ready');
    await reconcile();
    expect(node.mutations).toEqual([]);
    // Queued, not failed: the alert on thinpool_runtime_configured leaves this node alone.
    expect(await runtimeGauges()).toEqual({ configured: 0, awaitingRollout: 1 });

    // Draining is not yet a permission.
    await client.patch(TPN, { spec: { runtimeSwitch: 'Draining' } });
    await reconcile();
    expect(node.mutations).toEqual([]);
    expect((await runtimeCondition())?.reason).toBe('AwaitingRollout');

    await client.patch(TPN, { spec: { runtimeSwitch: 'Allowed' } });
    await reconcile();
    expect(node.mutations).toContain('write-file /var/lib/thinpool-agent/runtime/runtime-switch.sh');
    expect(node.mutations.at(-1)).toMatch(
      /^setsid -f \/bin\/sh \/var\/lib\/thinpool-agent\/runtime\/runtime-switch\.sh --mode switch .* --expect-pool docker-thinpool /,
    );
    expect(await runtimeCondition()).toMatchObject({ status: 'False', reason: 'Switching' });
    expect(await runtimeGauges()).toEqual({ configured: 0, awaitingRollout: 0 });
  });

  it('undoes an interrupted switch at once, without waiting for its turn', async () => {
    const stateDir = '/var/lib/thinpool-agent/runtime';
    node.stateFiles.set(
      `${stateDir}/docker-result`,
      'id=0123456789ab\nattempt=1\nruntime=docker\nstate=running\npid=999\nstep=moved\nmoved=yes\n',
    );
    node.stateFiles.set(
      `${stateDir}/docker-request.json`,
      JSON.stringify({
        id: '0123456789ab',
        systemdRun: false,
        args: ['--mode', 'switch', '--id', '0123456789ab', '--attempt', '1', '--runtime', 'docker'],
      }),
    );
    await startAgent();
    expect(node.mutations.at(-1)).toMatch(/runtime-switch\.sh --mode recover --id 0123456789ab --attempt 2 /);
    expect(await runtimeCondition()).toMatchObject({ status: 'False', reason: 'Switching' });
    expect((await client.get<ThinPoolNode>(TPN)).spec.runtimeSwitch).toBeUndefined();
  });

  it('needs no permission on a node whose runtime already uses the pool', async () => {
    node.docker = 'pool';
    await startAgent();
    await reconcile();
    // It never asked (the one read is the status at start): the permission is read only to switch.
    expect(api.requestLog.count({ verb: 'get', resource: 'thinpoolnodes' })).toBe(1);
    expect(await runtimeCondition()).toMatchObject({ status: 'True', reason: 'Configured' });
    expect(await runtimeGauges()).toEqual({ configured: 1, awaitingRollout: 0 });
    expect(node.mutations).toEqual([]);
  });

  it('leaves runtime.type none alone, with no permission to ask for', async () => {
    await client.patch(`${THINPOOLS}/docker`, { spec: { runtime: { type: 'none' } } });
    await startAgent();
    expect(await runtimeCondition()).toMatchObject({ status: 'True', reason: 'NotRequested' });
    expect(node.mutations).toEqual([]);
  });
});
