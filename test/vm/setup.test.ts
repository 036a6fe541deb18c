/** test/vm/setup's refusals, which come before it touches apt or the cache. */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { REPO_DIR } from './image.js';

const SETUP = path.join(REPO_DIR, 'test/vm/setup');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'thinpool-vm-setup-'));
fs.chmodSync(tmp, 0o755); // Readable by nobody.
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function setup(
  args: string[],
  env: Record<string, string> = {},
  asNobody = false,
): Promise<{ code: number | null; stderr: string }> {
  // As root, drop to nobody to see the refusal a normal user gets; a normal user already is one.
  const [file, argv] =
    asNobody && process.getuid?.() === 0
      ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', SETUP, ...args]]
      : [SETUP, args];
  return new Promise((resolve) => {
    const child = execFile(
      file,
      argv,
      { env: { PATH: process.env.PATH!, HOME: tmp, THINPOOL_VM_CACHE: tmp, ...env } },
      (_e, _o, stderr) => resolve({ code: child.exitCode, stderr }),
    );
  });
}

describe('test/vm/setup', () => {
  it('refuses a host that is not Debian or Ubuntu, naming it', async () => {
    const osRelease = path.join(tmp, 'os-release');
    fs.writeFileSync(osRelease, 'ID=fedora\nID_LIKE="rhel centos"\n');
    const result = await setup(['--no-install'], { THINPOOL_VM_OS_RELEASE: osRelease });
    expect(result).toEqual({
      code: 1,
      stderr: "test/vm/setup: needs Debian or Ubuntu (apt and Debian kernel packages); this is 'fedora'\n",
    });
  });

  it('accepts a Debian derivative through ID_LIKE', async () => {
    const osRelease = path.join(tmp, 'os-release-like');
    fs.writeFileSync(osRelease, 'ID=raspbian\nID_LIKE=debian\n');
    const result = await setup(['--no-install'], { THINPOOL_VM_OS_RELEASE: osRelease }, true);
    expect(result.stderr).not.toContain('needs Debian or Ubuntu');
  });

  it('refuses to run as a normal user, saying why root is needed', async () => {
    const result = await setup(['--no-install'], {}, true);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('test/vm/setup: must run as root: it installs apt packages');
  });

  it('rejects an unknown option with exit code 2', async () => {
    expect(await setup(['--bogus'])).toEqual({
      code: 2,
      stderr: "test/vm/setup: unknown option '--bogus' (see --help)\n",
    });
  });
});
