/**
 * `thinpool-agent apply` on a plain host with `spec.runtime`: the docker-storage-setup use case, with the
 * real daemons in the VM (Debian's docker.io 20.10 through its init script, containerd 1.6 by signal; the
 * guest has no systemd and no udev). The CLI builds the pool, then switches the runtime through the
 * host-side one-shot and waits for its recorded result. Each test starts a daemon at most three times.
 */
import { beforeEach, expect, it } from '@jest/globals';
import { parse as parseToml } from 'smol-toml';
import type { RunSummary } from '../../node-agent/cli/render.js';
import type { RuntimeSummary } from '../../node-agent/cli/runtime.js';
import type { Host } from '../../node-agent/host/host.js';
import { describeVm, useGuest } from '../vm/guest.js';
import {
  DOCKER,
  TEST_VGS,
  prepareDevmapperSnapshot,
  restoreRuntimeFilesAfterEach,
  startContainerd,
  startDockerWithInitScript,
} from '../runtime/guest-runtime.js';
import { reconcileRuntime } from '../../node-agent/runtime/index.js';
import { agentCli, manifest, quietLog } from './support/guest-agent.js';

/** The read-only commands of a runtime observation (the host port's classifier counts them as changes). */
const RUNTIME_READS = [
  /^\/usr\/bin\/docker info /,
  /^pgrep -x /,
  /^test -d \/proc\//,
  /^\/usr\/bin\/ctr .* plugins ls$/,
];

/** What a CLI run changed on the host: its mutating commands and file writes, without the runtime's reads. */
function changes(mutations: readonly string[]): string[] {
  return mutations.filter((m) => !RUNTIME_READS.some((read) => read.test(m)));
}

function dockerManifest(device: string, docker: Record<string, unknown> = {}): string {
  return manifest({
    volumeGroup: 'dock-vg',
    devices: [{ path: device }],
    // The guest has no udev: Docker refuses devicemapper there unless told to skip the udev sync check.
    runtime: { type: 'docker', docker: { overrideUdevSyncCheck: true, ...docker } },
  });
}

async function dockerInfo(vm: Host) {
  const { stdout } = await vm.run([DOCKER, 'info', '--format', '{{json .}}']);
  const info = JSON.parse(stdout) as { Driver: string; DriverStatus: [string, string][] | null };
  return { driver: info.Driver, poolName: info.DriverStatus?.find(([k]) => k === 'Pool Name')?.[1] };
}

async function dockerdPid(vm: Host): Promise<string> {
  return (await vm.run(['pgrep', '-x', 'dockerd'])).stdout.trim();
}

async function sha256(vm: Host, path: string): Promise<string> {
  return (await vm.run(['sha256sum', path])).stdout.split(' ')[0]!;
}

async function startDockerWith(vm: Host, daemonJson: string): Promise<void> {
  await vm.run(['mkdir', '-p', '/etc/docker']);
  await vm.writeFile('/etc/docker/daemon.json', daemonJson);
  await startDockerWithInitScript(vm);
}

