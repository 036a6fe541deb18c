import { describe, expect, it } from '@jest/globals';
import { USAGE, parseBindAddress, parseDuration, parseFlags } from '../../operator/flags.js';

describe('parseFlags', () => {
  it('has the documented defaults', () => {
    const parsed = parseFlags([]);
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    expect(parsed.flags).toMatchObject({
      help: false,
      metricsBindAddress: ':8080',
      healthProbeBindAddress: ':8081',
      leaderElect: true,
      leaseName: 'thinpool-operator-leader',
      timings: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
      workers: 2,
      batchPeriodMs: 200,
    });
    expect(parsed.flags.settings.namespace).toBe('thinpool-system');
    expect(parsed.flags.settings.agentPort).toBe(9842);
    expect(parsed.flags.settings.drainRetryMs).toBe(5000);
  });

  it('takes the namespace and agent image from the environment, flags winning', () => {
    const env = { POD_NAMESPACE: 'storage', THINPOOL_AGENT_IMAGE: 'example/agent:1' };
    const fromEnv = parseFlags([], env);
    expect(fromEnv.ok && fromEnv.flags.settings).toMatchObject({
      namespace: 'storage',
      agentImage: 'example/agent:1',
    });
    const fromFlags = parseFlags(['--namespace', 'ops', '--agent-image=example/agent:2'], env);
    expect(fromFlags.ok && fromFlags.flags.settings).toMatchObject({
      namespace: 'ops',
      agentImage: 'example/agent:2',
    });
  });

  it('parses every flag form', () => {
    const parsed = parseFlags([
      '--kubeconfig=/tmp/kc',
      '--leader-elect=false',
      '--leader-elect-lease-duration',
      '3s',
      '--leader-elect-renew-deadline=2s',
      '--leader-elect-retry-period=500ms',
      '--metrics-bind-address=127.0.0.1:0',
      '--health-probe-bind-address',
      '0',
      '--agent-image-pull-policy=Always',
      '--agent-not-ready-grace=1m30s',
      '--workers=4',
      '--status-batch-period=50ms',
      '--drain-retry',
      '1m30s',
    ]);
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    expect(parsed.flags).toMatchObject({
      kubeconfig: '/tmp/kc',
      leaderElect: false,
      timings: { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 },
      metricsBindAddress: '127.0.0.1:0',
      healthProbeBindAddress: '0',
      workers: 4,
      batchPeriodMs: 50,
    });
    expect(parsed.flags.settings).toMatchObject({
      agentImagePullPolicy: 'Always',
      agentNotReadyGraceMs: 90_000,
      drainRetryMs: 90_000,
    });
    expect(parseFlags(['--drain-retry=250ms'])).toMatchObject({
      ok: true,
      flags: { settings: { drainRetryMs: 250 } },
    });
  });

  it('reports every bad flag, naming it', () => {
    const parsed = parseFlags([
      '--agent-image-pull-policy=Sometimes',
      '--leader-elect-lease-duration=5s',
      '--workers=0',
      '--metrics-bind-address=localhost',
      '--namespace=Bad_NS',
      '--drain-retry=0s',
      '--bogus=1',
      'stray',
    ]);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors).toEqual(
      expect.arrayContaining([
        'unexpected argument "stray"',
        '--agent-image-pull-policy: Unsupported value "Sometimes": must be Always, IfNotPresent or Never',
        'leader election: leaseDuration must be greater than renewDeadline',
        '--workers: Invalid value "0": must be an integer from 1 to 64',
        '--metrics-bind-address: Invalid value "localhost": must be host:port, :port or 0',
        '--namespace: Invalid value "Bad_NS": must be a DNS-1123 label',
        '--drain-retry: Invalid value "0s": must be a duration of at least 100 ms, such as 10s',
        'unknown flag --bogus',
      ]),
    );
  });

  it('refuses a --drain-retry that is not a duration, keeping nothing of it', () => {
    for (const value of ['5', 'soon', '-1s']) {
      const parsed = parseFlags([`--drain-retry=${value}`]);
      expect(parsed).toEqual({
        ok: false,
        errors: [
          `--drain-retry: Invalid value "${value}": must be a duration of at least 100 ms, such as 10s`,
        ],
      });
    }
  });

  it('documents every flag it takes in --help', () => {
    expect(USAGE).toMatch(
      /^ {2}--drain-retry DURATION +.*\(evictions a\n.*PodDisruptionBudget refused\).*\(default 5s\)$/m,
    );
    for (const flag of USAGE.matchAll(/^ {2}(?:-h, )?(--[a-z-]+)/gm)) {
      const name = flag[1]!;
      if (name === '--help') continue;
      const parsed = parseFlags([name]);
      expect({ name, unknown: !parsed.ok && parsed.errors.includes(`unknown flag ${name}`) }).toEqual({
        name,
        unknown: false,
      });
    }
  });

  it('accepts --help even next to other flags', () => {
    const parsed = parseFlags(['-h']);
    expect(parsed.ok && parsed.flags.help).toBe(true);
  });
});

describe('parseDuration and parseBindAddress', () => {
  it('parses Go-style durations', () => {
    expect(['500ms', '15s', '1m30s', '2h', '1.5s'].map(parseDuration)).toEqual([
      500, 15_000, 90_000, 7_200_000, 1500,
    ]);
    expect(['15', 's', '1d', '-1s'].map(parseDuration)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('parses bind addresses', () => {
    expect(parseBindAddress(':8080')).toEqual({ host: '', port: 8080 });
    expect(parseBindAddress('127.0.0.1:9')).toEqual({ host: '127.0.0.1', port: 9 });
    expect(parseBindAddress('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(parseBindAddress('0')).toBe('disabled');
    expect(parseBindAddress(':70000')).toBeUndefined();
  });
});
