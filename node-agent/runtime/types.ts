/**
 * Types of the container-runtime module: what the agent wants (`RuntimeIntent`), what it saw on the
 * host (`RuntimeObserved`), and what it will do (`RuntimePlan`). The module is self-contained: the
 * standalone CLI and the in-cluster agent call {@link reconcileRuntime} (see `index.ts`) and nothing else.
 */

import type { RestartStrategy, RuntimeType } from '../../api/v1alpha1/types.js';

export type { RestartStrategy } from '../../api/v1alpha1/types.js';

/** Runtime that consumes the pool (`spec.runtime.type` other than `none`). */
export type RuntimeKind = Exclude<RuntimeType, 'none'>;

/** Docker `devicemapper` settings, after defaulting. */
export interface DockerIntent {
  /** `dm.use_deferred_removal`. */
  deferredRemoval: boolean;
  /** `dm.use_deferred_deletion`. */
  deferredDeletion: boolean;
  /** `dm.min_free_space` in percent (0..99). */
  minFreeSpacePercent: number;
  /**
   * `dm.override_udev_sync_check=true`: only for hosts without udev (minimal images, the test VM); Docker
   * refuses devicemapper there without it. Never a default.
   */
  overrideUdevSyncCheck: boolean;
  /** Further `dm.*` storage options passed through as written (for example `dm.basesize=20G`). */
  extraStorageOptions: readonly string[];
}

/** containerd `devmapper` snapshotter settings, after defaulting. */
export interface ContainerdIntent {
  /** `root_path`: the snapshotter's metadata directory (absolute). */
  rootPath: string;
  /** `base_image_size` as a Kubernetes quantity ("10Gi"). */
  baseImageSize: string;
  /** `discard_blocks`: discard blocks when removing snapshots. */
  discardBlocks: boolean;
  /** Also make devmapper the CRI plugin's default snapshotter (Kubernetes pods then use the pool). */
  criDefaultSnapshotter: boolean;
  /**
   * Start containerd with `DM_DISABLE_UDEV=1` (hosts without udev): `dmsetup` otherwise waits for udev
   * to create `/dev/mapper` nodes that never appear. Never a default.
   */
  disableUdev: boolean;
}

/** Everything the runtime module needs from a ThinPool spec, defaults applied. */
export interface RuntimeIntent {
  type: RuntimeType;
  volumeGroup: string;
  thinPoolName: string;
  restartStrategy: RestartStrategy;
  docker: DockerIntent;
  containerd: ContainerdIntent;
}

/**
 * Host-specific settings of the agent (flags of the agent, not fields of the spec): where the runtimes
 * keep their files and which binaries to call.
 */
export interface RuntimeHostOptions {
  /** Docker's daemon configuration file. */
  dockerConfigPath: string;
  /** containerd's configuration file. */
  containerdConfigPath: string;
  /** Docker CLI used to verify (`docker info`). Debian's 20.10 CLI is `/usr/bin/docker`. */
  dockerCli: string;
  /** The `dockerd` binary (presence means Docker is installed). */
  dockerdBinary: string;
  /** The `containerd` binary (presence means containerd is installed). */
  containerdBinary: string;
  /** The `ctr` CLI used to verify (`ctr plugins ls`). */
  ctrCli: string;
  /** containerd's GRPC socket. */
  containerdAddress: string;
  /** Directory for init scripts. */
  initScriptDir: string;
  /** Where the agent keeps the one-shot script, its requests, results and logs. */
  stateDir: string;
  /** How long the one-shot waits for a stop, and for the daemon to come up and verify, in seconds. */
  restartTimeoutSeconds: number;
}

/** A file on the host as observed. */
export type FileSnapshot = { exists: false } | { exists: true; content: string };

/** A running daemon process: its pid, command line and the environment entries worth keeping. */
export interface DaemonProcess {
  pid: number;
  argv: string[];
  /** `KEY=value` entries from a short allow-list (never secrets such as proxy credentials). */
  env: string[];
}

/** What `docker info` reported. */
export type DockerInfo =
  | { reachable: true; serverVersion: string; driver: string; poolName?: string; dockerRootDir?: string }
  | { reachable: false; error: string };

/** One row of `ctr plugins ls`. */
export interface CtrPlugin {
  type: string;
  id: string;
  platforms: string;
  status: string;
}

