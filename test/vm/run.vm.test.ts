import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it, jest } from '@jest/globals';
import { describeVm, VM_TEST_TIMEOUT_MS } from './guest.js';
import { REPO_DIR } from './image.js';

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `test/vm/run ARGS` on the host: each call boots and stops its own small VM. */
function runInFreshVm(args: readonly string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = execFile(
      path.join(REPO_DIR, 'test/vm/run'),
      ['--memory', '768M', ...args],
      (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

describeVm('the one-shot runner (test/vm/run)', () => {
  jest.setTimeout(VM_TEST_TIMEOUT_MS);

  describe('exit codes', () => {
    it('exits 0 and streams stdout and stderr apart, running at the repo root', async () => {
      const outcome = await runInFreshVm(['--', 'sh', '-c', 'pwd; echo to-stderr >&2']);
      expect(outcome).toEqual({ code: 0, stdout: `${REPO_DIR}\n`, stderr: 'to-stderr\n' });
    });

    it("exits with the command's own code and attaches --disk disks by id", async () => {
      const outcome = await runInFreshVm([
        '--disk',
        'scratch:64M',
        '--',
        'sh',
        '-c',
        'blockdev --getsize64 /dev/disk/by-id/virtio-scratch; exit 3',
      ]);
      expect(outcome).toMatchObject({ code: 3, stdout: `${64 * 2 ** 20}\n` });
    });

    it('exits 124 when the command outlives --timeout', async () => {
      const outcome = await runInFreshVm(['--timeout', '60', '--', 'sleep', '600']);
      expect(outcome.code).toBe(124);
      expect(outcome.stderr).toContain('timed out after 60 s');
    });

    it('exits 125 with the console tail when the guest kernel dies', async () => {
      const outcome = await runInFreshVm(['--', 'sh', '-c', 'echo c > /proc/sysrq-trigger']);
      expect(outcome.code).toBe(125);
      expect(outcome.stderr).toContain('the guest kernel panicked');
      // The console from the panic on, the call trace included.
      expect(outcome.stderr).toMatch(
        /guest console:\n.*Kernel panic - not syncing: sysrq triggered crash\n(.*\n)*.*Call Trace/,
      );
    });
  });

  it('exits 2 with the usage on a bad option, without booting', async () => {
    const outcome = await runInFreshVm(['--disk', 'no-size', '--', 'true']);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain("Invalid disk 'no-size': expected NAME:SIZE");
  });
});
