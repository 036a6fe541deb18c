/**
 * globalTeardown of the jest `vm` project: closes the VM server's standard input, so it stops the VM
 * (no qemu or virtiofsd left, work dir removed), and waits for it to exit.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** Set by jest-global-setup.ts. */
const VM_PROCESS = '__thinpoolTestVmProcess';

export default async function globalTeardown(): Promise<void> {
  const globals = globalThis as Record<string, unknown>;
  const child = globals[VM_PROCESS] as ChildProcess | undefined;
  if (!child) return;
  delete globals[VM_PROCESS];
  delete process.env.THINPOOL_VM_SOCKET;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.stdin?.end();
  const kill = setTimeout(() => child.kill('SIGTERM'), 30_000);
  await exited;
  clearTimeout(kill);
}
