/**
 * The pure runtime planner: `planRuntime(intent, observed, options)` decides whether the host's container
 * runtime already uses the pool, must be switched (and exactly how), is being switched, or must be left
 * alone with a reason. The actions it returns are file writes and one command that starts the host-side
 * one-shot (`switch-script.ts`), each explained in one line.
 */
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { configuredDevmapperPool, mergeContainerdConfig, parseContainerdConfig } from './containerd-toml.js';
import {
  configuredStorageDriver,
  configuredThinPool,
  desiredStorageOptions,
  mergeDaemonJson,
  parseDaemonJson,
} from './daemon-json.js';
import { dmName, dmPoolName } from './dm-name.js';
import { pathProblem, validateRuntimeIntent } from './intent.js';
import { devmapperPluginStatus } from './parsers.js';
import {
  launchArgv,
  SWITCH_SCRIPT,
  switchScriptArgs,
  type ScriptRestart,
  type SwitchRequest,
} from './switch-script.js';
import type {
  DaemonProcess,
  RuntimeAction,
  RuntimeHostOptions,
  RuntimeIntent,
  RuntimeKind,
  RuntimeObserved,
  RuntimePlan,
  RuntimeRefusalReason,
} from './types.js';

/** Files the agent keeps for a runtime under its state directory. */
export interface RuntimeStatePaths {
  script: string;
  staged: string;
  request: string;
  result: string;
  log: string;
  daemonLog: string;
}

/** Where the one-shot's files live for a runtime. */
export function runtimeStatePaths(stateDir: string, runtime: RuntimeKind): RuntimeStatePaths {
  return {
    script: `${stateDir}/runtime-switch.sh`,
    staged: `${stateDir}/${runtime}.next`,
    request: `${stateDir}/${runtime}-request.json`,
    result: `${stateDir}/${runtime}-result`,
    log: `${stateDir}/${runtime}-switch.log`,
    daemonLog: `${stateDir}/${runtime}-daemon.log`,
  };
}

/** The backup of a configuration file, beside it (restored by a rollback). */
export function backupPath(configPath: string): string {
  return `${configPath}.thinpool-backup`;
}

/** Where the previous data root goes when the storage driver or pool changes (Docker's docs). */
export function dataRootBackupPath(dataRoot: string): string {
  return `${dataRoot}.bk`;
}

/** systemd drop-in that starts containerd with `DM_DISABLE_UDEV=1` (udev-less hosts). */
export const CONTAINERD_UDEV_DROP_IN =
  '/etc/systemd/system/containerd.service.d/50-thinpool-disable-udev.conf';

/** The saved launch request: lets the agent recover a switch that was interrupted. */
export interface SavedSwitchRequest {
  id: string;
  systemdRun: boolean;
  args: string[];
}

const PATH_DEFAULT = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const RUNTIME_NAMES: Record<RuntimeKind, string> = { docker: 'Docker', containerd: 'containerd' };

function refused(reason: RuntimeRefusalReason, message: string): RuntimePlan {
  return { outcome: { kind: 'refused', reason, message }, actions: [] };
}

/** How the one-shot will restart the runtime, or why it cannot. */
interface RestartChoice {
  restart: ScriptRestart;
  describe: string;
  units?: string[];
  initScript?: string;
  daemonPid?: number;
  reasonLog?: string;
  startCommand?: string[];
}

function startCommand(daemon: DaemonProcess, extraEnv: readonly string[]): string[] {
  const env = daemon.env.filter((e) => !extraEnv.some((x) => x.split('=')[0] === e.split('=')[0]));
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(PATH_DEFAULT);
  return ['env', '-i', ...env, ...extraEnv, ...daemon.argv];
}

