/**
 * `thinpool-agent run` with the test VM's guest as the node: the same command code as the product
 * (node-agent/cluster/run.ts), only the `Host` differs, so the agent process runs on the host while every
 * LVM, dmsetup and losetup command it issues runs in the VM's real kernel. The system tests and the demo
 * start it as the "container" of an agent Pod:
 *
 *   THINPOOL_VM_SOCKET=... NODE_NAME=... THINPOOL_NAME=... npx tsx test/system/support/agent-main.ts run [flags]
 *
 * It stops (gracefully) on SIGTERM or SIGINT, and also when its standard input closes, so an agent never
 * outlives the test process that started it, even one that was killed.
 */
import { runAgentCommand } from '../../../node-agent/cluster/run.js';
import { connectVm } from '../../vm/guest-host.js';

const [command, ...args] = process.argv.slice(2);
if (command !== 'run') {
  process.stderr.write('Usage: agent-main.ts run [thinpool-agent run flags]\n');
  process.exit(2);
}
const stopSignal = new Promise<string>((resolve) => {
  process.once('SIGTERM', () => resolve('SIGTERM'));
  process.once('SIGINT', () => resolve('SIGINT'));
  process.stdin.on('close', () => resolve('stdin closed'));
  process.stdin.resume();
});
const vm = await connectVm(process.env.THINPOOL_VM_SOCKET);
process.exitCode = await runAgentCommand(args, { env: process.env, host: () => vm, stopSignal });
await vm.close();
setTimeout(() => process.exit(), 100).unref();
