/**
 * `make demo`: the whole system on this machine, on the embedded default example, in about a minute.
 *
 *   test/vm/setup && test/tools/fetch-tools.sh && npx tsx demo/run-demo.ts
 *
 * Boots the test VM (a real Debian kernel with dm-thin under qemu), starts the project's Kubernetes API
 * emulator, the operator (operator/main.ts) and one node agent for the VM as node (the `thinpool-agent run`
 * code, running here with the VM as its host), applies examples/thinpool-loop.yaml with kubectl, waits for
 * Ready, prints what kubectl, LVM and the agent's metrics say, and tears everything down.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { KubeClient } from '../common/kube/kube-client.js';
import { loadApiTransport } from '../node-agent/cluster/run.js';
import { metricValue } from '../test/system/support/agent-process.js';
import { NodeKubelet, registerVmNode } from '../test/system/support/node-kubelet.js';
import { waitFor } from '../test/support/wait.js';
import { toolPath } from '../test/tools/tools.js';
import { startVm, type OwnedVm } from '../test/vm/vm.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const NAMESPACE = 'thinpool-system';
const EXAMPLE = path.join(ROOT, 'examples/thinpool-loop.yaml');
const POOL = 'loop';

const say = (text = '') => process.stdout.write(`${text}\n`);
const step = (text: string) => say(`\n==> ${text}`);

/** Starts a child process with its output in a log file; resolves with the first stdout line matching `ready`. */
function startChild(name: string, args: string[], logDir: string, ready?: RegExp) {
  const log = createWriteStream(path.join(logDir, `${name}.log`));
  const child = spawn(TSX, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.pipe(log);
  let resolveLine!: (line: string) => void;
  const line = new Promise<string>((resolve, reject) => {
    resolveLine = resolve;
    child.once('exit', (code) => reject(new Error(`${name} exited with code ${code}; see ${log.path}`)));
  });
  line.catch(() => undefined);
  readline.createInterface({ input: child.stdout! }).on('line', (text) => {
    log.write(`${text}\n`);
    if (!ready || ready.test(text)) resolveLine(text);
  });
  return { child, line };
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

const logDir = mkdtempSync(path.join(tmpdir(), 'thinpool-demo-'));
const kubeconfig = path.join(logDir, 'kubeconfig');
const kubectl = async (...args: string[]) =>
  (await execa(toolPath('kubectl'), ['--kubeconfig', kubeconfig, ...args])).stdout;

let vm: OwnedVm | undefined;
let apiServer: ChildProcess | undefined;
let operator: ChildProcess | undefined;
let kubelet: NodeKubelet | undefined;
try {
  say("thinpool-operator demo. The API server is the project's own Kubernetes API emulator");
  say('(test/support/kube-apiserver), not a real cluster; the storage is real: LVM and dm-thin in a');
  say(`Linux kernel under qemu. Logs: ${logDir}`);

  step('Booting the VM (real Debian kernel, LVM, dm-thin)');
  vm = await startVm({ disks: [] });
  const nodeName = (await vm.run(['uname', '-n'])).stdout.trim();
  say(`VM ${nodeName} is up (kernel ${vm.info.kernel}, booted in ${(vm.info.bootMs / 1000).toFixed(1)} s)`);

  step('Starting the Kubernetes API emulator');
  const api = startChild(
    'apiserver',
    ['test/support/kube-apiserver/cli.ts', '--port', '0', '--crds', 'crds', '--kubeconfig-out', kubeconfig],
    logDir,
    /^ready /,
  );
  apiServer = api.child;
  say(`API emulator: ${(await api.line).slice('ready '.length)}`);
  const client = new KubeClient(loadApiTransport(kubeconfig, {}));
  const nodeLabels = await registerVmNode(client, NAMESPACE, nodeName);
  say(`Node ${nodeName} registered`);

  step('Starting the operator (operator/main.ts)');
  operator = startChild(
    'operator',
    [
      'operator/main.ts',
      '--kubeconfig',
      kubeconfig,
      '--namespace',
      NAMESPACE,
      '--leader-elect=false',
      '--metrics-bind-address',
      '127.0.0.1:0',
      '--health-probe-bind-address',
      '127.0.0.1:0',
    ],
    logDir,
  ).child;
  kubelet = new NodeKubelet({
    client,
    nodeName,
    nodeLabels,
    namespace: NAMESPACE,
    agentKubeconfig: kubeconfig,
    vmSocket: vm.socketPath,
    logDir,
  });
  kubelet.start();
  say('Operator running; the VM node runs the agent Pods of its DaemonSets (thinpool-agent run)');

  step(`kubectl apply -f ${path.relative(ROOT, EXAMPLE)}`);
  say(await kubectl('apply', '-f', EXAMPLE));
  const agent = await kubelet.waitForAgent(POOL, 180_000);
  await waitFor(
    async () =>
      (await kubectl(
        'get',
        'thinpool',
        POOL,
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
      )) === 'True',
    `ThinPool ${POOL} to be Ready`,
    300_000,
    1000,
  );
  say(`ThinPool ${POOL} is Ready`);

  step('kubectl get thinpools,thinpoolnodes -o wide');
  say(await kubectl('get', 'thinpools,thinpoolnodes', '-o', 'wide'));

  step('lvs docker/thinpool (in the VM)');
  say(
    (
      await vm.run([
        'lvs',
        '-o',
        'lv_name,vg_name,lv_attr,lv_size,data_percent,metadata_percent,seg_monitor',
        'docker/thinpool',
      ])
    ).stdout.trimEnd(),
  );

  step("The agent's /metrics (a few lines)");
  const metrics = (await agent.get('/metrics')).body;
  for (const name of [
    'thinpool_data_size_bytes',
    'thinpool_data_used_bytes',
    'thinpool_metadata_size_bytes',
    'thinpool_active',
    'thinpool_monitored',
  ]) {
    const line = metrics.split('\n').find((l) => l.startsWith(`${name}{`));
    if (line && metricValue(metrics, name) !== undefined) say(line);
  }

  step('Tearing down');
} finally {
  await kubelet?.stop();
  await stopChild(operator);
  await stopChild(apiServer);
  await vm?.stop();
  say('Stopped the agent, the operator, the API emulator and the VM (its disks and LVM state are gone).');
  say("Reminder: the API server was the project's emulator; the LVM thin pool was real.");
}
