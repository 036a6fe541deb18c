import { describe, expect, it } from '@jest/globals';
import { describeRuntimeAction } from '../../node-agent/runtime/apply.js';
import { runtimeReport } from '../../node-agent/runtime/index.js';
import {
  DEFAULT_RUNTIME_HOST_OPTIONS,
  runtimeIntentFromSpec,
  type RuntimeSpecInput,
} from '../../node-agent/runtime/intent.js';
import { CONTAINERD_UDEV_DROP_IN, planRuntime } from '../../node-agent/runtime/plan.js';
import { SWITCH_SCRIPT } from '../../node-agent/runtime/switch-script.js';
import type {
  RuntimeAction,
  RuntimeObserved,
  RuntimePlan,
  SwitchResult,
} from '../../node-agent/runtime/types.js';

const options = DEFAULT_RUNTIME_HOST_OPTIONS;
const POOL = 'docker-thinpool';
const DOCKERD = {
  pid: 812,
  argv: ['/usr/sbin/dockerd', '-p', '/var/run/docker.pid'],
  env: ['PATH=/usr/sbin:/usr/bin'],
};
const CONTAINERD = { pid: 900, argv: ['/usr/bin/containerd'], env: ['PATH=/usr/bin:/bin'] };

function intent(runtime: RuntimeSpecInput, volumeGroup = 'docker') {
  return runtimeIntentFromSpec({ volumeGroup, thinPoolName: 'thinpool', runtime });
}
const docker = intent({ type: 'docker' });
const containerd = intent({ type: 'containerd', containerd: { disableUdev: true } }, 'ctrd');

type Overrides = {
  docker?: Partial<RuntimeObserved['docker']>;
  containerd?: Partial<RuntimeObserved['containerd']>;
  init?: Partial<RuntimeObserved['init']>;
  lastSwitch?: RuntimeObserved['lastSwitch'];
};

/** A Debian host without systemd, Docker running vfs from a daemon.json with other keys. */
function observed(o: Overrides = {}): RuntimeObserved {
  return {
    docker: {
      installed: true,
      config: { exists: true, content: '{"storage-driver":"vfs","log-level":"warn"}\n' },
      info: { reachable: true, serverVersion: '20.10.24', driver: 'vfs', dockerRootDir: '/var/lib/docker' },
      daemon: DOCKERD,
      dataRoot: '/var/lib/docker',
      dataRootExists: true,
      dataRootIsMountPoint: false,
      dataRootBackupExists: false,
      ...o.docker,
    },
    containerd: {
      installed: true,
      config: { exists: true, content: 'version = 2\n' },
      plugins: {
        reachable: true,
        list: [
          {
            type: 'io.containerd.snapshotter.v1',
            id: 'devmapper',
            platforms: 'linux/amd64',
            status: 'error',
          },
        ],
      },
      daemon: CONTAINERD,
      ...o.containerd,
    },
    init: { systemd: false, dockerInitScript: true, containerdInitScript: false, ...o.init },
    ...(o.lastSwitch ? { lastSwitch: o.lastSwitch } : {}),
  };
}

function launch(plan: RuntimePlan): string[] {
  const action = plan.actions.at(-1);
  if (action?.kind !== 'run') throw new Error('the plan does not end with a launch');
  return action.argv;
}

function arg(argv: readonly string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i < 0 ? undefined : argv[i + 1];
}

function written(
  plan: RuntimePlan,
  path: string,
): Extract<RuntimeAction, { kind: 'write-file' }> | undefined {
  return plan.actions.find(
    (a): a is Extract<RuntimeAction, { kind: 'write-file' }> => a.kind === 'write-file' && a.path === path,
  );
}

function result(
  id: string,
  state: SwitchResult['state'],
  runtime: SwitchResult['runtime'] = 'docker',
): SwitchResult {
  return {
    id,
    attempt: 1,
    runtime,
    state,
    pid: 4242,
    started: '2026-11-23T14:31:40Z',
    updated: '2026-11-23T14:32:11Z',
    step: state === 'running' ? 'moved' : 'rolled-back',
    moved: state === 'running',
    configured: false,
    verified: 'storage driver vfs',
    message: 'docker did not come up: failed to start daemon: devmapper: Unknown option dm.x',
  };
}

