import { describe, expect, it } from '@jest/globals';
import {
  DEFAULT_RUNTIME_HOST_OPTIONS,
  pathProblem,
  runtimeIntentFromSpec,
  validateHostOptions,
  validateRuntimeIntent,
} from '../../node-agent/runtime/intent.js';
import { flagValue, pickContainerd, pickDockerd } from '../../node-agent/runtime/observe.js';

describe('runtimeIntentFromSpec', () => {
  it("applies the API schema's defaults, never the udev options", () => {
    expect(
      runtimeIntentFromSpec({ volumeGroup: 'docker', thinPoolName: 'thinpool', runtime: { type: 'docker' } }),
    ).toEqual({
      type: 'docker',
      volumeGroup: 'docker',
      thinPoolName: 'thinpool',
      restartStrategy: 'Auto',
      docker: {
        deferredRemoval: true,
        deferredDeletion: true,
        minFreeSpacePercent: 10,
        overrideUdevSyncCheck: false,
        extraStorageOptions: [],
      },
      containerd: {
        rootPath: '/var/lib/containerd/devmapper',
        baseImageSize: '10Gi',
        discardBlocks: true,
        criDefaultSnapshotter: false,
        disableUdev: false,
      },
    });
  });
});

describe('runtimeIntentFromSpec with fields given', () => {
  it('keeps what the spec says and defaults only the rest, without changing the input', () => {
    const runtime = {
      type: 'docker' as const,
      restartStrategy: 'Signal' as const,
      docker: { minFreeSpacePercent: 5, extraStorageOptions: ['dm.basesize=20G'] },
    };
    const intent = runtimeIntentFromSpec({ volumeGroup: 'docker', thinPoolName: 'thinpool', runtime });
    expect(intent.restartStrategy).toBe('Signal');
    expect(intent.docker).toEqual({
      deferredRemoval: true,
      deferredDeletion: true,
      minFreeSpacePercent: 5,
      overrideUdevSyncCheck: false,
      extraStorageOptions: ['dm.basesize=20G'],
    });
    expect(runtime.docker).toEqual({ minFreeSpacePercent: 5, extraStorageOptions: ['dm.basesize=20G'] });
  });
});

describe('validateRuntimeIntent', () => {
  const base = { volumeGroup: 'docker', thinPoolName: 'thinpool' };

  it('accepts the defaults and checks nothing for runtime.type none', () => {
    expect(
      validateRuntimeIntent(runtimeIntentFromSpec({ ...base, runtime: { type: 'containerd' } })),
    ).toEqual([]);
    expect(
      validateRuntimeIntent(runtimeIntentFromSpec({ ...base, volumeGroup: '-x', runtime: { type: 'none' } })),
    ).toEqual([]);
  });

  it("checks the restart strategy and minFreeSpacePercent against the API's enum and bounds", () => {
    const intent = runtimeIntentFromSpec({ ...base, runtime: { type: 'docker' } });
    expect(
      validateRuntimeIntent({
        ...intent,
        restartStrategy: 'Reboot' as never,
        docker: { ...intent.docker, minFreeSpacePercent: 100 },
      }),
    ).toEqual([
      'unknown restart strategy "Reboot"',
      'docker.minFreeSpacePercent 100 must be an integer from 0 to 99',
    ]);
  });

  it('names every problem of a containerd spec', () => {
    const intent = runtimeIntentFromSpec({
      ...base,
      thinPoolName: 'bad name',
      runtime: { type: 'containerd', containerd: { rootPath: '/var/lib/../etc', baseImageSize: '1.5Gi' } },
    });
    expect(validateRuntimeIntent(intent)).toEqual([
      'Invalid LVM logical volume name "bad name": use letters, digits and + _ . -',
      'containerd.rootPath "/var/lib/../etc" must be an absolute, normalised path of letters, digits and . _ @ + - /',
      'containerd.baseImageSize: Invalid size "1.5Gi": use an integer quantity such as 10Gi',
    ]);
  });
});

describe('pathProblem', () => {
  it.each(['relative/path', '/a//b', '/a/./b', '/a/b/', '/a b', '/a;b', '/', '/a/$(x)'])(
    'rejects %s',
    (path) => {
      expect(pathProblem('p', path)).toMatch(/must be an absolute, normalised path/);
    },
  );

  it('accepts an ordinary absolute path', () => {
    expect(pathProblem('p', '/var/lib/thinpool-agent/runtime')).toBeUndefined();
  });
});

describe('validateHostOptions', () => {
  it('accepts the defaults and rejects unsafe paths and tiny timeouts', () => {
    expect(validateHostOptions(DEFAULT_RUNTIME_HOST_OPTIONS)).toEqual([]);
    expect(
      validateHostOptions({ ...DEFAULT_RUNTIME_HOST_OPTIONS, dockerCli: 'docker', restartTimeoutSeconds: 1 }),
    ).toEqual([
      'dockerCli "docker" must be an absolute, normalised path of letters, digits and . _ @ + - /',
      'restartTimeoutSeconds 1 must be an integer of at least 5',
    ]);
  });
});

describe('finding the daemons', () => {
  const dockerManaged = {
    pid: 10,
    argv: ['containerd', '--config', '/var/run/docker/containerd/containerd.toml', '--log-level', 'warn'],
    env: [],
  };
  const system = { pid: 11, argv: ['/usr/bin/containerd'], env: [] };
  const custom = { pid: 12, argv: ['containerd', '-c=/etc/ctrd.toml'], env: [] };

  it('reads flags in both spellings', () => {
    expect(flagValue(['dockerd', '--data-root', '/srv'], '--data-root')).toBe('/srv');
    expect(flagValue(['dockerd', '--data-root=/srv'], '--data-root')).toBe('/srv');
    expect(flagValue(['dockerd', '-g', '/old'], '--data-root', '-g')).toBe('/old');
    expect(flagValue(['dockerd'], '--data-root')).toBeUndefined();
  });

  it("picks the containerd that reads our config file, not Docker's managed one", () => {
    expect(pickContainerd([dockerManaged, system], '/etc/containerd/config.toml')).toBe(system);
    expect(pickContainerd([dockerManaged, system, custom], '/etc/ctrd.toml')).toBe(custom);
    expect(pickContainerd([dockerManaged], '/etc/containerd/config.toml')).toBeUndefined();
  });

  it('picks the dockerd that reads our daemon.json', () => {
    const other = { pid: 20, argv: ['dockerd', '--config-file', '/etc/docker/other.json'], env: [] };
    const ours = { pid: 21, argv: ['/usr/sbin/dockerd', '-p', '/var/run/docker.pid'], env: [] };
    expect(pickDockerd([other, ours], '/etc/docker/daemon.json')).toBe(ours);
  });
});