/** State recorded by the host-side one-shot in its result file. */
export type SwitchState =
  'running' | 'succeeded' | 'failed' | 'rolled-back' | 'rollback-failed' | 'recovered';

/** The result file of the host-side one-shot, parsed. */
export interface SwitchResult {
  id: string;
  /** Which launch of this id wrote the result (1 for the first). */
  attempt: number;
  runtime: RuntimeKind;
  state: SwitchState;
  pid: number;
  started: string;
  updated: string;
  /** Last step reached: `started`, `stopped`, `moved`, `configured`, `started-daemon`, `verified`, ... */
  step: string;
  /** The data root was moved aside by this switch. */
  moved: boolean;
  /** The new configuration was installed by this switch. */
  configured: boolean;
  /** What verification saw (`devicemapper docker-thinpool`, `devmapper ok`). */
  verified: string;
  message: string;
}

/** The last switch of a runtime as observed: its result and whether its process is still alive. */
export interface ObservedSwitch {
  result: SwitchResult;
  /** The one-shot's process exists (only meaningful while `state` is `running`). */
  alive: boolean;
  /** The launch arguments saved before the one-shot started, for recovery after an interruption. */
  requestArgs?: string[];
}

/** How the host can restart its runtimes. */
export interface ObservedInit {
  /** PID 1 is systemd (`/run/systemd/system` exists) and `systemd-run` is available. */
  systemd: boolean;
  /** `/etc/init.d/docker` exists. */
  dockerInitScript: boolean;
  /** `/etc/init.d/containerd` exists. */
  containerdInitScript: boolean;
}

/** Docker on the host. */
export interface ObservedDocker {
  installed: boolean;
  config: FileSnapshot;
  info: DockerInfo;
  daemon?: DaemonProcess;
  /** The data root the daemon uses (`data-root` in daemon.json, `--data-root`, else `/var/lib/docker`). */
  dataRoot: string;
  dataRootExists: boolean;
  dataRootIsMountPoint: boolean;
  /** `<dataRoot>.bk` exists (from an earlier switch, or the admin's own). */
  dataRootBackupExists: boolean;
}

/** containerd on the host. */
export interface ObservedContainerd {
  installed: boolean;
  config: FileSnapshot;
  /** `ctr plugins ls`, or why it could not be listed. */
  plugins: { reachable: true; list: CtrPlugin[] } | { reachable: false; error: string };
  daemon?: DaemonProcess;
}

/** One observation of the host's runtimes. */
export interface RuntimeObserved {
  docker: ObservedDocker;
  containerd: ObservedContainerd;
  init: ObservedInit;
  /** The last switch of the runtime the intent asks for. */
  lastSwitch?: ObservedSwitch;
}

/** One step of a runtime plan, explained in one line. */
export type RuntimeAction =
  | { kind: 'write-file'; path: string; content: string; mode?: number; explanation: string }
  | { kind: 'run'; argv: string[]; explanation: string; steps?: string[] };

/** Why the agent will not (or cannot) configure the runtime. */
export type RuntimeRefusalReason =
  | 'RuntimeNotInstalled'
  | 'MalformedDaemonJson'
  | 'MalformedContainerdConfig'
  | 'PoolUsedByOtherRuntime'
  | 'DataRootBackupExists'
  | 'DataRootIsMountPoint'
  | 'UnsupportedDataRoot'
  | 'StorageFlagConflict'
  | 'NoRestartStrategy'
  | 'InvalidRuntimeSpec';

/** Where the runtime stands, as the plan sees it; status and the condition derive from this. */
export type RuntimeOutcome =
  | { kind: 'not-requested' }
  | { kind: 'configured'; verified: string }
  | { kind: 'refused'; reason: RuntimeRefusalReason; message: string }
  /** A switch (or a recovery) must be launched: the plan's actions do it. */
  | { kind: 'switch'; switchId: string; attempt: number; message: string }
  | { kind: 'switching'; switchId: string; message: string }
  /** The last switch for this exact configuration failed; not retried until the spec changes. */
  | { kind: 'failed'; switchId: string; state: SwitchState; message: string }
  /** Configuration is in place but the daemon is down or does not show the pool. */
  | { kind: 'not-verified'; reason: 'RuntimeNotRunning' | 'NotVerified'; message: string };

/** The pure planner's answer. */
export interface RuntimePlan {
  outcome: RuntimeOutcome;
  actions: RuntimeAction[];
}
