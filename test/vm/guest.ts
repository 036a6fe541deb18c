/**
 * Helpers for real-kernel test files (`*.vm.test.ts`, jest project `vm`):
 *
 * ```ts
 * describeVm('thin pool', () => {
 *   const guest = useGuest();
 *   it('creates a pool', async () => {
 *     await guest.vm.run(['pvcreate', guest.vm.disk('disk1').byIdPath]);
 *   });
 * });
 * ```
 */
import { afterAll, beforeAll, beforeEach, describe, jest } from '@jest/globals';
import { connectVm, type GuestVm } from './guest-host.js';

/**
 * Timeout of tests and hooks in VM test files: guest commands are slow under emulation, and waiting for the
 * lease can take a whole other test file. (jest ignores a project-level testTimeout.)
 */
export const VM_TEST_TIMEOUT_MS = 600_000;

/** Why the real-kernel suites skip in this run (set by jest-global-setup.ts), or undefined. */
export const vmSkipReason: string | undefined = process.env.THINPOOL_VM_SKIPPED;

/** The test file's one connection to the VM, shared by every `useGuest()` in it, and its users. */
let connection: Promise<GuestVm> | undefined;
let users = 0;

async function useConnection(): Promise<GuestVm> {
  users++;
  connection ??= connectVm().then(async (vm) => {
    await vm.acquire();
    return vm;
  });
  return connection;
}

async function leaveConnection(): Promise<void> {
  if (--users > 0 || !connection) return;
  const vm = await connection;
  connection = undefined;
  await vm.release();
  await vm.close();
}

/** Cleanups that the innermost `describeVm` being collected runs after all the hooks of its block. */
const cleanupStack: (() => Promise<void>)[][] = [];

/**
 * `describe` for suites that need the VM: skipped (reported as skipped) when the VM could not start.
 * The lease and connection of `useGuest()` inside it are given back after every other `afterAll` of
 * the block (jest runs `afterAll` hooks in declaration order), so the suite's own cleanup can still use
 * the guest.
 */
export function describeVm(name: string, suite: () => void): void {
  if (vmSkipReason !== undefined) {
    describe.skip(name, suite);
    return;
  }
  describe(name, () => {
    const cleanups: (() => Promise<void>)[] = [];
    cleanupStack.push(cleanups);
    try {
      suite();
    } finally {
      cleanupStack.pop();
    }
    afterAll(async () => {
      for (const cleanup of cleanups) await cleanup();
    });
  });
}

/** The VM of the current test file. */
export interface GuestHandle {
  /** The guest (a `Host`); only inside tests and hooks. */
  readonly vm: GuestVm;
}

/**
 * Connects to the run's VM for the enclosing suite: takes the broker's lease in beforeAll (so test files
 * in other workers wait instead of sharing the guest; one connection and lease per test file), resets the
 * guest before each test unless `reset: false`, and gives the lease back when the enclosing `describeVm`
 * block is done (after its own `afterAll` hooks).
 */
export function useGuest({ reset = true }: { reset?: boolean } = {}): GuestHandle {
  let vm: GuestVm | undefined;
  jest.setTimeout(VM_TEST_TIMEOUT_MS);
  beforeAll(async () => {
    vm = await useConnection();
  });
  if (reset) beforeEach(() => vm!.reset());
  const cleanup = async (): Promise<void> => {
    if (!vm) return;
    vm = undefined;
    await leaveConnection();
  };
  const enclosing = cleanupStack.at(-1);
  if (enclosing) enclosing.push(cleanup);
  else afterAll(cleanup);
  return {
    get vm(): GuestVm {
      if (!vm) throw new Error('useGuest(): the VM is only available inside tests and hooks');
      return vm;
    },
  };
}