function chooseRestart(
  runtime: RuntimeKind,
  intent: RuntimeIntent,
  observed: RuntimeObserved,
  options: RuntimeHostOptions,
  daemonLog: string,
): RestartChoice | { problem: string } {
  const daemon = runtime === 'docker' ? observed.docker.daemon : observed.containerd.daemon;
  const needsUdevEnv = runtime === 'containerd' && intent.containerd.disableUdev;
  const initScript = `${options.initScriptDir}/${runtime}`;
  const hasInitScript =
    runtime === 'docker' ? observed.init.dockerInitScript : observed.init.containerdInitScript;
  const candidates: Record<'Systemd' | 'InitScript' | 'Signal', () => RestartChoice | string> = {
    Systemd: () =>
      observed.init.systemd
        ? {
            restart: 'systemd',
            describe: `systemctl stop/start ${runtime}.service`,
            units: runtime === 'docker' ? ['docker.service', 'docker.socket'] : ['containerd.service'],
          }
        : 'the host does not run systemd',
    InitScript: () => {
      if (!hasInitScript) return `${initScript} does not exist`;
      if (needsUdevEnv) return `an init script cannot pass DM_DISABLE_UDEV=1 to containerd`;
      return {
        restart: 'init-script',
        describe: `${initScript} stop/start`,
        initScript,
        ...(runtime === 'docker' ? { reasonLog: '/var/log/docker.log' } : {}),
      };
    },
    Signal: () =>
      daemon
        ? {
            restart: 'signal',
            describe: `SIGTERM to pid ${daemon.pid}, then the same command line again`,
            daemonPid: daemon.pid,
            reasonLog: daemonLog,
            startCommand: startCommand(daemon, needsUdevEnv ? ['DM_DISABLE_UDEV=1'] : []),
          }
        : `no running ${runtime} daemon to restart with the same command line`,
  };
  const order =
    intent.restartStrategy === 'Auto'
      ? (['Systemd', 'InitScript', 'Signal'] as const)
      : [intent.restartStrategy];
  const problems: string[] = [];
  for (const name of order) {
    const choice = candidates[name]();
    if (typeof choice !== 'string') return choice;
    problems.push(`${name}: ${choice}`);
  }
  return { problem: `no way to restart ${RUNTIME_NAMES[runtime]} (${problems.join('; ')})` };
}

/** A short, stable identifier of a desired switch (same inputs, same id). */
export function switchId(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 12);
}

/** Decisions shared by both runtimes once the desired configuration is known. */
interface SwitchInput {
  runtime: RuntimeKind;
  configPath: string;
  existing: string | undefined;
  content: string;
  changedKeys: string;
  dataRootMove?: { dataRoot: string; dataRootBackup: string };
  expectPool: string;
  verifyStep: string;
}

/** What comes before the runtime-specific checks: a switch in flight, or one that was interrupted. */
function planInFlight(runtime: RuntimeKind, observed: RuntimeObserved, options: RuntimeHostOptions) {
  const last = observed.lastSwitch;
  if (!last || last.result.runtime !== runtime || last.result.state !== 'running') return undefined;
  const { id } = last.result;
  if (last.alive) {
    return {
      outcome: {
        kind: 'switching',
        switchId: id,
        message: `${RUNTIME_NAMES[runtime]} switch ${id} is running on the host (step ${last.result.step})`,
      },
      actions: [],
    } satisfies RuntimePlan;
  }
  const paths = runtimeStatePaths(options.stateDir, runtime);
  const saved = last.requestArgs;
  if (!saved) {
    return {
      outcome: {
        kind: 'failed',
        switchId: id,
        state: 'running',
        message: `${RUNTIME_NAMES[runtime]} switch ${id} was interrupted at step ${last.result.step} and its request is missing; see ${paths.log}`,
      },
      actions: [],
    } satisfies RuntimePlan;
  }
  const attempt = last.result.attempt + 1;
  const daemon = runtime === 'docker' ? observed.docker.daemon : observed.containerd.daemon;
  const args = recoverArgs(saved, daemon, attempt);
  const systemdRun = observed.init.systemd;
  return {
    outcome: {
      kind: 'switch',
      switchId: id,
      attempt,
      message: `${RUNTIME_NAMES[runtime]} switch ${id} was interrupted at step ${last.result.step}; undoing it`,
    },
    actions: [
      {
        kind: 'write-file',
        path: paths.script,
        content: SWITCH_SCRIPT,
        mode: 0o755,
        explanation: `Write the runtime switch one-shot ${paths.script}`,
      },
      {
        kind: 'run',
        argv: launchArgv(systemdRun, paths.script, args, { runtime, id, attempt }),
        explanation: `Undo the interrupted ${RUNTIME_NAMES[runtime]} switch ${id} in a host-side one-shot`,
        steps: [
          `Stop ${RUNTIME_NAMES[runtime]}`,
          'Restore the backed-up configuration and data root if the interrupted switch had changed them',
          `Start ${RUNTIME_NAMES[runtime]} again; the switch is retried afterwards`,
        ],
      },
    ],
  } satisfies RuntimePlan;
}

