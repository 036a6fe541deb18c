/**
 * Helpers of the runtime VM tests: thin pools made with plain LVM commands (the LVM engine is another
 * module's), Docker and containerd started the way a host without systemd starts them, a busybox image
 * built without a registry, and the clean-up that returns the guest's runtime files to their boot state
 * (the harness's reset() covers LVM, devices and processes, not /etc/docker or /var/lib/docker).
 */
import { afterEach, beforeAll } from '@jest/globals';
import type { Host } from '../../node-agent/host/host.js';

/** Debian's 20.10 CLI: a newer CLI may come first in PATH on the host the guest shares. */
export const DOCKER = '/usr/bin/docker';

/** Guest files the tests change, restored from their boot-time content afterwards. */
const RESTORED_FILES = ['/etc/default/docker', '/etc/containerd/config.toml', '/etc/fstab'];

/** Guest paths the tests create, removed afterwards. */
const REMOVED_PATHS = [
  '/etc/docker/daemon.json',
  '/etc/docker/daemon.json.thinpool-backup',
  '/etc/docker/daemon.json.thinpool-failed',
  '/etc/containerd/config.toml.thinpool-backup',
  '/var/lib/docker',
  '/var/lib/docker.bk',
  '/var/lib/thinpool-agent',
  '/var/lib/containerd',
  '/run/containerd',
  '/var/run/docker',
  '/var/log/docker.log',
  '/var/tmp/thinpool-rootfs',
];

/** Volume groups the tests create. */
export const TEST_VGS = ['dock-vg', 'ctrd'];

/** Boot-time content of the files {@link cleanRuntimeFiles} restores. */
export type SavedFiles = Map<string, string | undefined>;

/** Reads the files the tests will change. */
export async function saveRuntimeFiles(vm: Host): Promise<SavedFiles> {
  const saved: SavedFiles = new Map();
  for (const file of RESTORED_FILES) saved.set(file, await vm.readFile(file));
  return saved;
}

/**
 * For a describe block on the shared guest: reads the runtime files once before its tests and puts them
 * back ({@link cleanRuntimeFiles}) after each test.
 */
export function restoreRuntimeFilesAfterEach(guest: { vm: Host }): void {
  let saved: SavedFiles;
  beforeAll(async () => {
    saved = await saveRuntimeFiles(guest.vm);
  });
  afterEach(async () => {
    await cleanRuntimeFiles(guest.vm, saved);
  });
}

/** Polls `check` every 500 ms until it returns true; fails with `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Stops the daemons the tests started, unmounts what Docker left, removes test files, restores the rest. */
export async function cleanRuntimeFiles(vm: Host, saved: SavedFiles): Promise<void> {
  await vm.run(['/etc/init.d/docker', 'stop'], { okExitCodes: [0, 1] });
  const pids = await vm.run(['pgrep', '-x', 'containerd'], { okExitCodes: [0, 1] });
  for (const pid of pids.stdout.split('\n').filter((p) => /^\d+$/.test(p))) {
    await vm.run(['kill', '-TERM', pid], { okExitCodes: [0, 1] });
  }
  const mounts = (await vm.readFile('/proc/self/mounts')) ?? '';
  const targets = mounts
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter(
      (t) =>
        t.startsWith('/var/lib/docker') ||
        t.startsWith('/run/containerd') ||
        t.startsWith('/var/lib/containerd'),
    )
    .sort()
    .reverse();
  for (const target of targets) await vm.run(['umount', '-l', target], { okExitCodes: [0, 1, 32] });
  // Thin devices the runtimes made inside the pools, then the pools: reset() cannot remove a VG whose
  // pool still has devices LVM does not know, and would leave /dev/<vg> behind.
  const devices = (await vm.run(['dmsetup', 'ls'])).stdout.split('\n').map((l) => l.split('\t')[0]!.trim());
  for (const name of devices.filter((d) => /^docker-\d+:\d+-\d+-|-thinpool-snap-\d+$/.test(d))) {
    await vm.run(['dmsetup', 'remove', name], { okExitCodes: [0, 1] });
  }
  for (const vg of TEST_VGS) await vm.run(['vgremove', '-ff', '-y', vg], { okExitCodes: [0, 5] });
  await vm.run(['rm', '-rf', ...REMOVED_PATHS]);
  await vm.run([
    'find',
    '/var/lib',
    '-maxdepth',
    '1',
    '-name',
    'docker.thinpool-failed.*',
    '-exec',
    'rm',
    '-rf',
    '{}',
    '+',
  ]);
  for (const [file, content] of saved) {
    if (content === undefined) await vm.run(['rm', '-f', file]);
    else await vm.writeFile(file, content);
  }
}

/**
 * A thin pool as Docker's direct-lvm docs make it (pvcreate, vgcreate, data and metadata LVs,
 * lvconvert), leaving VG room for growth. Returns nothing: the pool is `vg/lv`.
 */