describe('planRuntime: Docker', () => {
  it('leaves the runtime alone when runtime.type is none', () => {
    expect(planRuntime(intent({ type: 'none' }), observed(), options)).toEqual({
      outcome: { kind: 'not-requested' },
      actions: [],
    });
  });

  it('switches from vfs: backs up, stages, and launches the one-shot that moves /var/lib/docker aside', () => {
    const plan = planRuntime(docker, observed(), options);
    expect(plan.outcome).toMatchObject({ kind: 'switch', switchId: expect.stringMatching(/^[0-9a-f]{12}$/) });
    expect(plan.actions.map((a) => (a.kind === 'run' ? a.argv[0] : a.path))).toEqual([
      'mkdir',
      '/etc/docker/daemon.json.thinpool-backup',
      '/var/lib/thinpool-agent/runtime/docker.next',
      '/var/lib/thinpool-agent/runtime/runtime-switch.sh',
      '/var/lib/thinpool-agent/runtime/docker-request.json',
      'setsid',
    ]);
    expect(written(plan, '/etc/docker/daemon.json.thinpool-backup')?.content).toBe(
      '{"storage-driver":"vfs","log-level":"warn"}\n',
    );
    expect(JSON.parse(written(plan, '/var/lib/thinpool-agent/runtime/docker.next')!.content)).toEqual({
      'storage-driver': 'devicemapper',
      'log-level': 'warn',
      'storage-opts': [
        'dm.thinpooldev=/dev/mapper/docker-thinpool',
        'dm.use_deferred_removal=true',
        'dm.use_deferred_deletion=true',
        'dm.min_free_space=10%',
      ],
    });
    expect(written(plan, '/var/lib/thinpool-agent/runtime/runtime-switch.sh')).toMatchObject({
      content: SWITCH_SCRIPT,
      mode: 0o755,
    });
    const argv = launch(plan);
    expect(argv.slice(0, 4)).toEqual([
      'setsid',
      '-f',
      '/bin/sh',
      '/var/lib/thinpool-agent/runtime/runtime-switch.sh',
    ]);
    expect(arg(argv, '--data-root')).toBe('/var/lib/docker');
    expect(arg(argv, '--data-root-backup')).toBe('/var/lib/docker.bk');
    expect(arg(argv, '--restart')).toBe('init-script');
    expect(arg(argv, '--init-script')).toBe('/etc/init.d/docker');
    expect(arg(argv, '--expect-pool')).toBe(POOL);
    expect(arg(argv, '--docker-cli')).toBe('/usr/bin/docker');
    const steps =
      plan.actions.at(-1)?.kind === 'run' ? (plan.actions.at(-1) as { steps: string[] }).steps : [];
    expect(steps).toContain('Move /var/lib/docker to /var/lib/docker.bk (kept, never deleted)');
    const saved = JSON.parse(written(plan, '/var/lib/thinpool-agent/runtime/docker-request.json')!.content);
    expect(saved).toEqual({
      id: (plan.outcome as { switchId: string }).switchId,
      systemdRun: false,
      args: argv.slice(4),
    });
  });

  it('is deterministic: the same observation gives the same plan', () => {
    expect(planRuntime(docker, observed(), options)).toEqual(planRuntime(docker, observed(), options));
  });

  it('does nothing when daemon.json and docker info already show our pool', () => {
    const first = planRuntime(docker, observed(), options);
    const content = written(first, '/var/lib/thinpool-agent/runtime/docker.next')!.content;
    const plan = planRuntime(
      docker,
      observed({
        docker: {
          config: { exists: true, content },
          info: { reachable: true, serverVersion: '20.10.24', driver: 'devicemapper', poolName: POOL },
        },
      }),
      options,
    );
    expect(plan).toEqual({
      outcome: { kind: 'configured', verified: 'storage driver devicemapper, pool docker-thinpool' },
      actions: [],
    });
  });

  it('keeps the data root when only an option changes on the same pool', () => {
    const plan = planRuntime(
      intent({ type: 'docker', docker: { minFreeSpacePercent: 20 } }),
      observed({
        docker: {
          info: { reachable: true, serverVersion: '20.10.24', driver: 'devicemapper', poolName: POOL },
        },
      }),
      options,
    );
    expect(plan.outcome.kind).toBe('switch');
    expect(arg(launch(plan), '--data-root')).toBeUndefined();
  });

  it('moves the data root when Docker is down and daemon.json selects no driver', () => {
    const plan = planRuntime(
      docker,
      observed({
        docker: { config: { exists: false }, info: { reachable: false, error: 'dockerd is not running' } },
      }),
      options,
    );
    expect(arg(launch(plan), '--data-root-backup')).toBe('/var/lib/docker.bk');
    expect(arg(launch(plan), '--config-existed')).toBe('no');
    expect(written(plan, '/etc/docker/daemon.json.thinpool-backup')).toBeUndefined();
  });

  it('reports Docker not running instead of starting it when the configuration is already ours', () => {
    const content = written(
      planRuntime(docker, observed(), options),
      '/var/lib/thinpool-agent/runtime/docker.next',
    )!.content;
    const plan = planRuntime(
      docker,
      observed({
        docker: {
          config: { exists: true, content },
          info: { reachable: false, error: 'dockerd is not running' },
        },
      }),
      options,
    );
    expect(plan.actions).toEqual([]);
    expect(plan.outcome).toMatchObject({ kind: 'not-verified', reason: 'RuntimeNotRunning' });
  });

  it.each([
    [
      'MalformedDaemonJson',
      { docker: { config: { exists: true, content: '{"a": 1,}' } } },
      /daemon\.json is not valid JSON: .*left untouched/,
    ],
    [
      'RuntimeNotInstalled',
      { docker: { installed: false } },
      /Docker is not installed \(\/usr\/sbin\/dockerd not found\)/,
    ],
    [
      'PoolUsedByOtherRuntime',
      {
        containerd: {
          config: {
            exists: true,
            content:
              'version = 2\n[plugins."io.containerd.snapshotter.v1.devmapper"]\npool_name = "docker-thinpool"\n',
          },
        },
      },
      /containerd's \/etc\/containerd\/config.toml uses pool docker-thinpool/,
    ],
    [
      'StorageFlagConflict',
      { docker: { daemon: { ...DOCKERD, argv: [...DOCKERD.argv, '--storage-driver=overlay2'] } } },
      /dockerd runs with --storage-driver=overlay2 on its command line/,
    ],
    [
      'DataRootBackupExists',
      { docker: { dataRootBackupExists: true } },
      /\/var\/lib\/docker\.bk already exists/,
    ],
    [
      'DataRootIsMountPoint',
      { docker: { dataRootIsMountPoint: true } },
      /\/var\/lib\/docker is on another filesystem than its parent/,
    ],
    [
      'NoRestartStrategy',
      { init: { dockerInitScript: false }, docker: { daemon: undefined } },
      /no way to restart Docker \(Systemd: the host does not run systemd; InitScript: \/etc\/init.d\/docker does not exist; Signal: no running docker daemon/,
    ],
  ] as const)('refuses with %s, planning nothing', (reason, overrides, message) => {
    const plan = planRuntime(docker, observed(overrides as Overrides), options);
    expect(plan.actions).toEqual([]);
    expect(plan.outcome).toMatchObject({ kind: 'refused', reason, message: expect.stringMatching(message) });
  });

  it('refuses an invalid spec with every problem', () => {
    const plan = planRuntime(
      intent({
        type: 'docker',
        docker: { minFreeSpacePercent: 100, extraStorageOptions: ['dm.thinpooldev=/x'] },
      }),
      observed(),
      options,
    );
    expect(plan.outcome).toEqual({
      kind: 'refused',
      reason: 'InvalidRuntimeSpec',
      message:
        'docker.minFreeSpacePercent 100 must be an integer from 0 to 99; dm.thinpooldev is set from its own spec field, not from extra storage options',
    });
  });

  it('uses systemd when it runs the host: a transient unit, and the socket stopped with the service', () => {
    const argv = launch(planRuntime(docker, observed({ init: { systemd: true } }), options));
    expect(argv[0]).toBe('systemd-run');
    expect(argv[1]).toMatch(/^--unit=thinpool-runtime-switch-docker-[0-9a-f]{12}-1$/);
    expect(arg(argv, '--restart')).toBe('systemd');
    expect(argv.filter((_, i) => argv[i - 1] === '--unit')).toEqual(['docker.service', 'docker.socket']);
  });

  it('restarts by signal with the same command line when asked, keeping only allow-listed environment', () => {
    const argv = launch(
      planRuntime(intent({ type: 'docker', restartStrategy: 'Signal' }), observed(), options),
    );
    expect(arg(argv, '--restart')).toBe('signal');
    expect(arg(argv, '--pid')).toBe('812');
    expect(arg(argv, '--reason-log')).toBe('/var/lib/thinpool-agent/runtime/docker-daemon.log');
    expect(argv.slice(argv.indexOf('--') + 1)).toEqual([
      'env',
      '-i',
      'PATH=/usr/sbin:/usr/bin',
      '/usr/sbin/dockerd',
      '-p',
      '/var/run/docker.pid',
    ]);
  });

  it('refuses a strategy the host does not support when it is asked for explicitly', () => {
    const plan = planRuntime(intent({ type: 'docker', restartStrategy: 'Systemd' }), observed(), options);
    expect(plan.outcome).toEqual({
      kind: 'refused',
      reason: 'NoRestartStrategy',
      message: 'no way to restart Docker (Systemd: the host does not run systemd)',
    });
  });

  it('does not retry a switch that rolled back until the spec changes', () => {
    const id = (planRuntime(docker, observed(), options).outcome as { switchId: string }).switchId;
    const failed = planRuntime(
      docker,
      observed({ lastSwitch: { result: result(id, 'rolled-back'), alive: false } }),
      options,
    );
    expect(failed.actions).toEqual([]);
    expect(failed.outcome).toMatchObject({ kind: 'failed', state: 'rolled-back' });
    expect((failed.outcome as { message: string }).message).toContain('Unknown option dm.x');

    const changed = intent({ type: 'docker', docker: { minFreeSpacePercent: 5 } });
    const retried = planRuntime(
      changed,
      observed({ lastSwitch: { result: result(id, 'rolled-back'), alive: false } }),
      options,
    );
    expect(retried.outcome.kind).toBe('switch');
  });

  it('retries a switch whose interrupted run was undone, as a new attempt', () => {
    const id = (planRuntime(docker, observed(), options).outcome as { switchId: string }).switchId;
    const recovered = { ...result(id, 'recovered'), attempt: 2 };
    const plan = planRuntime(docker, observed({ lastSwitch: { result: recovered, alive: false } }), options);
    expect(plan.outcome).toMatchObject({ kind: 'switch', switchId: id, attempt: 3 });
    expect(arg(launch(plan), '--attempt')).toBe('3');
  });

  it('waits for a switch that is still running on the host', () => {
    const plan = planRuntime(
      docker,
      observed({ lastSwitch: { result: result('aaaaaaaaaaaa', 'running'), alive: true } }),
      options,
    );
    expect(plan).toEqual({
      outcome: {
        kind: 'switching',
        switchId: 'aaaaaaaaaaaa',
        message: 'Docker switch aaaaaaaaaaaa is running on the host (step moved)',
      },
      actions: [],
    });
  });

  it('undoes an interrupted switch with its saved request, pointed at the daemon running now', () => {
    const saved = [
      '--mode',
      'switch',
      '--id',
      'aaaaaaaaaaaa',
      '--attempt',
      '1',
      '--pid',
      '7',
      '--restart',
      'signal',
      '--',
      'env',
      '-i',
      'dockerd',
    ];
    const plan = planRuntime(
      docker,
      observed({
        lastSwitch: { result: result('aaaaaaaaaaaa', 'running'), alive: false, requestArgs: saved },
      }),
      options,
    );
    expect(plan.outcome).toMatchObject({ kind: 'switch', switchId: 'aaaaaaaaaaaa', attempt: 2 });
    expect(launch(plan).slice(4)).toEqual([
      '--mode', 'recover', '--id', 'aaaaaaaaaaaa', '--attempt', '2', '--restart', 'signal', '--pid', '812',
      '--', 'env', '-i', 'dockerd',
    ]); // prettier-ignore
  });

  it('reports an interrupted switch it cannot undo', () => {
    const plan = planRuntime(
      docker,
      observed({ lastSwitch: { result: result('aaaaaaaaaaaa', 'running'), alive: false } }),
      options,
    );
    expect(plan.actions).toEqual([]);
    expect(plan.outcome).toMatchObject({ kind: 'failed', state: 'running' });
  });
});

describe('planRuntime: containerd', () => {
  it('switches by signal with DM_DISABLE_UDEV=1 when there is no systemd and no init script', () => {
    const plan = planRuntime(containerd, observed(), options);
    expect(plan.outcome.kind).toBe('switch');
    const argv = launch(plan);
    expect(arg(argv, '--restart')).toBe('signal');
    expect(arg(argv, '--ctr')).toBe('/usr/bin/ctr');
    expect(arg(argv, '--address')).toBe('/run/containerd/containerd.sock');
    expect(argv.slice(argv.indexOf('--') + 1)).toEqual([
      'env',
      '-i',
      'PATH=/usr/bin:/bin',
      'DM_DISABLE_UDEV=1',
      '/usr/bin/containerd',
    ]);
    expect(written(plan, '/var/lib/thinpool-agent/runtime/containerd.next')?.content).toContain(
      'pool_name = "ctrd-thinpool"',
    );
    expect(written(plan, CONTAINERD_UDEV_DROP_IN)).toBeUndefined();
  });

  it('writes a systemd drop-in for DM_DISABLE_UDEV=1 on a systemd host', () => {
    const plan = planRuntime(containerd, observed({ init: { systemd: true } }), options);
    expect(written(plan, CONTAINERD_UDEV_DROP_IN)?.content).toBe(
      '[Service]\nEnvironment=DM_DISABLE_UDEV=1\n',
    );
    expect(plan.actions[0]).toMatchObject({
      kind: 'run',
      argv: ['mkdir', '-p', '/var/lib/thinpool-agent/runtime', '/etc/systemd/system/containerd.service.d'],
    });
  });

  it('skips an init script that cannot pass DM_DISABLE_UDEV and falls back to the signal', () => {
    const plan = planRuntime(containerd, observed({ init: { containerdInitScript: true } }), options);
    expect(arg(launch(plan), '--restart')).toBe('signal');
  });

  it('does nothing when the section is in place and the plugin is ok', () => {
    const content = written(
      planRuntime(containerd, observed(), options),
      '/var/lib/thinpool-agent/runtime/containerd.next',
    )!.content;
    const ok = [
      { type: 'io.containerd.snapshotter.v1', id: 'devmapper', platforms: 'linux/amd64', status: 'ok' },
    ];
    const plan = planRuntime(
      containerd,
      observed({ containerd: { config: { exists: true, content }, plugins: { reachable: true, list: ok } } }),
      options,
    );
    expect(plan).toEqual({
      outcome: { kind: 'configured', verified: 'devmapper snapshotter ok on pool ctrd-thinpool' },
      actions: [],
    });
  });

  it('refuses a pool Docker uses, by daemon.json or by docker info', () => {
    const byConfig = observed({
      docker: {
        config: { exists: true, content: '{"storage-opts":["dm.thinpooldev=/dev/mapper/ctrd-thinpool"]}' },
      },
    });
    const byInfo = observed({
      docker: {
        info: {
          reachable: true,
          serverVersion: '20.10.24',
          driver: 'devicemapper',
          poolName: 'ctrd-thinpool',
        },
      },
    });
    for (const o of [byConfig, byInfo]) {
      expect(planRuntime(containerd, o, options)).toMatchObject({
        outcome: { kind: 'refused', reason: 'PoolUsedByOtherRuntime' },
        actions: [],
      });
    }
  });

  it('refuses a config.toml that is not TOML, leaving it alone', () => {
    const plan = planRuntime(
      containerd,
      observed({ containerd: { config: { exists: true, content: '[plugins\n' } } }),
      options,
    );
    expect(plan).toMatchObject({
      outcome: { kind: 'refused', reason: 'MalformedContainerdConfig' },
      actions: [],
    });
  });
});

describe('runtimeReport', () => {
  it('maps outcomes to the RuntimeConfigured condition, status.runtime and the metric', () => {
    const configured = runtimeReport(
      docker,
      { outcome: { kind: 'configured', verified: 'x' }, actions: [] },
      false,
    );
    expect(configured).toEqual({
      configured: true,
      condition: { type: 'RuntimeConfigured', status: 'True', reason: 'Configured', message: 'Verified: x' },
      status: { type: 'docker', configured: true, message: 'Verified: x' },
      planLines: [],
    });
    expect(
      runtimeReport(intent({ type: 'none' }), { outcome: { kind: 'not-requested' }, actions: [] }, false),
    ).toMatchObject({
      configured: true,
      condition: { status: 'True', reason: 'NotRequested' },
    });
    const failed: RuntimePlan = {
      outcome: { kind: 'failed', switchId: 'a', state: 'rolled-back', message: 'm' },
      actions: [],
    };
    expect(runtimeReport(docker, failed, false).condition).toMatchObject({
      status: 'False',
      reason: 'RolledBack',
    });
  });

  it('tells a launched switch from a planned one, and lists the exact commands', () => {
    const plan = planRuntime(docker, observed(), options);
    expect(runtimeReport(docker, plan, true).condition.reason).toBe('Switching');
    const planned = runtimeReport(docker, plan, false);
    expect(planned.condition.reason).toBe('SwitchPlanned');
    expect(planned.planLines).toEqual(plan.actions.map(describeRuntimeAction));
    expect(planned.planLines[0]).toBe('mkdir -p /var/lib/thinpool-agent/runtime');
    expect(planned.planLines[1]).toBe('write-file /etc/docker/daemon.json.thinpool-backup');
    expect(planned.planLines.at(-1)).toMatch(
      /^setsid -f \/bin\/sh \/var\/lib\/thinpool-agent\/runtime\/runtime-switch\.sh --mode switch /,
    );
  });
});
