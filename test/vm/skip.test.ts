/**
 * When the VM cannot start, the `vm` project's suites are skipped with one SKIPPED line (never counted as
 * passed), or fail the run under THINPOOL_REQUIRE_VM=1. Runs jest itself on guest.vm.test.ts with a kernel
 * package that does not exist, so no VM boots.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, jest } from '@jest/globals';
import { REPO_DIR } from './image.js';

jest.setTimeout(120_000);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'thinpool-vm-skip-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface JestRun {
  code: number | null;
  output: string;
  report?: { numPassedTests: number; numFailedTests: number; numPendingTests: number };
}

function jestOnVmProject(env: Record<string, string>): Promise<JestRun> {
  const reportFile = path.join(tmp, `report-${Object.keys(env).length}.json`);
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_OPTIONS: '--experimental-vm-modules --disable-warning=ExperimentalWarning',
    THINPOOL_VM_CACHE: path.join(tmp, 'cache'),
    THINPOOL_VM_KERNEL_PACKAGE: 'thinpool-no-such-kernel',
    ...env,
  };
  delete childEnv.THINPOOL_VM_SOCKET;
  delete childEnv.THINPOOL_VM_SKIPPED;
  if (!env.THINPOOL_REQUIRE_VM) delete childEnv.THINPOOL_REQUIRE_VM;
  const args = [
    '--selectProjects',
    'vm',
    '--runTestsByPath',
    'test/vm/guest.vm.test.ts',
    '--json',
    '--outputFile',
    reportFile,
  ];
  return new Promise((resolve) => {
    const child = execFile(
      path.join(REPO_DIR, 'node_modules/.bin/jest'),
      args,
      { cwd: REPO_DIR, env: childEnv },
      (_err, stdout, stderr) => {
        const report = fs.existsSync(reportFile)
          ? JSON.parse(fs.readFileSync(reportFile, 'utf8'))
          : undefined;
        resolve({ code: child.exitCode, output: stdout + stderr, report });
      },
    );
  });
}

describe('the vm project on a machine where the VM cannot start', () => {
  it('prints one SKIPPED line with the reason and reports every test as skipped', async () => {
    const run = await jestOnVmProject({});
    const skippedLines = run.output.split('\n').filter((line) => line.startsWith('SKIPPED:'));
    expect(skippedLines).toEqual([
      'SKIPPED: real-kernel suites (cannot resolve the kernel package thinpool-no-such-kernel (apt-get update, or set THINPOOL_VM_KERNEL_PACKAGE))',
    ]);
    expect(run.code).toBe(0);
    expect(run.report).toMatchObject({ numPassedTests: 0, numFailedTests: 0 });
    expect(run.report!.numPendingTests).toBeGreaterThan(0);
  });

  it('fails the run with the reason under THINPOOL_REQUIRE_VM=1', async () => {
    const run = await jestOnVmProject({ THINPOOL_REQUIRE_VM: '1' });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('THINPOOL_REQUIRE_VM is set and the test VM could not start');
    expect(run.output).toContain('thinpool-no-such-kernel');
    expect(run.output).not.toContain('SKIPPED:');
  });
});