export async function makeThinPool(vm: Host, vg: string, lv: string, device: string): Promise<void> {
  await vm.run(['pvcreate', '-y', device]);
  await vm.run(['vgcreate', vg, device]);
  await vm.run(['lvcreate', '-y', '--wipesignatures', 'y', '-n', lv, vg, '-l', '80%VG']);
  await vm.run(['lvcreate', '-y', '--wipesignatures', 'y', '-n', `${lv}meta`, vg, '-l', '1%VG']);
  await vm.run([
    'lvconvert',
    '-y',
    '--zero',
    'n',
    '-c',
    '512K',
    '--thinpool',
    `${vg}/${lv}`,
    '--poolmetadata',
    `${vg}/${lv}meta`,
  ]);
}

/** Bytes of pool data in use, from `lvs` (size times data percent). */
export async function poolDataUsedBytes(vm: Host, vg: string, lv: string): Promise<number> {
  const { stdout } = await vm.run([
    'lvs',
    '--reportformat',
    'json',
    '--units',
    'b',
    '--nosuffix',
    '-o',
    'lv_size,data_percent',
    `${vg}/${lv}`,
  ]);
  const [row] = (JSON.parse(stdout) as { report: { lv: Record<string, string>[] }[] }).report[0]!.lv;
  return (Number(row!['lv_size']) * Number(row!['data_percent'])) / 100;
}

/**
 * Prepares a snapshot with containerd's devmapper snapshotter (`ctr snapshots prepare`) and returns the
 * device-mapper table of the thin device it made (`[start, length, target, pool, device id]`) and the
 * `major:minor` of the containerd pool `ctrd-thinpool`, so a test can check the snapshot lives in that pool.
 */
export async function prepareDevmapperSnapshot(
  vm: Host,
  name: string,
): Promise<{ table: string[]; pool: string }> {
  await vm.run(['ctr', 'snapshots', '--snapshotter', 'devmapper', 'prepare', name]);
  const devices = (await vm.run(['dmsetup', 'ls'])).stdout;
  const snapshot = /^(ctrd-thinpool-snap-\d+)\s/m.exec(devices)?.[1];
  if (!snapshot) throw new Error(`No devmapper snapshot device after preparing ${name}: ${devices}`);
  const table = (await vm.run(['dmsetup', 'table', snapshot])).stdout.trim().split(/\s+/);
  const pool = (
    await vm.run(['dmsetup', 'info', '-c', '--noheadings', '-o', 'major,minor', 'ctrd-thinpool'])
  ).stdout.trim();
  return { table, pool };
}

/** Builds a busybox-static root filesystem tarball in the guest (an image without a registry). */
export async function makeBusyboxTarball(vm: Host, tarball: string): Promise<void> {
  const root = '/var/tmp/thinpool-rootfs';
  await vm.run(['rm', '-rf', root]);
  const dirs = ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root', 'usr'];
  await vm.run(['mkdir', '-p', ...dirs.map((d) => `${root}/${d}`)]);
  await vm.run(['cp', '/bin/busybox', `${root}/bin/busybox`]);
  // The host's busybox runs from /usr/bin (merged /usr) and links every applet to that path: make it resolve.
  await vm.run(['ln', '-s', '../bin', `${root}/usr/bin`]);
  await vm.run(['/bin/busybox', '--install', '-s', `${root}/bin`]);
  await vm.writeFile(`${root}/etc/passwd`, 'root:x:0:0:root:/root:/bin/sh\n');
  await vm.writeFile(`${root}/etc/group`, 'root:x:0:\n');
  await vm.run(['tar', '-C', root, '-cf', tarball, '.']);
}

/** Whether `docker info` answers with a server version. */
async function dockerAnswers(vm: Host): Promise<boolean> {
  const res = await vm.run([DOCKER, 'info', '--format', '{{.ServerVersion}}'], { okExitCodes: [0, 1] });
  return res.exitCode === 0 && res.stdout.trim() !== '';
}

/**
 * Starts Docker with Debian's init script (a host without systemd), without networking set-up the guest
 * cannot do, and waits until it answers.
 */
export async function startDockerWithInitScript(vm: Host): Promise<void> {
  // The init script mounts cgroup v1 hierarchies unless fstab names a cgroup filesystem.
  const fstab = (await vm.readFile('/etc/fstab')) ?? '';
  if (!fstab.includes('cgroup2')) {
    await vm.writeFile(
      '/etc/fstab',
      `${fstab}cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n`,
    );
  }
  await vm.writeFile(
    '/etc/default/docker',
    'DOCKER_OPTS="--iptables=false --ip-masq=false --ip-forward=false --bridge=none"\n',
  );
  await vm.run(['/etc/init.d/docker', 'start']);
  await waitUntil('Docker to answer', () => dockerAnswers(vm));
}

/** Starts containerd detached, as a plain host would without a service manager, and waits for it. */
export async function startContainerd(vm: Host): Promise<void> {
  await vm.run([
    'start-stop-daemon',
    '--start',
    '--background',
    '--exec',
    '/usr/bin/containerd',
    '--',
    '--log-level',
    'warn',
  ]);
  await waitUntil('containerd to answer', async () => {
    const res = await vm.run(['ctr', '--connect-timeout', '2s', 'version'], { okExitCodes: [0, 1] });
    return res.exitCode === 0;
  });
}
