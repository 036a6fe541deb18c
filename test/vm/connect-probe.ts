/**
 * Runs one command in the test VM from a separate process, through the broker socket in
 * `THINPOOL_VM_SOCKET`, and prints its stdout: `npx tsx test/vm/connect-probe.ts CMD [ARG...]`.
 * The self-test uses it to show that processes other than the one that booted the VM can drive it.
 */
import { connectVm } from './guest-host.js';

const vm = await connectVm();
try {
  const result = await vm.run(process.argv.slice(2), { okExitCodes: [0] });
  process.stdout.write(result.stdout);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exitCode = (err as { exitCode?: number }).exitCode ?? 125;
} finally {
  await vm.close();
}