describeVm('thinpool-agent apply configures the container runtime on the pool', () => {
  const guest = useGuest();
  restoreRuntimeFilesAfterEach(guest);
  beforeEach(async () => {
    // A reset can leave the /dev/<vg> link directory in this udev-less guest; vgcreate refuses it.
    await guest.vm.run(['rm', '-rf', '--', ...TEST_VGS.map((vg) => `/dev/${vg}`)]);
  });

  it('Docker: from a plain daemon.json, apply runs exactly the printed steps, docker info shows our pool, other keys stay, and a second apply changes nothing', async () => {
    const { vm } = guest;
    const yaml = dockerManifest(vm.disk('disk1').byIdPath);
    await startDockerWith(vm, '{\n  "log-level": "warn",\n  "storage-driver": "vfs"\n}\n');

    const dryRun = await agentCli(vm, ['apply', '--dry-run', '--output', 'json'], yaml);
    expect(dryRun.code).toBe(0);
    expect(changes(dryRun.mutations)).toEqual([]);
    const runtimePlan = dryRun.json!.runtime!.plan.map((s) => s.command);
    expect(dryRun.json!.runtime).toMatchObject({ outcome: 'switch', condition: { reason: 'SwitchPlanned' } });
    expect(runtimePlan.at(-1)).toMatch(
      /^setsid -f \/bin\/sh \/var\/lib\/thinpool-agent\/runtime\/runtime-switch\.sh /,
    );
    expect(runtimePlan).toContain('write-file /var/lib/thinpool-agent/runtime/docker.next');

    const apply = await agentCli(vm, ['apply', '--output', 'json'], yaml);
    expect(apply.stderr).toBe('');
    expect(apply.code).toBe(0);
    const runtime: RuntimeSummary = apply.json!.runtime!;
    expect(runtime).toMatchObject({
      type: 'docker',
      pool: 'dock--vg-thinpool',
      outcome: 'configured',
      configured: true,
      condition: {
        type: 'RuntimeConfigured',
        status: 'True',
        reason: 'Configured',
        message: 'Verified: storage driver devicemapper, pool dock--vg-thinpool',
      },
      lastSwitch: { state: 'succeeded', moved: true, configured: true },
    });
    // Exactly what the dry run printed: the pool's steps, then the runtime's.
    expect(runtime.executed).toEqual(runtimePlan);
    expect(changes(apply.mutations)).toEqual([...dryRun.json!.plan.map((s) => s.command), ...runtimePlan]);
    expect(apply.json!.status.runtime).toEqual({
      type: 'docker',
      configured: true,
      message: 'Verified: storage driver devicemapper, pool dock--vg-thinpool',
    });

    expect(await dockerInfo(vm)).toEqual({ driver: 'devicemapper', poolName: 'dock--vg-thinpool' });
    expect(JSON.parse((await vm.readFile('/etc/docker/daemon.json'))!)).toEqual({
      'log-level': 'warn',
      'storage-driver': 'devicemapper',
      'storage-opts': [
        'dm.thinpooldev=/dev/mapper/dock--vg-thinpool',
        'dm.use_deferred_removal=true',
        'dm.use_deferred_deletion=true',
        'dm.min_free_space=10%',
        'dm.override_udev_sync_check=true',
      ],
    });
    expect(await vm.stat('/var/lib/docker.bk')).toMatchObject({ exists: true, type: 'directory' });

    const pid = await dockerdPid(vm);
    const again = await agentCli(vm, ['apply'], yaml);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('No changes.');
    expect(again.stdout).toContain(
      'Docker already uses pool dock--vg-thinpool: no changes. Verified: storage driver devicemapper, pool dock--vg-thinpool.',
    );
    expect(changes(again.mutations)).toEqual([]);
    expect(await dockerdPid(vm)).toBe(pid);

    const status = await agentCli(vm, ['status'], yaml);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('  runtime        docker, configured');
    expect(status.stdout).toMatch(
      /RuntimeConfigured True Configured: Verified: storage driver devicemapper, pool dock--vg-thinpool/,
    );
    expect(changes(status.mutations)).toEqual([]);
  });

  it('Docker: a malformed daemon.json is refused (exit 3) and left byte for byte, with the reason printed', async () => {
    const { vm } = guest;
    const malformed = '{\n  "log-level": "warn",\n}\n';
    await vm.run(['mkdir', '-p', '/etc/docker']);
    await vm.writeFile('/etc/docker/daemon.json', malformed);
    const checksum = await sha256(vm, '/etc/docker/daemon.json');

    const apply = await agentCli(vm, ['apply'], dockerManifest(vm.disk('disk1').byIdPath));

    expect(apply.code).toBe(3);
    expect(apply.stdout).toMatch(
      /^Refused: Docker was not changed: MalformedDaemonJson: \/etc\/docker\/daemon\.json is not valid JSON: .*left untouched/m,
    );
    expect(apply.stdout).toMatch(/RuntimeConfigured False MalformedDaemonJson: /);
    // The pool itself was built; only the runtime was refused.
    expect(apply.stdout).toMatch(/ThinPool docker on node vm: Ready/);
    expect(await sha256(vm, '/etc/docker/daemon.json')).toBe(checksum);
    expect(await vm.readFile('/etc/docker/daemon.json')).toBe(malformed);
    expect(await vm.stat('/var/lib/thinpool-agent')).toEqual({ exists: false });
  });

  it('Docker: apply waits for a switch already running on the host; one Docker rejects exits 1 and says it was rolled back', async () => {
    const { vm } = guest;
    const original = '{"storage-driver": "vfs", "log-level": "warn"}\n';
    await startDockerWith(vm, original);
    const device = vm.disk('disk1').byIdPath;
    const docker = { overrideUdevSyncCheck: true, extraStorageOptions: ['dm.no_such_option=1'] };
    const pool = await agentCli(
      vm,
      ['apply'],
      manifest({ volumeGroup: 'dock-vg', devices: [{ path: device }] }),
    );
    expect(pool.code).toBe(0);
    // Launched the in-cluster agent's way (no wait): the one-shot takes about 30 s to roll this back.
    const launched = await reconcileRuntime(
      vm,
      { volumeGroup: 'dock-vg', thinPoolName: 'thinpool', runtime: { type: 'docker', docker } },
      { mode: 'Apply', logger: quietLog },
    );
    expect(launched.report.condition.reason).toBe('Switching');

    const apply = await agentCli(vm, ['apply', '--output', 'json'], dockerManifest(device, docker));

    expect(apply.code).toBe(1);
    expect(apply.json!.runtime).toMatchObject({
      outcome: 'failed',
      executed: [],
      condition: { reason: 'RolledBack' },
      lastSwitch: { state: 'rolled-back' },
    });
    expect(apply.json!.runtime!.condition.message).toContain('devmapper: Unknown option dm.no_such_option');
    expect(await vm.readFile('/etc/docker/daemon.json')).toBe(original);
    expect((await dockerInfo(vm)).driver).toBe('vfs');
    expect(await vm.stat('/var/lib/docker.bk')).toEqual({ exists: false });

    const again = await agentCli(vm, ['apply'], dockerManifest(device, docker));
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(
      /^Failed: the Docker switch was rolled back; the previous configuration and data are in place again: .*devmapper: Unknown option dm\.no_such_option/m,
    );
    expect(changes(again.mutations)).toEqual([]);
  });

  it('containerd: apply makes the devmapper plugin load on our pool, and a ctr snapshot lands in it', async () => {
    const { vm } = guest;
    const originalToml = (await vm.readFile('/etc/containerd/config.toml'))!;
    await startContainerd(vm);
    const yaml = manifest(
      {
        volumeGroup: 'ctrd',
        devices: [{ path: vm.disk('disk2').byIdPath }],
        // DM_DISABLE_UDEV=1: without udev, dmsetup would wait for /dev/mapper nodes that never appear.
        runtime: { type: 'containerd', containerd: { baseImageSize: '1Gi', disableUdev: true } },
      },
      'ctrd',
    );

    const apply = await agentCli(vm, ['apply', '--output', 'json'], yaml);

    expect(apply.stderr).toBe('');
    expect(apply.code).toBe(0);
    expect((apply.json as RunSummary).runtime).toMatchObject({
      type: 'containerd',
      pool: 'ctrd-thinpool',
      outcome: 'configured',
      condition: { status: 'True', message: 'Verified: devmapper snapshotter ok on pool ctrd-thinpool' },
    });
    const plugins = await vm.run(['ctr', 'plugins', 'ls']);
    expect(plugins.stdout).toMatch(/^io\.containerd\.snapshotter\.v1\s+devmapper\s+\S+\s+ok\s*$/m);
    const toml = (await vm.readFile('/etc/containerd/config.toml'))!;
    expect(toml.startsWith(originalToml)).toBe(true);
    expect(parseToml(toml)).toMatchObject({
      plugins: { 'io.containerd.snapshotter.v1.devmapper': { pool_name: 'ctrd-thinpool' } },
    });

    const { table, pool } = await prepareDevmapperSnapshot(vm, 'thinpool-cli-snap');
    expect(table.slice(2, 4)).toEqual(['thin', pool]);
  });
});
