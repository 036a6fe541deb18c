/**
 * Observes the host's container runtimes through the `Host` port: configuration files, what the daemons
 * report (`docker info`, `ctr plugins ls`), the running daemon's command line, the data root, how the
 * host can restart services, and the last host-side switch. Read-only: it runs no mutating command.
 */
import { CommandError, type Host } from '../host/host.js';
import { configuredDataRoot, parseDaemonJson } from './daemon-json.js';
import {
  parseCtrPlugins,
  parseDockerInfo,
  parseProcCmdline,
  parseProcEnviron,
  parseSwitchResult,
} from './parsers.js';
import { dataRootBackupPath, runtimeStatePaths, type SavedSwitchRequest } from './plan.js';
import type {
  DaemonProcess,
  DockerInfo,
  FileSnapshot,
  ObservedContainerd,
  ObservedDocker,
  ObservedSwitch,
  RuntimeHostOptions,
  RuntimeIntent,
  RuntimeKind,
  RuntimeObserved,
} from './types.js';

/** Commands that only read get a short timeout: a hung daemon must not stall the reconcile. */
const READ_TIMEOUT_MS = 30_000;

async function readSnapshot(host: Host, path: string): Promise<FileSnapshot> {
  const content = await host.readFile(path);
  return content === undefined ? { exists: false } : { exists: true, content };
}

async function exists(host: Host, path: string): Promise<boolean> {
  return (await host.stat(path)).exists;
}

function errorText(err: unknown): string {
  if (err instanceof CommandError) return err.stderr.trim() || err.reason || err.message;
  return (err as Error).message;
}

async function observeDockerInfo(host: Host, options: RuntimeHostOptions): Promise<DockerInfo> {
  try {
    const res = await host.run([options.dockerCli, 'info', '--format', '{{json .}}'], {
      timeoutMs: READ_TIMEOUT_MS,
    });
    return parseDockerInfo(res.stdout);
  } catch (err) {
    return { reachable: false, error: errorText(err) };
  }
}

/** Processes named exactly `name`, with their command lines and allow-listed environments. */
async function daemonProcesses(host: Host, name: string): Promise<DaemonProcess[]> {
  const res = await host.run(['pgrep', '-x', name], { okExitCodes: [0, 1], timeoutMs: READ_TIMEOUT_MS });
  const pids = res.stdout
    .split('\n')
    .filter((l) => /^\d+$/.test(l.trim()))
    .map(Number);
  const found: DaemonProcess[] = [];
  for (const pid of pids) {
    try {
      // Through `cat` rather than readFile: an nsenter host's file mount may not include the host's /proc.
      const cmdline = await host.run(['cat', `/proc/${pid}/cmdline`], { timeoutMs: READ_TIMEOUT_MS });
      const environ = await host.run(['cat', `/proc/${pid}/environ`], { timeoutMs: READ_TIMEOUT_MS });
      found.push({ pid, argv: parseProcCmdline(cmdline.stdout), env: parseProcEnviron(environ.stdout) });
    } catch {
      // The process exited between pgrep and cat: it is not a running daemon.
    }
  }
  return found;
}

/** The value of `--flag VALUE` or `--flag=VALUE` in an argument list. */
export function flagValue(argv: readonly string[], ...flags: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    for (const flag of flags) {
      if (arg === flag) return argv[i + 1];
      if (arg.startsWith(`${flag}=`)) return arg.slice(flag.length + 1);
    }
  }
  return undefined;
}

/** The containerd that reads our config file (not Docker's managed containerd, which has its own). */
export function pickContainerd(
  processes: readonly DaemonProcess[],
  configPath: string,
): DaemonProcess | undefined {
  return processes.find(
    (p) => (flagValue(p.argv, '--config', '-c') ?? '/etc/containerd/config.toml') === configPath,
  );
}

/** The dockerd that reads our daemon.json (`--config-file`, default `/etc/docker/daemon.json`). */
export function pickDockerd(
  processes: readonly DaemonProcess[],
  configPath: string,
): DaemonProcess | undefined {
  return processes.find(
    (p) => (flagValue(p.argv, '--config-file') ?? '/etc/docker/daemon.json') === configPath,
  );
}

async function isSeparateFilesystem(host: Host, path: string): Promise<boolean> {
  // A self bind mount (dockerd makes one while it runs) keeps the device; a separate filesystem does not.
  const parent = path.slice(0, path.lastIndexOf('/')) || '/';
  const res = await host.run(['stat', '-L', '-c', '%d', path, parent], { timeoutMs: READ_TIMEOUT_MS });
  const [own, parentDev] = res.stdout.trim().split('\n');
  return own !== parentDev;
}

