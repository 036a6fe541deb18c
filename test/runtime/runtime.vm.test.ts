/**
 * The container runtime on the pool, with the real daemons in the VM (Debian's docker.io 20.10 and
 * containerd 1.6, no systemd: Docker restarts through its init script, containerd by signal). Pools are
 * made with plain LVM commands; the runtime module observes, plans, applies and waits for the host-side
 * one-shot exactly as the standalone agent does.
 */
import { expect, it } from '@jest/globals';
import { createLogger } from '../../common/logger.js';
import type { Host } from '../../node-agent/host/host.js';
import { applyRuntimeActions } from '../../node-agent/runtime/apply.js';
import { reconcileRuntime, type RuntimeSpecSource } from '../../node-agent/runtime/index.js';
import { parse as parseToml } from 'smol-toml';
import { describeVm, useGuest } from '../vm/guest.js';
import {
  DOCKER,
  makeBusyboxTarball,
  makeThinPool,
  poolDataUsedBytes,
  prepareDevmapperSnapshot,
  restoreRuntimeFilesAfterEach,
  startContainerd,
  startDockerWithInitScript,
} from './guest-runtime.js';

const logger = createLogger('runtime-vm-test');
const MiB = 2 ** 20;
const TARBALL = '/var/tmp/busybox.tar';

function dockerSpec(docker: Record<string, unknown> = {}, volumeGroup = 'dock-vg'): RuntimeSpecSource {
  return {
    volumeGroup,
    thinPoolName: 'thinpool',
    // The guest has no udev: Docker refuses devicemapper there unless told to skip the udev sync check.
    runtime: { type: 'docker', docker: { overrideUdevSyncCheck: true, ...docker } },
  };
}

async function dockerInfo(vm: Host) {
  const { stdout } = await vm.run([DOCKER, 'info', '--format', '{{json .}}']);
  const info = JSON.parse(stdout) as { Driver: string; DriverStatus: [string, string][] | null };
  return { driver: info.Driver, poolName: info.DriverStatus?.find(([k]) => k === 'Pool Name')?.[1] };
}

/** Docker running from `daemonJson` (init script), with `image` imported from a busybox tarball. */
async function startDockerWithImage(vm: Host, daemonJson: string, image: string) {
  await vm.run(['mkdir', '-p', '/etc/docker']);
  await vm.writeFile('/etc/docker/daemon.json', daemonJson);
  await startDockerWithInitScript(vm);
  await makeBusyboxTarball(vm, TARBALL);
  await vm.run([DOCKER, 'import', TARBALL, image]);
}

async function sha256(vm: Host, path: string): Promise<string> {
  return (await vm.run(['sha256sum', path])).stdout.split(' ')[0]!;
}

