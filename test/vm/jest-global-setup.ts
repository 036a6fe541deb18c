/**
 * globalSetup of the jest `vm` project: boots one VM for the whole run (test/vm/serve.ts, in a child
 * process that holds the broker, with the standard disks of vm.ts) and publishes its broker socket to the
 * test workers as `THINPOOL_VM_SOCKET`. When the VM cannot start it prints one
 * `SKIPPED: real-kernel suites (<reason>)` line and sets `THINPOOL_VM_SKIPPED`, which makes every
 * `describeVm` suite skip; with `THINPOOL_REQUIRE_VM=1` (CI) it fails the run instead.
 * A `THINPOOL_VM_SOCKET` already set (a VM kept up by test/vm/serve.ts) is used as it is.
 *
 * Only node built-ins here: jest loads this file outside its module system, where the `.js` import
 * mapping of the test files does not apply.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import type { Config } from '@jest/types';

/** Where globalTeardown finds the VM process (globalSetup and globalTeardown share the main jest process). */
const VM_PROCESS = '__thinpoolTestVmProcess';

interface ServeReport {
  socketPath?: string;
  error?: string;
  reason?: string;
}

function firstLine(child: ChildProcess): Promise<ServeReport> {
  return new Promise((resolve) => {
    const lines = readline.createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      lines.close();
      try {
        resolve(JSON.parse(line) as ServeReport);
      } catch {
        resolve({ error: `test/vm/serve.ts printed: ${line}`, reason: 'the VM server printed no report' });
      }
    });
    child.once('exit', (code) =>
      resolve({ error: `test/vm/serve.ts exited with code ${code}`, reason: 'the VM server exited' }),
    );
  });
}

export default async function globalSetup(
  _globalConfig: Config.GlobalConfig,
  projectConfig: Config.ProjectConfig,
): Promise<void> {
  if (process.env.THINPOOL_VM_SOCKET) return;
  const required = !!process.env.THINPOOL_REQUIRE_VM && process.env.THINPOOL_REQUIRE_VM !== '0';
  const root = projectConfig.rootDir;
  const child = spawn(
    path.join(root, 'node_modules/.bin/tsx'),
    [path.join(root, 'test/vm/serve.ts'), '--stdin-lifetime'],
    { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const report = await firstLine(child);
  if (report.socketPath) {
    (globalThis as Record<string, unknown>)[VM_PROCESS] = child;
    process.env.THINPOOL_VM_SOCKET = report.socketPath;
    delete process.env.THINPOOL_VM_SKIPPED;
    return;
  }
  if (required)
    throw new Error(`THINPOOL_REQUIRE_VM is set and the test VM could not start: ${report.error}`);
  console.log(`SKIPPED: real-kernel suites (${report.reason})`);
  process.env.THINPOOL_VM_SKIPPED = report.reason ?? 'unknown reason';
}
