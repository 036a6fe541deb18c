import type { Host, RunResult } from '../../../node-agent/host/host.js';

/**
 * Runs a test's own bash script in the guest (setup and checks that are not the product's: filling a thin
 * volume, making a filesystem, stopping dmeventd). The product never runs shell strings.
 */
export function guestSh(host: Host, script: string, timeoutMs = 300_000): Promise<RunResult> {
  return host.run(['bash', '-c', script], { timeoutMs });
}

export { findLv as lvs, type LvsRow } from '../../support/lvs.js';

/**
 * Works around the VM reset leaving `/dev/<vg>/<lv>` links to removed device-mapper devices (LVM then
 * refuses `vgcreate <vg>`: "/dev/<vg>: already exists in filesystem"): removes dangling links into
 * /dev/mapper and the directories they leave empty.
 */
export async function removeStaleLvmLinks(host: Host): Promise<void> {
  await guestSh(
    host,
    'for d in /dev/*/; do stale=0; for l in "$d"*; do if [ -L "$l" ] && [ ! -e "$l" ]; then ' +
      'case "$(readlink "$l")" in /dev/mapper/*) rm -f "$l"; stale=1 ;; esac; fi; done; ' +
      '[ "$stale" = 1 ] && rmdir "$d" 2>/dev/null; done; true',
  );
}

/**
 * Takes dmeventd out of the picture for `vg/pool`: monitoring off, dmeventd killed, and LVM unable to start
 * it again, so only the agent can extend the pool.
 */
export async function disableDmeventd(host: Host, vgPool: string): Promise<void> {
  await host.run(['lvchange', '--monitor', 'n', vgPool]);
  await guestSh(
    host,
    'printf "dmeventd {\\n    executable = \\"/bin/false\\"\\n}\\n" >> /etc/lvm/lvmlocal.conf; pkill -9 -x dmeventd; true',
  );
}

/** The number of writes the kernel counted on a block device (`/sys/block/<dev>/stat`, field 5). */
export async function deviceWrites(host: Host, device: string): Promise<number> {
  const name = device.replace(/^\/dev\//, '');
  const stat = await host.readFile(`/sys/block/${name}/stat`);
  return Number(stat?.trim().split(/\s+/)[4]);
}