describeVm('the container runtime on the pool, with the real daemons', () => {
  const guest = useGuest();
  restoreRuntimeFilesAfterEach(guest);

  it('Docker: switches a plain daemon.json with other keys to devicemapper on the pool, and containers write into it', async () => {
    const { vm } = guest;
    await makeThinPool(vm, 'dock-vg', 'thinpool', vm.disk('disk1').byIdPath);
    const plain =
      '{\n  "log-level": "warn",\n  "labels": ["purpose=thinpool-test"],\n  "storage-driver": "vfs"\n}\n';
    await startDockerWithImage(vm, plain, 'rt/before:1');

    const first = await reconcileRuntime(vm, dockerSpec(), { mode: 'Apply', wait: true, logger });

    const launch = first.appliedActions.at(-1);
    expect(launch?.kind === 'run' && launch.argv.slice(0, 3)).toEqual(['setsid', '-f', '/bin/sh']);
    expect(first.report.condition).toMatchObject({ status: 'True', reason: 'Configured' });
    expect(await dockerInfo(vm)).toEqual({ driver: 'devicemapper', poolName: 'dock--vg-thinpool' });
    const daemonJson = JSON.parse((await vm.readFile('/etc/docker/daemon.json'))!) as Record<string, unknown>;
    expect(daemonJson).toEqual({
      'log-level': 'warn',
      labels: ['purpose=thinpool-test'],
      'storage-driver': 'devicemapper',
      'storage-opts': [
        'dm.thinpooldev=/dev/mapper/dock--vg-thinpool',
        'dm.use_deferred_removal=true',
        'dm.use_deferred_deletion=true',
        'dm.min_free_space=10%',
        'dm.override_udev_sync_check=true',
      ],
    });
    // The vfs data root was moved aside, as the docs do, with its image still in it.
    const repositories = await vm.readFile('/var/lib/docker.bk/image/vfs/repositories.json');
    expect(repositories).toContain('rt/before');

    await vm.run([DOCKER, 'import', '-c', 'CMD ["/bin/sh"]', TARBALL, 'rt/busybox:1']);
    const before = await poolDataUsedBytes(vm, 'dock-vg', 'thinpool');
    await vm.run([
      DOCKER,
      'run',
      '--name',
      'fill',
      '--network',
      'none',
      'rt/busybox:1',
      'sh',
      '-c',
      'dd if=/dev/zero of=/fill bs=1M count=64 && sync',
    ]);
    const after = await poolDataUsedBytes(vm, 'dock-vg', 'thinpool');
    expect(after - before).toBeGreaterThanOrEqual(63 * MiB);

    const second = await reconcileRuntime(vm, dockerSpec(), { mode: 'Apply', logger });
    expect(second.appliedActions).toEqual([]);
    expect(second.report.condition.reason).toBe('Configured');
  });

  it('Docker: refuses a malformed daemon.json, leaves it byte for byte, and says why', async () => {
    const { vm } = guest;
    const malformed = '{\n  "log-level": "warn",\n}\n';
    await vm.run(['mkdir', '-p', '/etc/docker']);
    await vm.writeFile('/etc/docker/daemon.json', malformed);
    const checksum = await sha256(vm, '/etc/docker/daemon.json');

    const result = await reconcileRuntime(vm, dockerSpec(), { mode: 'Apply', wait: true, logger });

    expect(result.appliedActions).toEqual([]);
    expect(result.report.condition).toMatchObject({ status: 'False', reason: 'MalformedDaemonJson' });
    expect(result.report.status.message).toMatch(
      /^\/etc\/docker\/daemon\.json is not valid JSON: .*left untouched/,
    );
    expect(await sha256(vm, '/etc/docker/daemon.json')).toBe(checksum);
    expect(await vm.readFile('/etc/docker/daemon.json')).toBe(malformed);
    expect(await vm.stat('/var/lib/thinpool-agent/runtime')).toEqual({ exists: false });
  });

  it('Docker: a storage option Docker rejects rolls back to the previous configuration with its data in place', async () => {
    const { vm } = guest;
    await makeThinPool(vm, 'dock-vg', 'thinpool', vm.disk('disk1').byIdPath);
    const original = '{"storage-driver": "vfs", "log-level": "warn"}\n';
    await startDockerWithImage(vm, original, 'rt/keep:1');
    await vm.run([DOCKER, 'create', '--name', 'keeper', 'rt/keep:1', 'true']);

    const spec = dockerSpec({ extraStorageOptions: ['dm.no_such_option=1'] });
    const result = await reconcileRuntime(vm, spec, { mode: 'Apply', wait: true, logger });

    expect(result.report.condition).toMatchObject({ status: 'False', reason: 'RolledBack' });
    expect(result.report.status.message).toContain('devmapper: Unknown option dm.no_such_option');
    expect(await vm.readFile('/etc/docker/daemon.json')).toBe(original);
    expect((await dockerInfo(vm)).driver).toBe('vfs');
    await vm.run([DOCKER, 'image', 'inspect', 'rt/keep:1']);
    const containers = await vm.run([DOCKER, 'ps', '-a', '--format', '{{.Names}}']);
    expect(containers.stdout.split('\n')).toContain('keeper');
    expect(await vm.stat('/var/lib/docker.bk')).toEqual({ exists: false });

    const again = await reconcileRuntime(vm, spec, { mode: 'Apply', wait: true, logger });
    expect(again.appliedActions).toEqual([]);
    expect(again.report.condition.reason).toBe('RolledBack');
  });

  it('Docker: Plan mode changes nothing, and a switch interrupted after installing daemon.json is undone', async () => {
    const { vm } = guest;
    const original = '{"storage-driver": "vfs", "log-level": "warn"}\n';
    await startDockerWithImage(vm, original, 'rt/keep:1');

    const planned = await reconcileRuntime(vm, dockerSpec(), { mode: 'Plan', logger });
    expect(planned.appliedActions).toEqual([]);
    expect(planned.report.condition.reason).toBe('SwitchPlanned');
    expect(planned.report.planLines.at(-1)).toMatch(
      /^setsid -f \/bin\/sh .* --data-root-backup \/var\/lib\/docker\.bk /,
    );
    expect(await vm.readFile('/etc/docker/daemon.json')).toBe(original);
    expect(await vm.stat('/var/lib/thinpool-agent')).toEqual({ exists: false });

    // Everything up to the launch, then what the one-shot does before it is killed (stop, move, install).
    const switchId = planned.plan.outcome.kind === 'switch' ? planned.plan.outcome.switchId : '';
    await applyRuntimeActions(vm, planned.plan.actions.slice(0, -1), logger);
    await vm.run(['/etc/init.d/docker', 'stop']);
    await vm.run(['mv', '/var/lib/docker', '/var/lib/docker.bk']);
    await vm.run(['cp', '/var/lib/thinpool-agent/runtime/docker.next', '/etc/docker/daemon.json']);
    const deadPid = (await vm.run(['sh', '-c', 'echo $$'])).stdout.trim();
    await vm.writeFile(
      '/var/lib/thinpool-agent/runtime/docker-result',
      [
        `id=${switchId}`,
        'runtime=docker',
        'state=running',
        `pid=${deadPid}`,
        'started=2026-01-01T00:00:00Z',
        'updated=2026-01-01T00:00:05Z',
        'step=configured',
        'moved=yes',
        'configured=yes',
        'verified=',
        'message=installed /etc/docker/daemon.json',
        '',
      ].join('\n'),
    );

    const recovered = await reconcileRuntime(vm, dockerSpec(), { mode: 'Apply', wait: true, logger });

    const launch = recovered.appliedActions.at(-1);
    expect(launch?.kind === 'run' && launch.argv.slice(4, 6)).toEqual(['--mode', 'recover']);
    expect(await vm.readFile('/var/lib/thinpool-agent/runtime/docker-result')).toMatch(/^state=recovered$/m);
    expect(await vm.readFile('/etc/docker/daemon.json')).toBe(original);
    expect(await vm.stat('/var/lib/docker.bk')).toEqual({ exists: false });
    expect((await dockerInfo(vm)).driver).toBe('vfs');
    await vm.run([DOCKER, 'image', 'inspect', 'rt/keep:1']);
    // Undone, not given up: the next reconcile switches again.
    expect(recovered.plan.outcome).toMatchObject({ kind: 'switch', switchId });
  });

  it('containerd: the devmapper snapshotter loads on our pool, a ctr snapshot lands in it, and Docker may not share it', async () => {
    const { vm } = guest;
    await makeThinPool(vm, 'ctrd', 'thinpool', vm.disk('disk2').byIdPath);
    const originalToml = (await vm.readFile('/etc/containerd/config.toml'))!;
    await startContainerd(vm);
    const spec: RuntimeSpecSource = {
      volumeGroup: 'ctrd',
      thinPoolName: 'thinpool',
      // DM_DISABLE_UDEV=1: without udev, dmsetup would wait for /dev/mapper nodes that never appear.
      runtime: { type: 'containerd', containerd: { baseImageSize: '1Gi', disableUdev: true } },
    };

    const result = await reconcileRuntime(vm, spec, { mode: 'Apply', wait: true, logger });

    expect(result.report.condition).toMatchObject({ status: 'True', reason: 'Configured' });
    const plugins = await vm.run(['ctr', 'plugins', 'ls']);
    expect(plugins.stdout).toMatch(/^io\.containerd\.snapshotter\.v1\s+devmapper\s+\S+\s+ok\s*$/m);
    const toml = (await vm.readFile('/etc/containerd/config.toml'))!;
    expect(toml.startsWith(originalToml)).toBe(true);
    expect(parseToml(toml)).toMatchObject({
      version: 2,
      plugins: {
        'io.containerd.grpc.v1.cri': { cni: { bin_dir: '/usr/lib/cni' } },
        'io.containerd.snapshotter.v1.devmapper': {
          pool_name: 'ctrd-thinpool',
          root_path: '/var/lib/containerd/devmapper',
          base_image_size: '1GiB',
          discard_blocks: true,
        },
      },
    });

    const before = await poolDataUsedBytes(vm, 'ctrd', 'thinpool');
    const { table, pool } = await prepareDevmapperSnapshot(vm, 'thinpool-test-snap');
    expect(table[2]).toBe('thin');
    expect(table[3]).toBe(pool);
    expect(await poolDataUsedBytes(vm, 'ctrd', 'thinpool')).toBeGreaterThan(before);

    const docker = await reconcileRuntime(vm, dockerSpec({}, 'ctrd'), { mode: 'Apply', wait: true, logger });
    expect(docker.appliedActions).toEqual([]);
    expect(docker.report.condition).toMatchObject({ status: 'False', reason: 'PoolUsedByOtherRuntime' });
  });
});
