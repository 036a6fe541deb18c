/**
 * Command sessions (`RunOptions.session`) in the real guest: the same behaviour as with the guest agent
 * running locally (test/support/session-suite.ts), and one real `lvm` shell kept across calls.
 */
import { describe, expect, it } from '@jest/globals';
import type { CommandSession } from '../../node-agent/host/host.js';
import { splitJsonObjects } from '../../node-agent/lvm/shell.js';
import { describeVm, useGuest } from './guest.js';
import { isRunning, sessionTests, waitGone } from '../support/session-suite.js';

/** A session of the `lvm` shell (lvmdbusd profile): answered by one complete JSON object. */
function lvmSession(): CommandSession & { close(): void } {
  const controller = new AbortController();
  return {
    closed: controller.signal,
    answered: (stdout) => splitJsonObjects(stdout).length === 1,
    reply: (stderr) => (stderr.endsWith('[y/n]: ') ? 'n\n' : undefined),
    close: () => controller.abort(),
  };
}

describeVm('command sessions in the guest', () => {
  // These tests leave no LVM state behind and end every process they start.
  const guest = useGuest({ reset: false });

  describe('a line-at-a-time process', () => {
    sessionTests(() => guest.vm);
  });

  it('keeps one lvm shell across calls, each answered by its JSON object', async () => {
    const session = lvmSession();
    const options = {
      session,
      env: { LVM_COMMAND_PROFILE: 'lvmdbusd', HOME: '/dev/null', LVM_REPORT_FD: '1' },
    };
    const version = await guest.vm.run(['lvm'], { ...options, input: 'version\n' });
    const pvs = await guest.vm.run(['lvm'], { ...options, input: 'pvs --reportformat json\n' });
    const pid = await guest.vm.run(['pgrep', '-x', 'lvm']);
    session.close();

    const [versionObject] = splitJsonObjects(version.stdout);
    const [pvsObject] = splitJsonObjects(pvs.stdout);
    expect(JSON.parse(versionObject!)).toHaveProperty('log');
    expect(JSON.parse(pvsObject!)).toMatchObject({ report: [{ pv: expect.any(Array) }] });
    // One process answered both: the only lvm in the guest.
    const pids = pid.stdout.trim().split('\n');
    expect(pids).toHaveLength(1);
    await waitGone(guest.vm, Number(pids[0]), 'the closed lvm shell to end');
    expect(await isRunning(guest.vm, Number(pids[0]))).toBe(false);
  });
});
