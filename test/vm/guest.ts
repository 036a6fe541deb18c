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

/** `describe` for suites that need the VM: skipped (reported as skipped) when the VM could not start. */
export function describeVm(name: string, suite: () => void): void {
  if (vmSkipReason !== undefined) describe.skip(name, suite);
  else describe(name, suite);
}

/** The VM of the current test file. */
export interface GuestHandle {
  /** The guest (a `Host`); only inside tests and hooks. */
  readonly vm: GuestVm;
}

/**
 * Connects to the run's VM for the enclosing suite: takes the broker's lease in beforeAll (so test files
 * in other workers wait instead of sharing the guest), resets the guest before each test unless
 * `reset: false`, and releases the lease in afterAll.
 */
export function useGuest({ reset = true }: { reset?: boolean } = {}): GuestHandle {
  let vm: GuestVm | undefined;
  jest.setTimeout(VM_TEST_TIMEOUT_MS);
  beforeAll(async () => {
    vm = await connectVm();
    await vm.acquire();
  });
  if (reset) beforeEach(() => vm!.reset());
  afterAll(async () => {
    if (!vm) return;
    await vm.release();
    await vm.close();
  });
  return {
    get vm(): GuestVm {
      if (!vm) throw new Error('useGuest(): the VM is only available inside tests and hooks');
      return vm;
    },
  };
}