async function observeDocker(
  host: Host,
  options: RuntimeHostOptions,
  wanted: boolean,
): Promise<ObservedDocker> {
  const installed = await exists(host, options.dockerdBinary);
  const config = await readSnapshot(host, options.dockerConfigPath);
  const processes = installed ? await daemonProcesses(host, 'dockerd') : [];
  // Only ask a running daemon: `docker info` against a socket-activated docker.socket would start Docker.
  const info: DockerInfo = !installed
    ? { reachable: false, error: 'Docker is not installed' }
    : processes.length === 0
      ? { reachable: false, error: 'dockerd is not running' }
      : await observeDockerInfo(host, options);
  const daemon = pickDockerd(processes, options.dockerConfigPath);
  const parsed = parseDaemonJson(config.exists ? config.content : undefined);
  const dataRoot =
    (daemon && flagValue(daemon.argv, '--data-root', '-g', '--graph')) ??
    (parsed.ok ? configuredDataRoot(parsed.config) : undefined) ??
    '/var/lib/docker';
  const dataRootExists = wanted && (await exists(host, dataRoot));
  return {
    installed,
    config,
    info,
    ...(daemon ? { daemon } : {}),
    dataRoot,
    dataRootExists,
    dataRootIsMountPoint: dataRootExists && (await isSeparateFilesystem(host, dataRoot)),
    dataRootBackupExists: wanted && (await exists(host, dataRootBackupPath(dataRoot))),
  };
}

async function observeContainerd(
  host: Host,
  options: RuntimeHostOptions,
  wanted: boolean,
): Promise<ObservedContainerd> {
  const installed = await exists(host, options.containerdBinary);
  const config = await readSnapshot(host, options.containerdConfigPath);
  if (!installed || !wanted) {
    return { installed, config, plugins: { reachable: false, error: 'not observed' } };
  }
  let plugins: ObservedContainerd['plugins'];
  if (!(await exists(host, options.containerdAddress))) {
    plugins = { reachable: false, error: `${options.containerdAddress} does not exist` };
  } else {
    try {
      const res = await host.run(
        [options.ctrCli, '--address', options.containerdAddress, '--connect-timeout', '2s', 'plugins', 'ls'],
        { timeoutMs: READ_TIMEOUT_MS },
      );
      plugins = { reachable: true, list: parseCtrPlugins(res.stdout) };
    } catch (err) {
      plugins = { reachable: false, error: errorText(err) };
    }
  }
  const daemon = pickContainerd(await daemonProcesses(host, 'containerd'), options.containerdConfigPath);
  return { installed, config, plugins, ...(daemon ? { daemon } : {}) };
}

async function observeSwitch(
  host: Host,
  runtime: RuntimeKind,
  options: RuntimeHostOptions,
): Promise<ObservedSwitch | undefined> {
  const paths = runtimeStatePaths(options.stateDir, runtime);
  const text = await host.readFile(paths.result);
  const result = text === undefined ? undefined : parseSwitchResult(text);
  if (!result) return undefined;
  let alive = false;
  if (result.state === 'running' && result.pid > 0) {
    const res = await host.run(['test', '-d', `/proc/${result.pid}`], { okExitCodes: [0, 1] });
    alive = res.exitCode === 0;
  }
  let requestArgs: string[] | undefined;
  const saved = await host.readFile(paths.request);
  if (saved !== undefined) {
    try {
      const request = JSON.parse(saved) as SavedSwitchRequest;
      if (request.id === result.id && Array.isArray(request.args)) requestArgs = request.args.map(String);
    } catch {
      // A torn or foreign request file: recovery then reports instead of guessing.
    }
  }
  return { result, alive, ...(requestArgs ? { requestArgs } : {}) };
}

/**
 * Observes the runtimes for an intent: the wanted runtime in full, the other one's configuration (to
 * refuse a pool it already uses), the host's init system and the last switch.
 */
export async function observeRuntime(
  host: Host,
  intent: RuntimeIntent,
  options: RuntimeHostOptions,
): Promise<RuntimeObserved> {
  const wanted = intent.type;
  const [docker, containerd] = [
    await observeDocker(host, options, wanted === 'docker'),
    await observeContainerd(host, options, wanted === 'containerd'),
  ];
  const systemdDir = await host.stat('/run/systemd/system');
  const init = {
    systemd: systemdDir.exists && systemdDir.type === 'directory',
    dockerInitScript: await exists(host, `${options.initScriptDir}/docker`),
    containerdInitScript: await exists(host, `${options.initScriptDir}/containerd`),
  };
  const lastSwitch = wanted === 'none' ? undefined : await observeSwitch(host, wanted, options);
  return { docker, containerd, init, ...(lastSwitch ? { lastSwitch } : {}) };
}