/** The saved arguments in recover mode as a new attempt, pointed at the daemon running now (if any). */
function recoverArgs(saved: readonly string[], daemon: DaemonProcess | undefined, attempt: number): string[] {
  const end = saved.indexOf('--');
  const named = end < 0 ? [...saved] : saved.slice(0, end);
  const start = end < 0 ? [] : saved.slice(end);
  const out: string[] = [];
  for (let i = 0; i < named.length; i += 2) {
    const [key, value] = [named[i]!, named[i + 1]!];
    if (key === '--pid') continue;
    out.push(key, key === '--mode' ? 'recover' : key === '--attempt' ? String(attempt) : value);
  }
  if (daemon) out.push('--pid', String(daemon.pid));
  return [...out, ...start];
}

function planSwitch(
  input: SwitchInput,
  intent: RuntimeIntent,
  observed: RuntimeObserved,
  options: RuntimeHostOptions,
): RuntimePlan {
  const { runtime } = input;
  const name = RUNTIME_NAMES[runtime];
  const paths = runtimeStatePaths(options.stateDir, runtime);
  const restart = chooseRestart(runtime, intent, observed, options, paths.daemonLog);
  if ('problem' in restart) return refused('NoRestartStrategy', restart.problem);
  const udevDropIn =
    runtime === 'containerd' && intent.containerd.disableUdev && restart.restart === 'systemd';
  const id = switchId({
    runtime,
    content: input.content,
    move: input.dataRootMove ?? null,
    restart: restart.restart,
    env: restart.startCommand ?? null,
    udevDropIn,
  });
  const last = observed.lastSwitch?.result;
  const attempt = last && last.id === id && last.runtime === runtime ? last.attempt + 1 : 1;
  if (last && last.id === id && last.runtime === runtime) {
    if (last.state === 'rolled-back' || last.state === 'rollback-failed' || last.state === 'failed') {
      return {
        outcome: {
          kind: 'failed',
          switchId: id,
          state: last.state,
          message: `${name} switch ${id} ${last.state} at ${last.updated}: ${last.message}. Not retried until the spec changes`,
        },
        actions: [],
      };
    }
    if (last.state === 'succeeded') {
      return {
        outcome: {
          kind: 'not-verified',
          reason: 'NotVerified',
          message: `${name} switch ${id} succeeded at ${last.updated}, but ${name} no longer shows the pool; not restarting it again`,
        },
        actions: [],
      };
    }
  }

  const request: SwitchRequest = {
    mode: 'switch',
    id,
    attempt,
    runtime,
    resultPath: paths.result,
    logPath: paths.log,
    configPath: input.configPath,
    stagedPath: paths.staged,
    backupPath: backupPath(input.configPath),
    configExisted: input.existing !== undefined,
    ...(input.dataRootMove ? { dataRootMove: input.dataRootMove } : {}),
    restart: restart.restart,
    ...(restart.units ? { units: restart.units } : {}),
    ...(restart.initScript ? { initScript: restart.initScript } : {}),
    ...(restart.daemonPid !== undefined ? { daemonPid: restart.daemonPid, daemonLog: paths.daemonLog } : {}),
    ...(restart.reasonLog ? { reasonLog: restart.reasonLog } : {}),
    ...(runtime === 'docker'
      ? { dockerCli: options.dockerCli, expectPool: input.expectPool }
      : { ctrCli: options.ctrCli, containerdAddress: options.containerdAddress }),
    timeoutSeconds: options.restartTimeoutSeconds,
    ...(restart.startCommand ? { startCommand: restart.startCommand } : {}),
  };
  const args = switchScriptArgs(request);
  const systemdRun = observed.init.systemd;
  const saved: SavedSwitchRequest = { id, systemdRun, args };
  const actions: RuntimeAction[] = [
    {
      kind: 'run',
      argv: ['mkdir', '-p', options.stateDir, ...(udevDropIn ? [dirname(CONTAINERD_UDEV_DROP_IN)] : [])],
      explanation: `Create the agent's runtime state directory ${options.stateDir}`,
    },
  ];
  if (input.existing !== undefined) {
    actions.push({
      kind: 'write-file',
      path: request.backupPath,
      content: input.existing,
      explanation: `Back up ${input.configPath} to ${request.backupPath} (restored on rollback)`,
    });
  }
  actions.push(
    {
      kind: 'write-file',
      path: paths.staged,
      content: input.content,
      explanation: `Stage the new ${input.configPath} (${input.changedKeys}); the one-shot installs it`,
    },
    ...(udevDropIn
      ? [
          {
            kind: 'write-file' as const,
            path: CONTAINERD_UDEV_DROP_IN,
            content: '[Service]\nEnvironment=DM_DISABLE_UDEV=1\n',
            explanation:
              'Start containerd with DM_DISABLE_UDEV=1 (runtime.containerd.disableUdev: no udev on this host)',
          },
        ]
      : []),
    {
      kind: 'write-file',
      path: paths.script,
      content: SWITCH_SCRIPT,
      mode: 0o755,
      explanation: `Write the runtime switch one-shot ${paths.script}`,
    },
    {
      kind: 'write-file',
      path: paths.request,
      content: `${JSON.stringify(saved)}\n`,
      explanation: `Save the switch request ${id} (to undo the switch if it is interrupted)`,
    },
    {
      kind: 'run',
      argv: launchArgv(systemdRun, paths.script, args, { runtime, id, attempt }),
      explanation: `Switch ${name} to pool ${input.expectPool} in a host-side one-shot (${systemdRun ? 'systemd-run' : 'setsid'}); result in ${paths.result}`,
      steps: [
        `Stop ${name} (${restart.describe})`,
        ...(input.dataRootMove
          ? [
              `Move ${input.dataRootMove.dataRoot} to ${input.dataRootMove.dataRootBackup} (kept, never deleted)`,
            ]
          : []),
        `Install ${input.configPath} from ${paths.staged}`,
        `Start ${name} (${restart.describe})`,
        input.verifyStep,
        `On failure: restore ${request.backupPath}${input.dataRootMove ? ` and ${input.dataRootMove.dataRoot}` : ''}, start ${name} again, record the reason`,
      ],
    },
  );
  return {
    outcome: {
      kind: 'switch',
      switchId: id,
      attempt,
      message: `Switching ${name} to pool ${input.expectPool} (switch ${id})`,
    },
    actions,
  };
}

