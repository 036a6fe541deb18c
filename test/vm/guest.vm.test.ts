import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';
import { CommandError } from '../../node-agent/host/host.js';
import { describeVm, useGuest } from './guest.js';
import { REPO_DIR } from './image.js';
import { STANDARD_DISKS } from './vm.js';

interface LvsReport {
  report: { lv: Record<string, string>[] }[];
}

describeVm('the persistent guest', () => {
  const guest = useGuest();
  // Declared after useGuest(): jest runs afterAll hooks in declaration order, and the guest must still
  // be usable here (describeVm gives the lease back last).
  afterAll(async () => {
    await guest.vm.run(['true']);
  });

  describe('kernel and disks', () => {
    it('runs a stock Debian kernel whose device-mapper lists the thin-pool target', async () => {
      const { stdout } = await guest.vm.run(['dmsetup', 'targets']);
      expect(stdout.split('\n').map((line) => line.split(/\s+/)[0])).toEqual(
        expect.arrayContaining(['thin-pool', 'thin', 'linear']),
      );
      expect(guest.vm.info.kernel).toMatch(/^\d+\.\d+\.\d+-\d+-\w+-amd64$/);
      expect((await guest.vm.run(['uname', '-r'])).stdout.trim()).toBe(guest.vm.info.kernel);
    });

    it('shows every standard disk as /dev/vdX and /dev/disk/by-id/virtio-NAME with its size', async () => {
      expect(guest.vm.disks.map((d) => ({ name: d.name, sizeBytes: d.sizeBytes }))).toEqual(STANDARD_DISKS);
      for (const disk of guest.vm.disks) {
        expect(disk.devicePath).toMatch(/^\/dev\/vd[a-z]$/);
        expect(disk.byIdPath).toBe(`/dev/disk/by-id/virtio-${disk.name}`);
        const resolved = await guest.vm.run(['readlink', '-f', disk.byIdPath]);
        expect(resolved.stdout.trim()).toBe(disk.devicePath);
        const size = await guest.vm.run(['blockdev', '--getsize64', disk.byIdPath]);
        expect(Number(size.stdout)).toBe(disk.sizeBytes);
      }
    });

    it('stats a disk as a block device', async () => {
      const stat = await guest.vm.stat(guest.vm.disk('disk1').byIdPath);
      expect(stat).toMatchObject({ exists: true, type: 'block-device' });
      expect(await guest.vm.stat('/dev/mapper/control')).toMatchObject({
        exists: true,
        type: 'character-device',
      });
      expect(await guest.vm.stat('/no/such/path')).toEqual({ exists: false });
    });
  });

  describe('LVM', () => {
    it('keeps a thin pool created in one command for the next, on a by-id PV, monitored by dmeventd', async () => {
      const { vm } = guest;
      const pv = vm.disk('disk2').byIdPath;
      await vm.run(['pvcreate', '-y', pv]);
      await vm.run(['vgcreate', 'vmtest', pv]);
      await vm.run([
        'lvcreate',
        '-y',
        '--type',
        'thin-pool',
        '-L',
        '512M',
        '-n',
        'pool',
        '--monitor',
        'y',
        'vmtest',
      ]);

      const { stdout } = await vm.run([
        'lvs',
        '--reportformat',
        'json',
        '-o',
        'lv_name,lv_attr,lv_size,seg_monitor',
        '--units',
        'm',
        'vmtest/pool',
      ]);
      const [lv] = (JSON.parse(stdout) as LvsReport).report[0]!.lv;
      expect(lv).toMatchObject({ lv_name: 'pool', lv_size: '512.00m', seg_monitor: 'monitored' });
      expect(lv!.lv_attr).toMatch(/^twi-a/);
      const pvs = await vm.run(['pvs', '--noheadings', '-o', 'pv_name,vg_name']);
      expect(pvs.stdout.trim().split(/\s+/)).toEqual([vm.disk('disk2').devicePath, 'vmtest']);
      // Without thin volumes the pool's top device is the thin-pool target itself.
      const status = await vm.run(['dmsetup', 'status', 'vmtest-pool']);
      expect(status.stdout.split(' ')[2]).toBe('thin-pool');
      expect((await vm.run(['pidof', 'dmeventd'])).stdout.trim()).toMatch(/^\d+$/);
    });
  });

  describe('files', () => {
    it('writes a guest file atomically and reads it back, in the guest and through the port', async () => {
      const { vm } = guest;
      const dir = `${vm.info.scratchDir}/dir`;
      const file = `${dir}/written.conf`;
      const content = 'activation {\n  thin_pool_autoextend_threshold = 80\n}\n';
      await vm.run(['mkdir', '-p', dir]);
      await vm.writeFile(file, content, { mode: 0o600 });
      expect(await vm.readFile(file)).toBe(content);
      expect((await vm.run(['cat', file])).stdout).toBe(content);
      expect(await vm.stat(file)).toMatchObject({
        exists: true,
        type: 'file',
        mode: 0o600,
        sizeBytes: content.length,
      });
      // No temporary file is left beside it.
      expect((await vm.run(['ls', '-A', dir])).stdout).toBe('written.conf\n');
      expect(await vm.readFile(`${vm.info.scratchDir}/missing`)).toBeUndefined();
    });

    it('keeps files written in the results dir on the host', async () => {
      const { vm } = guest;
      const file = path.join(vm.info.resultsDir, `vm-self-test-${process.pid}.txt`);
      await vm.run(['sh', '-c', 'uname -r > "$1"', 'sh', file]);
      const onHost = await promisify(execFile)('cat', [file]);
      expect(onHost.stdout.trim()).toBe(vm.info.kernel);
      await vm.run(['rm', file]);
    });

    it('refuses relative paths', async () => {
      await expect(guest.vm.readFile('etc/lvm/lvm.conf')).rejects.toThrow(/must be absolute and normalised/);
    });
  });

  describe('commands', () => {
    it('fails a command with its argv, exit code and stderr, like the local host', async () => {
      const error = await guest.vm.run(['lvs', 'novg']).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(CommandError);
      expect(error).toMatchObject({ argv: ['lvs', 'novg'], exitCode: 5 });
      expect((error as CommandError).stderr).toContain('Volume group "novg" not found');
      expect((await guest.vm.run(['lvs', 'novg'], { okExitCodes: [5] })).exitCode).toBe(5);
    });

    it('passes input, the environment and LC_ALL=C, and runs at the repo root', async () => {
      const result = await guest.vm.run(['sh', '-c', 'cat; echo "$LC_ALL $MARK"; pwd'], {
        input: 'from stdin\n',
        env: { MARK: 'marked' },
      });
      expect(result.stdout).toBe(`from stdin\nC marked\n${REPO_DIR}\n`);
    });

    it('times out a command in the guest', async () => {
      await expect(guest.vm.run(['sleep', '30'], { timeoutMs: 500 })).rejects.toMatchObject({
        exitCode: undefined,
        reason: 'timeout',
      });
    });

    it('aborts a command through its AbortSignal', async () => {
      const controller = new AbortController();
      const running = guest.vm.run(['sleep', '30'], { signal: controller.signal });
      setTimeout(() => controller.abort(), 300);
      await expect(running).rejects.toMatchObject({ exitCode: undefined, reason: 'aborted' });
    });

    it('serves another process through the broker socket', async () => {
      const { stdout } = await promisify(execFile)(
        path.join(REPO_DIR, 'node_modules/.bin/tsx'),
        [path.join(REPO_DIR, 'test/vm/connect-probe.ts'), 'uname', '-r'],
        { env: { ...process.env, THINPOOL_VM_SOCKET: process.env.THINPOOL_VM_SOCKET } },
      );
      expect(stdout.trim()).toBe(guest.vm.info.kernel);
    });
  });

  describe('reset', () => {
    it('removes VGs, dm and loop devices, signatures, dmeventd, profiles, scratch files and stray processes', async () => {
      const { vm } = guest;
      const scratch = vm.info.scratchDir;
      await vm.run(['truncate', '-s', '256M', `${scratch}/loop.img`]);
      const loop = (await vm.run(['losetup', '-f', '--show', `${scratch}/loop.img`])).stdout.trim();
      const disk1 = vm.disk('disk1');
      await vm.run(['vgcreate', '-y', 'resetvg', disk1.byIdPath, loop]);
      await vm.run([
        'lvcreate',
        '-y',
        '--type',
        'thin-pool',
        '-L',
        '128M',
        '-n',
        'pool',
        '--monitor',
        'y',
        'resetvg',
      ]);
      await vm.run(['lvcreate', '-y', '-V', '1G', '-T', 'resetvg/pool', '-n', 'thin']);
      await vm.run(['mkfs.ext4', '-q', '/dev/resetvg/thin']);
      await vm.run(['mkdir', '-p', `${scratch}/mnt`]);
      await vm.run(['mount', '/dev/resetvg/thin', `${scratch}/mnt`]);
      await vm.run(['dmsetup', 'create', 'stray', '--table', '0 2048 zero']);
      await vm.run(['mkfs.ext4', '-q', '-F', vm.disk('disk4').devicePath]);
      await vm.writeFile('/etc/lvm/profile/test-thinpool.profile', 'activation {\n}\n');
      await vm.run(['sh', '-c', 'setsid sleep 1000 </dev/null >/dev/null 2>&1 &']);
      expect((await vm.run(['pidof', 'dmeventd'])).stdout.trim()).not.toBe('');

      await vm.reset();

      expect((await vm.run(['dmsetup', 'ls'])).stdout.trim()).toBe('No devices found');
      expect((await vm.run(['losetup', '-a'])).stdout).toBe('');
      expect((await vm.run(['pvs', '--noheadings'])).stdout).toBe('');
      expect(await vm.stat('/dev/resetvg')).toEqual({ exists: false });
      expect((await vm.run(['pidof', 'dmeventd'], { okExitCodes: [1] })).exitCode).toBe(1);
      expect((await vm.run(['pidof', 'sleep'], { okExitCodes: [1] })).exitCode).toBe(1);
      expect(await vm.stat('/etc/lvm/profile/test-thinpool.profile')).toEqual({ exists: false });
      expect(await vm.stat('/etc/lvm/profile/thin-generic.profile')).toMatchObject({ exists: true });
      expect((await vm.run(['ls', '-A', scratch])).stdout).toBe('');
      expect(
        (await vm.run(['grep', '-c', `${scratch}/`, '/proc/mounts'], { okExitCodes: [1] })).stdout.trim(),
      ).toBe('0');
      for (const disk of vm.disks) {
        expect((await vm.run(['wipefs', '-n', disk.devicePath])).stdout).toBe('');
        const head = await vm.run([
          'sh',
          '-c',
          'head -c 4194304 "$1" | tr -d "\\0" | wc -c',
          'sh',
          disk.devicePath,
        ]);
        expect(head.stdout.trim()).toBe('0');
        expect(await vm.stat(disk.byIdPath)).toMatchObject({ exists: true, type: 'block-device' });
      }
      // The same names work again.
      await vm.run(['vgcreate', '-y', 'resetvg', disk1.byIdPath]);
      await vm.run(['lvcreate', '-y', '--type', 'thin-pool', '-L', '128M', '-n', 'pool', 'resetvg']);
    });

    it('leaves the udev-made /dev links in place: /dev/fd for process substitution, disks by id', async () => {
      const { stdout } = await guest.vm.run(['bash', '-c', 'cat <(echo substituted) && ls /dev/disk/by-id']);
      expect(stdout).toBe(`substituted\n${guest.vm.disks.map((d) => `virtio-${d.name}`).join('\n')}\n`);
    });
  });
});
