/**
 * The VM for the agent benchmarks: the one of `THINPOOL_VM_SOCKET` (test/vm/serve.ts), or a fresh one
 * with the standard disks.
 */
import { connectVm, type GuestVm } from '../test/vm/guest-host.js';
import { startVm } from '../test/vm/vm.js';
import { STANDARD_DISKS } from '../test/vm/vm.js';

/** A leased guest and how to let it go. */
export async function benchGuest(): Promise<{ vm: GuestVm; done: () => Promise<void> }> {
  if (process.env.THINPOOL_VM_SOCKET) {
    const vm = await connectVm(process.env.THINPOOL_VM_SOCKET);
    await vm.acquire();
    return {
      vm,
      done: async () => {
        await vm.release();
        await vm.close();
      },
    };
  }
  const vm = await startVm({ disks: [...STANDARD_DISKS] });
  await vm.acquire();
  return {
    vm,
    done: async () => {
      await vm.release();
      await vm.stop();
    },
  };
}

/** Median of a list of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