/** Docker's command-line flags that clash with the same setting in daemon.json. */
const STORAGE_FLAGS = ['--storage-driver', '-s', '--storage-opt'];

function storageFlagConflict(argv: readonly string[] | undefined): string | undefined {
  return argv?.find((a) => STORAGE_FLAGS.some((f) => a === f || a.startsWith(`${f}=`)));
}

function planDocker(
  intent: RuntimeIntent,
  observed: RuntimeObserved,
  options: RuntimeHostOptions,
): RuntimePlan {
  const pool = dmPoolName(intent.volumeGroup, intent.thinPoolName);
  const docker = observed.docker;
  if (!docker.installed)
    return refused('RuntimeNotInstalled', `Docker is not installed (${options.dockerdBinary} not found)`);
  const containerdConfig = parseContainerdConfig(
    observed.containerd.config.exists ? observed.containerd.config.content : undefined,
  );
  if (containerdConfig.ok && configuredDevmapperPool(containerdConfig.config) === pool) {
    return refused(
      'PoolUsedByOtherRuntime',
      `containerd's ${options.containerdConfigPath} uses pool ${pool} (devmapper pool_name); two runtimes never share a pool: both number their thin devices from 1`,
    );
  }
  const existing = docker.config.exists ? docker.config.content : undefined;
  const parsed = parseDaemonJson(existing);
  if (!parsed.ok) {
    return refused(
      'MalformedDaemonJson',
      `${options.dockerConfigPath} is ${parsed.error}; left untouched (Docker will not start with it either): fix or remove it`,
    );
  }
  const flag = storageFlagConflict(docker.daemon?.argv);
  if (flag) {
    return refused(
      'StorageFlagConflict',
      `dockerd runs with ${flag} on its command line and Docker refuses a storage setting given both as a flag and in daemon.json: remove the flag`,
    );
  }
  const merge = mergeDaemonJson(
    parsed.config,
    existing,
    desiredStorageOptions(intent.volumeGroup, intent.thinPoolName, intent.docker),
  );
  const info = docker.info;
  if (!merge.changed && info.reachable && info.driver === 'devicemapper' && info.poolName === pool) {
    return {
      outcome: { kind: 'configured', verified: `storage driver devicemapper, pool ${pool}` },
      actions: [],
    };
  }
  if (!merge.changed && !info.reachable) {
    return {
      outcome: {
        kind: 'not-verified',
        reason: 'RuntimeNotRunning',
        message: `Docker is not running (${info.error}); ${options.dockerConfigPath} already selects devicemapper on ${pool}`,
      },
      actions: [],
    };
  }
  const dataRootProblem = pathProblem('Docker data root', docker.dataRoot);
  if (dataRootProblem) return refused('UnsupportedDataRoot', dataRootProblem);
  // The data root only fits the driver and pool that wrote it: anything else is moved aside.
  const previous = info.reachable
    ? { driver: info.driver, pool: info.poolName }
    : { driver: configuredStorageDriver(parsed.config), pool: configuredThinPool(parsed.config) };
  const move = docker.dataRootExists && !(previous.driver === 'devicemapper' && previous.pool === pool);
  if (move && docker.dataRootIsMountPoint) {
    return refused(
      'DataRootIsMountPoint',
      `${docker.dataRoot} is on another filesystem than its parent (a mount point, or a link to one) and cannot be renamed to ${dataRootBackupPath(docker.dataRoot)}: move its contents aside by hand`,
    );
  }
  if (move && docker.dataRootBackupExists) {
    return refused(
      'DataRootBackupExists',
      `${dataRootBackupPath(docker.dataRoot)} already exists (an earlier switch, or a manual backup): inspect it and remove or rename it`,
    );
  }
  const dropped = merge.dropped.length ? `; dropping ${merge.dropped.join(', ')}` : '';
  return planSwitch(
    {
      runtime: 'docker',
      configPath: options.dockerConfigPath,
      existing,
      content: merge.content,
      changedKeys: `storage-driver devicemapper, dm.thinpooldev=${dmName(intent.volumeGroup, intent.thinPoolName)}${dropped}`,
      ...(move
        ? { dataRootMove: { dataRoot: docker.dataRoot, dataRootBackup: dataRootBackupPath(docker.dataRoot) } }
        : {}),
      expectPool: pool,
      verifyStep: `Verify with docker info: Storage Driver devicemapper, Pool Name ${pool}`,
    },
    intent,
    observed,
    options,
  );
}

