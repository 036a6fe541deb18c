import { describe, expect, it } from '@jest/globals';
import { parseRunArgs } from '../../node-agent/cluster/options.js';

const POD_ENV = {
  NODE_NAME: 'worker-1',
  THINPOOL_NAME: 'docker',
  THINPOOL_AGENT_PORT: '9842',
  THINPOOL_HOST_ROOT: '/host',
  KUBERNETES_SERVICE_HOST: '10.96.0.1',
};

describe('thinpool-agent run options', () => {
  it('takes everything from the environment the operator DaemonSet gives', () => {
    const parsed = parseRunArgs([], POD_ENV);
    expect(parsed).toEqual({
      ok: true,
      options: {
        help: false,
        kubeconfig: undefined,
        nodeName: 'worker-1',
        thinPoolName: 'docker',
        intervalMs: 10_000,
        heartbeatMs: 600_000,
        bindAddress: { host: '', port: 9842 },
        host: 'nsenter',
        hostRoot: '/host',
        dmEvents: true,
        shutdownTimeoutMs: 110_000,
      },
    });
  });

  it('lets flags override the environment, and runs locally outside a pod', () => {
    const parsed = parseRunArgs(
      [
        '--node=n2',
        '--thinpool',
        'loop',
        '--interval',
        '2s',
        '--heartbeat-interval=1m',
        '--metrics-bind-address',
        '127.0.0.1:0',
        '--dm-events=false',
        '--kubeconfig',
        '/tmp/kc',
      ],
      { NODE_NAME: 'n1', THINPOOL_NAME: 'docker' },
    );
    expect(parsed.ok && parsed.options).toMatchObject({
      nodeName: 'n2',
      thinPoolName: 'loop',
      intervalMs: 2000,
      heartbeatMs: 60_000,
      bindAddress: { host: '127.0.0.1', port: 0 },
      host: 'local',
      dmEvents: false,
      kubeconfig: '/tmp/kc',
    });
  });

  it('names every problem of a bad command line', () => {
    const parsed = parseRunArgs(
      ['--interval', 'soon', '--host', 'ssh', '--metrics-bind-address', '0', '--colour', 'x', 'stray'],
      { NODE_NAME: 'Bad_Node', THINPOOL_NAME: '' },
    );
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.errors).toEqual([
      'unexpected argument "stray"',
      'node name "Bad_Node" is not a valid Kubernetes node name',
      'the ThinPool name is missing: set THINPOOL_NAME or --thinpool',
      '--metrics-bind-address: Invalid value "0": must be host:port or :port',
      '--host: Unsupported value "ssh": must be nsenter or local',
      '--interval: Invalid value "soon": must be a duration of at least 100 ms, such as 10s',
      'unknown flag --colour',
    ]);
  });

  it('accepts --help without the required environment', () => {
    const parsed = parseRunArgs(['--help'], {});
    expect(parsed.ok && parsed.options.help).toBe(true);
  });
});
