import { chmodSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { execa } from 'execa';

/**
 * The skip logic of test/e2e/kind/run.sh, run with a PATH that holds only what each case needs, so that the
 * e2e itself never starts here: these tests prove it skips cleanly (exit 0, one SKIPPED line, no cluster
 * work), they do not count as an e2e pass.
 */

const SCRIPT = fileURLToPath(new URL('run.sh', import.meta.url));
const UTILITIES = ['head', 'dirname'];

function which(name: string): string {
  for (const directory of ['/usr/bin', '/bin', '/usr/local/bin']) {
    const candidate = path.join(directory, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`${name} not found`);
}

interface Fakes {
  docker?: 'no-daemon' | 'daemon';
  kind?: boolean;
  uid?: number;
}

/** A bin directory with the basic utilities and fake docker/kind/id that log every call. */
function fakeBin(fakes: Fakes): { bin: string; calls: () => string[] } {
  const bin = mkdtempSync(path.join(tmpdir(), 'thinpool-kind-skip-'));
  const callLog = path.join(bin, 'calls.log');
  writeFileSync(callLog, '');
  for (const utility of UTILITIES) symlinkSync(which(utility), path.join(bin, utility));
  const fake = (name: string, body: string) => {
    writeFileSync(path.join(bin, name), `#!/bin/bash\necho "${name} $*" >> '${callLog}'\n${body}\n`);
    chmodSync(path.join(bin, name), 0o755);
  };
  fake('id', `echo ${fakes.uid ?? 0}`);
  if (fakes.docker === 'no-daemon') {
    fake('docker', 'echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." >&2; exit 1');
  } else if (fakes.docker === 'daemon') {
    fake('docker', 'echo 28.2.2');
  }
  if (fakes.kind) fake('kind', 'exit 0');
  return { bin, calls: () => readFileSync(callLog, 'utf8').split('\n').filter(Boolean) };
}

async function runWith(fakes: Fakes): Promise<{ exitCode: number; stdout: string; calls: string[] }> {
  const { bin, calls } = fakeBin(fakes);
  const result = await execa('/bin/bash', [SCRIPT], { reject: false, env: { PATH: bin }, extendEnv: false });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), calls: calls() };
}

describe('make e2e-kind skip logic (test/e2e/kind/run.sh)', () => {
  it('skips when docker is not installed', async () => {
    const result = await runWith({});
    expect(result.stdout).toBe('SKIPPED: kind e2e (docker is not installed)');
    expect(result.exitCode).toBe(0);
  });

  it('skips when docker answers but has no daemon, and only asked it for info', async () => {
    const result = await runWith({ docker: 'no-daemon', kind: true });
    expect(result.stdout).toBe(
      'SKIPPED: kind e2e (no Docker daemon: Cannot connect to the Docker daemon at unix:///var/run/docker.sock.)',
    );
    expect(result.exitCode).toBe(0);
    expect(result.calls).toEqual(['docker info --format {{.ServerVersion}}']);
  });

  it('skips when kind is not installed', async () => {
    const result = await runWith({ docker: 'daemon' });
    expect(result.stdout).toBe('SKIPPED: kind e2e (kind is not installed)');
    expect(result.exitCode).toBe(0);
  });

  it('skips without root before touching loop devices or creating a cluster', async () => {
    const result = await runWith({ docker: 'daemon', kind: true, uid: 1000 });
    expect(result.stdout).toBe('SKIPPED: kind e2e (needs root to manage loop devices on the host)');
    expect(result.exitCode).toBe(0);
    expect(result.calls.filter((call) => call.startsWith('kind') || call.startsWith('docker build'))).toEqual(
      [],
    );
  });

  it('is valid bash', async () => {
    const result = await execa('/bin/bash', ['-n', SCRIPT], { reject: false });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });
});