function planContainerd(
  intent: RuntimeIntent,
  observed: RuntimeObserved,
  options: RuntimeHostOptions,
): RuntimePlan {
  const pool = dmPoolName(intent.volumeGroup, intent.thinPoolName);
  const containerd = observed.containerd;
  if (!containerd.installed) {
    return refused(
      'RuntimeNotInstalled',
      `containerd is not installed (${options.containerdBinary} not found)`,
    );
  }
  const dockerConfig = parseDaemonJson(
    observed.docker.config.exists ? observed.docker.config.content : undefined,
  );
  const dockerInfo = observed.docker.info;
  if (
    (dockerConfig.ok && configuredThinPool(dockerConfig.config) === pool) ||
    (dockerInfo.reachable && dockerInfo.poolName === pool)
  ) {
    return refused(
      'PoolUsedByOtherRuntime',
      `Docker uses pool ${pool} (dm.thinpooldev in ${options.dockerConfigPath} or docker info); two runtimes never share a pool: both number their thin devices from 1`,
    );
  }
  const existing = containerd.config.exists ? containerd.config.content : undefined;
  const parsed = parseContainerdConfig(existing);
  if (!parsed.ok) {
    return refused(
      'MalformedContainerdConfig',
      `${options.containerdConfigPath} is ${parsed.error}; left untouched: fix or remove it`,
    );
  }
  const merge = mergeContainerdConfig(parsed.config, existing, pool, intent.containerd);
  if (!merge.ok) {
    return refused(
      'MalformedContainerdConfig',
      `${options.containerdConfigPath}: ${merge.error}; left untouched`,
    );
  }
  const plugins = containerd.plugins;
  const status = plugins.reachable ? devmapperPluginStatus(plugins.list) : undefined;
  if (!merge.changed && status === 'ok') {
    return {
      outcome: { kind: 'configured', verified: `devmapper snapshotter ok on pool ${pool}` },
      actions: [],
    };
  }
  if (!merge.changed && !plugins.reachable) {
    return {
      outcome: {
        kind: 'not-verified',
        reason: 'RuntimeNotRunning',
        message: `containerd is not running (${plugins.error}); ${options.containerdConfigPath} already configures devmapper on ${pool}`,
      },
      actions: [],
    };
  }
  return planSwitch(
    {
      runtime: 'containerd',
      configPath: options.containerdConfigPath,
      existing,
      content: merge.content,
      changedKeys: `devmapper snapshotter pool_name ${pool}${intent.containerd.criDefaultSnapshotter ? ', CRI default snapshotter devmapper' : ''}`,
      expectPool: pool,
      verifyStep: 'Verify with ctr plugins ls: io.containerd.snapshotter.v1 devmapper ok',
    },
    intent,
    observed,
    options,
  );
}

/**
 * Plans the runtime for one observation. Pure: the same intent and observation give the same plan. An
 * empty action list means nothing to do (configured, refused, waiting, or a failed switch not retried).
 */
export function planRuntime(
  intent: RuntimeIntent,
  observed: RuntimeObserved,
  options: RuntimeHostOptions,
): RuntimePlan {
  if (intent.type === 'none') return { outcome: { kind: 'not-requested' }, actions: [] };
  const problems = validateRuntimeIntent(intent);
  if (problems.length) return refused('InvalidRuntimeSpec', problems.join('; '));
  const inFlight = planInFlight(intent.type, observed, options);
  if (inFlight) return inFlight;
  return intent.type === 'docker'
    ? planDocker(intent, observed, options)
    : planContainerd(intent, observed, options);
}
